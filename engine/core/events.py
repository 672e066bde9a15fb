"""Events: what the engine reports back, in the order things happened.

Events are values: treat them as read-only; two events are equal when they are of the
same type with the same fields. They are written as plain classes with an explicit
`__init__` rather than dataclasses because the engine makes one or more per command: a
dataclass's generated `__init__` stays interpreted under mypyc and cost a quarter of the
compiled engine's time.
"""

from typing import Any, ClassVar, Final

from engine.core.markets import MarketConfig, plain
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
    """`side`, `price` and `outcome` are as the trader gave them (`price` 0: a market
    order). The order locks `unit_reserve` of `reserve_asset` per unit of `size` not
    covered by the `reserved_shares` it sells from the account's holding of `outcome`
    (prediction sells only): `unit_reserve * (size - reserved_shares)` moves from free to
    locked, and the shares from held to locked, before any fill of the order."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "order_id",
        "account",
        "market",
        "side",
        "price",
        "size",
        "outcome",
        "client_order_id",
        "reserve_asset",
        "unit_reserve",
        "reserved_shares",
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
        reserve_asset: str = "",
        unit_reserve: int = 0,
        reserved_shares: int = 0,
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.market = market
        self.side = side
        self.price = price
        self.size = size
        self.outcome = outcome
        self.client_order_id = client_order_id
        self.reserve_asset = reserve_asset
        self.unit_reserve = unit_reserve
        self.reserved_shares = reserved_shares


class Fill(EventBase):
    """One trade. `price` is the book price (for prediction markets, the YES price) and
    `taker_buys` whether the taker was on the bid (YES) side. Each order releases what
    `qty` of it reserved (reserved shares first); the money moves as the market's kind
    says (`engine.core.ledger` applies it); the fees go to the fee accounts. A taker
    order id of 0 is a liquidation order, which reserves nothing."""

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
    """The order left the book with `remaining` unfilled: everything it still reserved
    is released (and any complete sets that frees are merged: `SetsMerged`)."""

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
    """The order now has `size` left at `price` (the trader's price) and reserves
    `unit_reserve` per unit not covered by its `reserved_shares`: the difference from
    what it reserved before moves between free and locked."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "order_id",
        "account",
        "market",
        "price",
        "size",
        "kept_priority",
        "unit_reserve",
        "reserved_shares",
    )

    def __init__(
        self,
        order_id: int,
        account: int,
        market: str,
        price: int,
        size: int,
        kept_priority: bool,
        unit_reserve: int = 0,
        reserved_shares: int = 0,
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.market = market
        self.price = price
        self.size = size
        self.kept_priority = kept_priority
        self.unit_reserve = unit_reserve
        self.reserved_shares = reserved_shares


class OrderReserveChanged(EventBase):
    """A resting order re-priced by a market update: it now reserves `unit_reserve` per
    unit not covered by reserved shares; the difference moves between free and locked."""

    FIELDS: ClassVar[tuple[str, ...]] = ("order_id", "account", "market", "unit_reserve")

    def __init__(self, order_id: int, account: int, market: str, unit_reserve: int) -> None:
        self.order_id = order_id
        self.account = account
        self.market = market
        self.unit_reserve = unit_reserve


class BalanceMoved(EventBase):
    """Deposit (+), withdrawal (-), transfer in (+) or out (-) of an account's free
    `asset`; kind "insurance" (account 0) is collateral paid into the insurance fund."""

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


class MarketConfigured(EventBase):
    """A market's rules as added or updated (a categorical market's config names its
    outcomes; each outcome is the binary market `<market>:<outcome>`)."""

    FIELDS: ClassVar[tuple[str, ...]] = ("market", "config")

    def __init__(self, market: str, config: MarketConfig) -> None:
        self.market = market
        self.config = config


class MarkPriceSet(EventBase):
    FIELDS: ClassVar[tuple[str, ...]] = ("market", "price")

    def __init__(self, market: str, price: int) -> None:
        self.market = market
        self.price = price


class FundingApplied(EventBase):
    """Funding at `rate_ppm` of notional at mark; positive: longs pay shorts. Follows the
    `FundingPaid` of each position; payers round up and receivers toward zero, and
    `paid - received` (never negative) goes to the insurance fund."""

    FIELDS: ClassVar[tuple[str, ...]] = ("market", "rate_ppm", "mark", "paid", "received")

    def __init__(self, market: str, rate_ppm: int, mark: int, paid: int, received: int) -> None:
        self.market = market
        self.rate_ppm = rate_ppm
        self.mark = mark
        self.paid = paid
        self.received = received


class FundingPaid(EventBase):
    """One position's funding: `amount` > 0 paid from the account's free collateral,
    < 0 received into it."""

    FIELDS: ClassVar[tuple[str, ...]] = ("account", "market", "amount")

    def __init__(self, account: int, market: str, amount: int) -> None:
        self.account = account
        self.market = market
        self.amount = amount


class Liquidated(EventBase):
    """An account whose `equity` fell below its `maintenance` margin was closed out
    (its orders cancelled, its positions filled or deleveraged); `fee` moved from its
    free collateral to the insurance fund. A deficit left follows: `DeficitCovered`."""

    FIELDS: ClassVar[tuple[str, ...]] = ("account", "equity", "maintenance", "fee")

    def __init__(self, account: int, equity: int, maintenance: int, fee: int) -> None:
        self.account = account
        self.equity = equity
        self.maintenance = maintenance
        self.fee = fee


class ProfitClawedBack(EventBase):
    """`amount` of the unrealised profit of `account`'s position in `market` taken to
    cover another account's deficit: the position's entry notional rises by `amount`
    and the market's clearing pool pays it out (see `DeficitCovered`)."""

    FIELDS: ClassVar[tuple[str, ...]] = ("account", "market", "amount")

    def __init__(self, account: int, market: str, amount: int) -> None:
        self.account = account
        self.market = market
        self.amount = amount


class DeficitCovered(EventBase):
    """A negative collateral balance of an account without positions brought back to 0:
    `insurance_used` from the insurance fund, `clawed_back` from the `ProfitClawedBack`
    events before it, and `bad_debt` that nobody could cover (the risk group's bad debt
    grows by it)."""

    FIELDS: ClassVar[tuple[str, ...]] = ("account", "insurance_used", "clawed_back", "bad_debt")

    def __init__(self, account: int, insurance_used: int, clawed_back: int, bad_debt: int) -> None:
        self.account = account
        self.insurance_used = insurance_used
        self.clawed_back = clawed_back
        self.bad_debt = bad_debt


class Deleveraged(EventBase):
    """`size` of the liquidated account's position in `market` taken over by
    `counterparty` at `price` (signed from the liquidated account's side: 10 means it
    sold 10): both positions trade at `price`, realised PnL paid from the pool."""

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
    """Settlement of a position or of shares: `amount` of collateral credited to free
    (or, for a perp settled at a loss, debited when negative). A perp position is
    closed, paid from the market's pool; a prediction holding is paid from the escrow
    and removed."""

    FIELDS: ClassVar[tuple[str, ...]] = ("account", "market", "amount")

    def __init__(self, account: int, market: str, amount: int) -> None:
        self.account = account
        self.market = market
        self.amount = amount


class SetsMerged(EventBase):
    """`sets` complete sets (a YES and a NO share each) the account held turned back into
    `amount` of free collateral from the market's escrow."""

    FIELDS: ClassVar[tuple[str, ...]] = ("account", "market", "sets", "amount")

    def __init__(self, account: int, market: str, sets: int, amount: int) -> None:
        self.account = account
        self.market = market
        self.sets = sets
        self.amount = amount


Event = (
    Rejected
    | OrderAccepted
    | Fill
    | OrderCancelled
    | OrderAmended
    | OrderReserveChanged
    | BalanceMoved
    | MarketConfigured
    | MarketChanged
    | MarkPriceSet
    | FundingPaid
    | FundingApplied
    | Liquidated
    | Deleveraged
    | ProfitClawedBack
    | DeficitCovered
    | ResolutionProposed
    | ResolutionDisputed
    | Payout
    | SetsMerged
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        Rejected,
        OrderAccepted,
        Fill,
        OrderCancelled,
        OrderAmended,
        OrderReserveChanged,
        BalanceMoved,
        MarketConfigured,
        MarketChanged,
        MarkPriceSet,
        FundingPaid,
        FundingApplied,
        Liquidated,
        Deleveraged,
        ProfitClawedBack,
        DeficitCovered,
        ResolutionProposed,
        ResolutionDisputed,
        Payout,
        SetsMerged,
    )
}


