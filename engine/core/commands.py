"""Commands: everything that can change an engine's state, as plain frozen values.

Every command carries `ts`, integer milliseconds chosen by whoever journals it; the engine
never reads a clock. `command_to_dict`/`command_from_dict` turn commands into plain JSON
dicts and back (what a submitter sends); `command_to_record`/`command_from_record` into
the journal's compact positional form and back (what a recovery replays, fast).
"""

from dataclasses import dataclass, fields
from enum import StrEnum
from types import FunctionType
from typing import Any, Final, cast

from engine.core.markets import MarketConfig, plain


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class TimeInForce(StrEnum):
    GTC = "gtc"
    GTD = "gtd"
    IOC = "ioc"
    FOK = "fok"


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class SelfTradePrevention(StrEnum):
    CANCEL_NEWEST = "cancel_newest"
    CANCEL_OLDEST = "cancel_oldest"
    CANCEL_BOTH = "cancel_both"


class Outcome(StrEnum):
    """Side of a binary prediction market an order trades; VOID only in resolutions."""

    YES = "yes"
    NO = "no"
    VOID = "void"


@dataclass(frozen=True, slots=True)
class AddMarket:
    config: MarketConfig
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class UpdateMarket:
    """Replace a market's parameters; its id, kind and assets cannot change."""

    config: MarketConfig
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class HaltMarket:
    market: str
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class ResumeMarket:
    market: str
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class CloseMarket:
    market: str
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class SettleMarket:
    """Spot: end of life. Perp: close every position at `price`. Prediction: pay out the
    proposed resolution once its dispute window has passed (`price` unused)."""

    market: str
    price: int = 0
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class OraclePrice:
    """The oracle index of a perp market; it becomes the mark price."""

    market: str
    price: int
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class ProposeResolution:
    """`outcome`: YES/NO for a binary market, an outcome name for a categorical one, or
    "void". `final`: the outcome decided after a dispute, which opens no new dispute
    window (the market may settle at once)."""

    market: str
    outcome: str
    final: bool = False
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class EliminateOutcome:
    """One outcome of a categorical market resolved NO before the rest (a team knocked
    out of the tournament): its trading stops, each of its NO shares pays one payout and
    its YES shares nothing, and the other outcomes trade on. The last outcome left cannot
    be eliminated: it is the winner, resolved with the market by ProposeResolution."""

    market: str
    outcome: str
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class DisputeResolution:
    market: str
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class Deposit:
    account: int
    asset: str
    amount: int
    external_id: str
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class Withdraw:
    account: int
    asset: str
    amount: int
    external_id: str
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class TransferOut:
    """Move free collateral to the same trader's account in another risk group."""

    account: int
    asset: str
    amount: int
    transfer_id: str
    to_group: str
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class TransferIn:
    account: int
    asset: str
    amount: int
    transfer_id: str
    from_group: str
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class FundInsurance:
    """Collateral paid into the risk group's insurance fund (idempotent on the id)."""

    amount: int
    external_id: str
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


# The three commands of nearly every journal entry (place, amend, cancel) have a written
# `__init__`: a dataclass's generated one stays interpreted under mypyc, and building the
# command cost more than applying it in a recovery. Like every command, treat them as
# read-only values.


@dataclass(slots=True, init=False)
class PlaceOrder:
    """A new order. `order_id` is the id it will have, accepted or not: the engine
    service gives every order the id of the journal row that placed it, so the caller
    knows it at once. With 0 the engine numbers it (the n-th such order applied gets n).
    Prediction orders name the `outcome` they buy or sell (YES or NO); `price` is then
    that outcome's price."""

    account: int
    market: str
    side: Side
    size: int
    price: int = 0
    order_type: OrderType = OrderType.LIMIT
    tif: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    stp: SelfTradePrevention = SelfTradePrevention.CANCEL_NEWEST
    client_order_id: str = ""
    expiry_ts: int = 0
    outcome: Outcome = Outcome.YES
    order_id: int = 0
    ts: int = 0

    def __init__(
        self,
        account: int,
        market: str,
        side: Side,
        size: int,
        price: int = 0,
        order_type: OrderType = OrderType.LIMIT,
        tif: TimeInForce = TimeInForce.GTC,
        post_only: bool = False,
        reduce_only: bool = False,
        stp: SelfTradePrevention = SelfTradePrevention.CANCEL_NEWEST,
        client_order_id: str = "",
        expiry_ts: int = 0,
        outcome: Outcome = Outcome.YES,
        order_id: int = 0,
        ts: int = 0,
    ) -> None:
        self.account = account
        self.market = market
        self.side = side
        self.size = size
        self.price = price
        self.order_type = order_type
        self.tif = tif
        self.post_only = post_only
        self.reduce_only = reduce_only
        self.stp = stp
        self.client_order_id = client_order_id
        self.expiry_ts = expiry_ts
        self.outcome = outcome
        self.order_id = order_id
        self.ts = ts
        if not COMPILED:
            check_field_types(self)


