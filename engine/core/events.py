"""Events: what the engine reports back, in the order things happened.

Events are values: treat them as read-only. They are plain (not frozen) slotted
dataclasses because the engine makes one or more per command and a frozen dataclass
costs about four times as much to build.
"""

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from engine.core.reasons import Reason


@dataclass(slots=True)
class Rejected:
    """A command that changed nothing. `command` is the command's type name."""

    command: str
    reason: Reason
    account: int = 0
    market: str = ""
    order_id: int = 0
    client_order_id: str = ""


@dataclass(slots=True)
class OrderAccepted:
    """`side`, `price` and `outcome` are as the trader gave them."""

    order_id: int
    account: int
    market: str
    side: str
    price: int
    size: int
    outcome: str = ""
    client_order_id: str = ""


@dataclass(slots=True)
class Fill:
    """One trade. `price` is the book price (for prediction markets, the YES price) and
    `taker_buys` whether the taker was on the bid (YES) side."""

    market: str
    maker_order_id: int
    taker_order_id: int
    maker_account: int
    taker_account: int
    taker_buys: bool
    price: int
    size: int
    maker_fee: int
    taker_fee: int


@dataclass(slots=True)
class OrderCancelled:
    order_id: int
    account: int
    market: str
    remaining: int
    reason: Reason


@dataclass(slots=True)
class OrderAmended:
    order_id: int
    account: int
    market: str
    price: int
    size: int
    kept_priority: bool


@dataclass(slots=True)
class BalanceMoved:
    """Deposit (+), withdrawal (-), transfer in (+) or out (-) of an account's asset."""

    kind: str
    account: int
    asset: str
    amount: int
    reference: str


@dataclass(slots=True)
class MarketChanged:
    """A market was added, updated, or changed status; `status` is the new status."""

    market: str
    change: str
    status: str


@dataclass(slots=True)
class MarkPriceSet:
    market: str
    price: int


@dataclass(slots=True)
class FundingApplied:
    """Funding at `rate_ppm` of notional at mark; positive: longs pay shorts."""

    market: str
    rate_ppm: int
    mark: int
    paid: int
    received: int


@dataclass(slots=True)
class Liquidated:
    account: int
    equity: int
    maintenance: int
    fee: int
    insurance_used: int
    bad_debt: int


@dataclass(slots=True)
class Deleveraged:
    """`size` of the liquidated account's position in `market` taken over by
    `counterparty` at `price` (signed from the liquidated account's side)."""

    account: int
    counterparty: int
    market: str
    size: int
    price: int


@dataclass(slots=True)
class ResolutionProposed:
    market: str
    outcome: str
    dispute_until: int


@dataclass(slots=True)
class ResolutionDisputed:
    market: str
    outcome: str


@dataclass(slots=True)
class Payout:
    """Settlement of a position or of shares: `amount` of collateral credited (or, for a
    perp settled at a loss, debited when negative)."""

    account: int
    market: str
    amount: int


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
    for field in fields(event):
        value = getattr(event, field.name)
        data[field.name] = str(value) if isinstance(value, StrEnum) else value
    return data