def event_to_dict(event: Event) -> dict[str, Any]:
    """A plain JSON-able dict with a "type" key; the inverse of `event_from_dict`."""
    data: dict[str, Any] = {"type": type(event).__name__}
    for name in event.FIELDS:
        data[name] = plain(getattr(event, name))
    return data


def outcome_of(events: list[Event]) -> dict[str, Any]:
    """What a command's submitter is told (the journal's outcome of the command): a result,
    a reason code, the order id, the size its order filled at once, and the events
    themselves (`event_to_dict`)."""
    result = "applied"
    reason = ""
    order_id: int | None = None
    filled = 0
    size = 0
    for event in events:
        if isinstance(event, Rejected) and not reason:
            result, reason = "rejected", str(event.reason)
            order_id = event.order_id or None
        elif isinstance(event, OrderAccepted) and order_id is None:
            result, order_id, size = "accepted", event.order_id, event.size
        elif isinstance(event, Fill) and event.taker_order_id == order_id:
            filled += event.size
    if result == "accepted" and filled:
        result = "filled" if filled >= size else "partially_filled"
    return {
        "result": result,
        "reason": reason,
        "order_id": order_id,
        "filled": filled,
        "events": [event_to_dict(event) for event in events],
    }


# the event fields that name an account
ACCOUNT_FIELDS: Final = ("account", "maker_account", "taker_account", "counterparty")


def _fields_named(cls: type[EventBase]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fields = cls.FIELDS
    return tuple(name for name in ("market",) if name in fields), tuple(
        name for name in ACCOUNT_FIELDS if name in fields
    )


# per event type: its field that names a market (if any), and those that name accounts
_NAMING: Final = {cls: _fields_named(cls) for cls in EVENT_TYPES.values()}


def keys_named(events: list[Event], markets: set[str], accounts: set[int]) -> None:
    """Add the markets and the accounts (0, the system, left out) that `events` name to
    `markets` and `accounts`: what live pages re-read after the command."""
    for event in events:
        market_fields, account_fields = _NAMING[type(event)]
        for name in market_fields:
            market: str = getattr(event, name)
            if market:
                markets.add(market)
        for name in account_fields:
            account: int = getattr(event, name)
            if account:
                accounts.add(account)


def event_from_dict(data: dict[str, Any]) -> Event:
    values = dict(data)
    cls = EVENT_TYPES[values.pop("type")]
    if "config" in values:
        values["config"] = MarketConfig.from_dict(values["config"])
    if "reason" in values:
        values["reason"] = Reason(values["reason"])
    return cls(**values)