@dataclass(slots=True, init=False)
class AmendOrder:
    """New price and/or remaining size (0 keeps the current one)."""

    account: int
    order_id: int
    price: int = 0
    size: int = 0
    ts: int = 0

    def __init__(
        self, account: int, order_id: int, price: int = 0, size: int = 0, ts: int = 0
    ) -> None:
        self.account = account
        self.order_id = order_id
        self.price = price
        self.size = size
        self.ts = ts
        if not COMPILED:
            check_field_types(self)


@dataclass(slots=True, init=False)
class CancelOrder:
    """Cancel by engine order id, or by client order id when `order_id` is 0."""

    account: int
    order_id: int = 0
    client_order_id: str = ""
    ts: int = 0

    def __init__(
        self, account: int, order_id: int = 0, client_order_id: str = "", ts: int = 0
    ) -> None:
        self.account = account
        self.order_id = order_id
        self.client_order_id = client_order_id
        self.ts = ts
        if not COMPILED:
            check_field_types(self)


@dataclass(frozen=True, slots=True)
class CancelAll:
    """Cancel the account's open orders, in one market or (market "") everywhere."""

    account: int
    market: str = ""
    ts: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)


@dataclass(frozen=True, slots=True)
class AdvanceTime:
    """Nothing but the passing of time: expiries, closes and funding due by `ts`."""

    ts: int

    def __post_init__(self) -> None:
        check_field_types(self)


Command = (
    AddMarket
    | UpdateMarket
    | HaltMarket
    | ResumeMarket
    | CloseMarket
    | SettleMarket
    | OraclePrice
    | ProposeResolution
    | EliminateOutcome
    | DisputeResolution
    | Deposit
    | Withdraw
    | TransferOut
    | TransferIn
    | FundInsurance
    | PlaceOrder
    | AmendOrder
    | CancelOrder
    | CancelAll
    | AdvanceTime
)

COMMAND_TYPES: dict[str, type[Command]] = {
    cls.__name__: cls
    for cls in (
        AddMarket,
        UpdateMarket,
        HaltMarket,
        ResumeMarket,
        CloseMarket,
        SettleMarket,
        OraclePrice,
        ProposeResolution,
        EliminateOutcome,
        DisputeResolution,
        Deposit,
        Withdraw,
        TransferOut,
        TransferIn,
        FundInsurance,
        PlaceOrder,
        AmendOrder,
        CancelOrder,
        CancelAll,
        AdvanceTime,
    )
}

_FIELD_TYPES: dict[type, tuple[tuple[str, type], ...]] = {
    cls: tuple((field.name, field.type) for field in fields(cls))  # type: ignore[misc]
    for cls in COMMAND_TYPES.values()
}


def check_field_types(command: object) -> None:
    """Refuse a command whose fields are not of their declared types, as the compiled
    build does when it is constructed: an engine never sees a float amount, a string
    account or a "buy" that is not `Side.BUY`. A str field takes any str (an enum member
    too); a bool is not taken for an int (the compiled build turns it into 0 or 1)."""
    for name, expected in _FIELD_TYPES.get(type(command), ()):
        value = getattr(command, name)
        if type(value) is not expected and not (expected is str and isinstance(value, str)):
            raise TypeError(
                f"{type(command).__name__}.{name} must be {expected.__name__}, "
                f"not {type(value).__name__}: {value!r}"
            )


# Compiled by mypyc, the written `__init__`s (place, amend, cancel) refuse a wrongly typed
# argument themselves: a native class checks its typed parameters at the call (and takes a
# bool for an int as 0 or 1, which the check could not see afterwards either). There the
# check would only cost: a quarter of a replayed order's instructions.
COMPILED: Final = not isinstance(check_field_types, FunctionType)


# each command's fields in declared order (`dataclasses.fields` is slow on a hot path). The
# journal's positional form is [type name, *the fields' values in that order], enums as
# their values, a market config as its dict. Read back without keyword arguments or enum
# calls: a recovery decodes every command of the journal after the latest snapshot.
_RECORD_FIELDS: dict[str, tuple[str, ...]] = {
    name: tuple(field.name for field in fields(cls)) for name, cls in COMMAND_TYPES.items()
}


