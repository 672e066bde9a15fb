"""Events: what the engine reports back, in the order things happened.

Events are values: treat them as read-only; two events are equal when they are of the
same type with the same fields. They are written as plain classes with an explicit
`__init__` rather than dataclasses because the engine makes one or more per command: a
dataclass's generated `__init__` stays interpreted under mypyc and cost a quarter of the
compiled engine's time.
"""

from enum import StrEnum
from typing import Any, ClassVar

from engine.core.reasons import Reason


class EventBase:
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, EventBase):
            return NotImplemented
        return self.values() == other.values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__name__}({fields})"


class Rejected(EventBase):
    """A command that changed nothing. `command` is the command's type name."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "command",
        "reason",
        "account",
        "market",
        "order_id",
        "client_order_id",
    )

    def __init__(
        self,
        command: str,
        reason: Reason,
        account: int = 0,
        market: str = "",
        order_id: int = 0,
        client_order_id: str = "",
    ) -> None:
        self.command = command
        self.reason = reason
        self.account = account
        self.market = market
        self.order_id = order_id
        self.client_order_id = client_order_id


class OrderAccepted(EventBase):
    """`side`, `price` and `outcome` are as the trader gave them."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "order_id",
        "account",
        "market",
        "side",
        "price",
        "size",
        "outcome",
        "client_order_id",
    )

    def __init__(
        self,
        order_id: int,
        account: int,
        market: str,
        side: str,
        price: int,
        size: int,
        outcome: str = "",
        client_order_id: str = "",
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.market = market
        self.side = side
        self.price = price
        self.size = size
        self.outcome = outcome
        self.client_order_id = client_order_id


class Fill(EventBase):
    """One trade. `price` is the book price (for prediction markets, the YES price) and
    `taker_buys` whether the taker was on the bid (YES) side."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "market",
        "maker_order_id",
        "taker_order_id",
        "maker_account",
        "taker_account",
        "taker_buys",
        "price",
        "size",
        "maker_fee",
        "taker_fee",
    )

    def __init__(
        self,
        market: str,
        maker_order_id: int,
        taker_order_id: int,
        maker_account: int,
        taker_account: int,
        taker_buys: bool,
        price: int,
        size: int,
        maker_fee: int,
        taker_fee: int,
    ) -> None:
        self.market = market
        self.maker_order_id = maker_order_id
        self.taker_order_id = taker_order_id
        self.maker_account = maker_account
        self.taker_account = taker_account
        self.taker_buys = taker_buys
        self.price = price
        self.size = size
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee


class OrderCancelled(EventBase):
    FIELDS: ClassVar[tuple[str, ...]] = ("order_id", "account", "market", "remaining", "reason")

    def __init__(
        self, order_id: int, account: int, market: str, remaining: int, reason: Reason
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.market = market
        self.remaining = remaining
        self.reason = reason


class OrderAmended(EventBase):
    FIELDS: ClassVar[tuple[str, ...]] = (
        "order_id",
        "account",
        "market",
        "price",
        "size",
        "kept_priority",
    )

    def __init__(
        self, order_id: int, account: int, market: str, price: int, size: int, kept_priority: bool
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.market = market
        self.price = price
        self.size = size
        self.kept_priority = kept_priority


class BalanceMoved(EventBase):
    """Deposit (+), withdrawal (-), transfer in (+) or out (-) of an account's asset."""

    FIELDS: ClassVar[tuple[str, ...]] = ("kind", "account", "asset", "amount", "reference")

    def __init__(self, kind: str, account: int, asset: str, amount: int, reference: str) -> None:
        self.kind = kind
        self.account = account
        self.asset = asset
        self.amount = amount
        self.reference = reference


class MarketChanged(EventBase):
    """A market was added, updated, or changed status; `status` is the new status."""

    FIELDS: ClassVar[tuple[str, ...]] = ("market", "change", "status")

    def __init__(self, market: str, change: str, status: str) -> None:
        self.market = market
        self.change = change
        self.status = status


class MarkPriceSet(EventBase):
    FIELDS: ClassVar[tuple[str, ...]] = ("market", "price")

    def __init__(self, market: str, price: int) -> None:
        self.market = market
        self.price = price


class FundingApplied(EventBase):
    """Funding at `rate_ppm` of notional at mark; positive: longs pay shorts."""

    FIELDS: ClassVar[tuple[str, ...]] = ("market", "rate_ppm", "mark", "paid", "received")

    def __init__(self, market: str, rate_ppm: int, mark: int, paid: int, received: int) -> None:
        self.market = market
        self.rate_ppm = rate_ppm
        self.mark = mark
        self.paid = paid
        self.received = received


class Liquidated(EventBase):
    FIELDS: ClassVar[tuple[str, ...]] = (
        "account",
        "equity",
        "maintenance",
        "fee",
        "insurance_used",
        "bad_debt",
    )

    def __init__(
        self,
        account: int,
        equity: int,
        maintenance: int,
        fee: int,
        insurance_used: int,
        bad_debt: int,
    ) -> None:
        self.account = account
        self.equity = equity
        self.maintenance = maintenance
        self.fee = fee
        self.insurance_used = insurance_used
        self.bad_debt = bad_debt


class Deleveraged(EventBase):
    """`size` of the liquidated account's position in `market` taken over by
    `counterparty` at `price` (signed from the liquidated account's side)."""

    FIELDS: ClassVar[tuple[str, ...]] = ("account", "counterparty", "market", "size", "price")

    def __init__(self, account: int, counterparty: int, market: str, size: int, price: int) -> None:
        self.account = account
        self.counterparty = counterparty
        self.market = market
        self.size = size
        self.price = price


class ResolutionProposed(EventBase):
    FIELDS: ClassVar[tuple[str, ...]] = ("market", "outcome", "dispute_until")

    def __init__(self, market: str, outcome: str, dispute_until: int) -> None:
        self.market = market
        self.outcome = outcome
        self.dispute_until = dispute_until


class ResolutionDisputed(EventBase):
    FIELDS: ClassVar[tuple[str, ...]] = ("market", "outcome")

    def __init__(self, market: str, outcome: str) -> None:
        self.market = market
        self.outcome = outcome


class Payout(EventBase):
    """Settlement of a position or of shares: `amount` of collateral credited (or, for a
    perp settled at a loss, debited when negative)."""

    FIELDS: ClassVar[tuple[str, ...]] = ("account", "market", "amount")

    def __init__(self, account: int, market: str, amount: int) -> None:
        self.account = account
        self.market = market
        self.amount = amount


Event = (
    Rejected
    | OrderAccepted
    | Fill
    | OrderCancelled
    | OrderAmended
    | BalanceMoved
    | MarketChanged
    | MarkPriceSet
    | FundingApplied
    | Liquidated
    | Deleveraged
    | ResolutionProposed
    | ResolutionDisputed
    | Payout
)


def event_to_dict(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(event).__name__}
    for name, value in zip(event.FIELDS, event.values(), strict=True):
        data[name] = str(value) if isinstance(value, StrEnum) else value
    return data