def command_to_dict(command: Command) -> dict[str, Any]:
    """A plain JSON-able dict with a "type" key; the inverse of `command_from_dict`."""
    kind = type(command).__name__
    data: dict[str, Any] = {"type": kind}
    for name in _RECORD_FIELDS[kind]:
        data[name] = plain(getattr(command, name))
    return data


def command_from_dict(data: dict[str, Any]) -> Command:
    values = dict(data)
    cls = COMMAND_TYPES[values.pop("type")]
    if "config" in values:
        values["config"] = MarketConfig.from_dict(values["config"])
    for name, members in _ENUM_MEMBERS.items():
        # a resolution's or an elimination's outcome may be a categorical outcome's name
        if name in values and cls is not ProposeResolution and cls is not EliminateOutcome:
            member = members.get(values[name])
            if member is None:
                raise ValueError(f"{values[name]!r} is not a valid {name}")
            values[name] = member
    return cls(**values)


# each enum's members by value: a dict lookup, where calling the enum costs several times
# as much (a command built from its dict names one or more of them)
_SIDES: Final[dict[str, Side]] = {member.value: member for member in Side}
_ORDER_TYPES: Final[dict[str, OrderType]] = {member.value: member for member in OrderType}
_TIFS: Final[dict[str, TimeInForce]] = {member.value: member for member in TimeInForce}
_STPS: Final[dict[str, SelfTradePrevention]] = {
    member.value: member for member in SelfTradePrevention
}
_OUTCOMES: Final[dict[str, Outcome]] = {member.value: member for member in Outcome}
_ENUM_MEMBERS: Final[dict[str, dict[str, Any]]] = {
    "side": _SIDES,
    "order_type": _ORDER_TYPES,
    "tif": _TIFS,
    "stp": _STPS,
    "outcome": _OUTCOMES,
}


def command_to_record(command: Command) -> list[Any]:
    """The journal's positional form of `command`; the inverse of `command_from_record`."""
    if isinstance(command, PlaceOrder):
        # the writer journals one for nearly every command: its fields read directly
        return [
            "PlaceOrder",
            command.account,
            command.market,
            str(command.side),
            command.size,
            command.price,
            str(command.order_type),
            str(command.tif),
            command.post_only,
            command.reduce_only,
            str(command.stp),
            command.client_order_id,
            command.expiry_ts,
            str(command.outcome),
            command.order_id,
            command.ts,
        ]
    kind = type(command).__name__
    record: list[Any] = [kind]
    for name in _RECORD_FIELDS[kind]:
        record.append(plain(getattr(command, name)))
    return record


def command_from_record(record: list[Any]) -> Command:
    kind: str = record[0]
    # the frequent commands positionally, the rest through their dict
    if kind == "PlaceOrder":
        return PlaceOrder(
            record[1],
            record[2],
            cast(Side, _record_member(_SIDE_VALUES, record[3])),
            record[4],
            record[5],
            cast(OrderType, _record_member(_ORDER_TYPE_VALUES, record[6])),
            cast(TimeInForce, _record_member(_TIF_VALUES, record[7])),
            record[8],
            record[9],
            cast(SelfTradePrevention, _record_member(_STP_VALUES, record[10])),
            record[11],
            record[12],
            cast(Outcome, _record_member(_OUTCOME_VALUES, record[13])),
            record[14],
            record[15],
        )
    if kind == "CancelOrder":
        return CancelOrder(record[1], record[2], record[3], record[4])
    if kind == "AmendOrder":
        return AmendOrder(record[1], record[2], record[3], record[4], record[5])
    names = _RECORD_FIELDS[kind]
    if len(record) != len(names) + 1:
        raise ValueError(f"a {kind} record has {len(names)} fields, not {len(record) - 1}")
    return command_from_dict({"type": kind, **dict(zip(names, record[1:], strict=True))})


def _record_member(members: tuple[str, ...], value: str) -> str:
    """The member of an enum (`members`, the most frequent first) a journal record names.
    The record's strings are new objects, their hashes not computed yet: comparing one or
    two costs less than hashing it for a dict lookup."""
    for member in members:
        if member == value:
            return member
    raise ValueError(f"{value!r} is not one of {', '.join(members)}")


# in declared order, which puts the frequent values first (buy or sell, limit, gtc, ...)
_SIDE_VALUES: Final[tuple[str, ...]] = tuple(Side)
_ORDER_TYPE_VALUES: Final[tuple[str, ...]] = tuple(OrderType)
_TIF_VALUES: Final[tuple[str, ...]] = tuple(TimeInForce)
_STP_VALUES: Final[tuple[str, ...]] = tuple(SelfTradePrevention)
_OUTCOME_VALUES: Final[tuple[str, ...]] = tuple(Outcome)
