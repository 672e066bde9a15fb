"""The engine service's one way in: `command_submit`.

Traders, the registry (listing, halts, settlement), governance (bonds), the scheduler
(time, oracle prices) and the chain (deposits) all submit commands here. A command is
checked (shape, units, bounds, market, duplicate client order id) and refused with a
clear code before anything is written; an accepted one is inserted into its shard's inbox,
and the commit is the acknowledgement: it is durable and will be applied exactly once.
After the commit the shard's writer is woken (coalesced); the caller may wait a bounded
time for the engine's outcome.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import MISSING, dataclass, fields
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from engine import models, outcomes
from engine.codec import json_text
from engine.core import COMMAND_TYPES, OrderType, Outcome, SelfTradePrevention, Side, TimeInForce
from engine.core.markets import MarketConfig, MarketKind
from engine.core.reasons import Reason
from engine.core.reserves import unit_reserve
from engine.errors import CommandRefused, EngineError, MarketUnknown, SpecNotConvertible
from governance.risk_groups.models import RiskGroup
from xip_portal.errors import ErrorCode

# the largest size, price or amount a command may carry (engine integers, see engine.specs
# for the units): far above any real market, and every stored value fits NUMERIC(40)
MAX_UNITS = 10**30
MAX_WAIT_SECONDS = 2.0
MAX_TEXT = 64

# commands a trader may send about their own account
TRADER_COMMANDS = frozenset({"PlaceOrder", "AmendOrder", "CancelOrder", "CancelAll"})
# fields the service fills in itself (the writer stamps `ts`, and a PlaceOrder's
# `order_id`: the id of its journal row, see CommandReceipt)
SERVICE_FIELDS = frozenset({"account", "ts"})
ENUMS: dict[str, tuple[str, ...]] = {
    "side": tuple(Side),
    "order_type": tuple(OrderType),
    "tif": tuple(TimeInForce),
    "stp": tuple(SelfTradePrevention),
    "outcome": (Outcome.YES, Outcome.NO),
}
ENUM_CODES: dict[str, str] = {
    "side": EngineError.BAD_SIDE,
    "order_type": EngineError.BAD_ORDER_TYPE,
    "tif": EngineError.BAD_TIF,
    "stp": EngineError.BAD_STP,
    "outcome": Reason.BAD_OUTCOME,
}
POSITIVE = frozenset({"size", "amount"})
TEXT_LIMITS = {"external_id": 120, "transfer_id": 120, "to_group": 40, "from_group": 40}


@dataclass(frozen=True)
class CommandReceipt:
    """What `command_submit` answers. `status` is "applied" (the outcome is known) or
    "pending" (durable, not applied yet). `result` is the engine's answer ("accepted",
    "filled", "partially_filled", "rejected", "applied") and `reason` its reason code.

    An order's id is the id of the command that placed it: `order_id` is known at once,
    applied or not (the writer stamps it into the PlaceOrder when it sequences it)."""

    command_id: int
    status: str
    order_id: int | None = None
    result: str = ""
    reason: str = ""
    outcome: dict[str, Any] | None = None

    @classmethod
    def of(cls, command_id: int, kind: str, outcome: dict[str, Any] | None) -> CommandReceipt:
        order_id = command_id if kind == "PlaceOrder" else None
        if outcome is None:
            return cls(command_id, "pending", order_id)
        return cls(
            command_id,
            "applied",
            order_id or outcome.get("order_id"),
            outcome["result"],
            outcome["reason"],
            outcome,
        )


# risk group id -> its shard (a shard's id and collateral never change): one query less
# on every submission
_shards: dict[int, models.Shard] = {}


def shard_of(*, risk_group: RiskGroup | int) -> models.Shard:
    """The risk group's shard, made on first use with the group's first collateral asset.
    The shard's id and collateral are fixed; read its high-water mark from the database."""
    group_id = risk_group if isinstance(risk_group, int) else risk_group.pk
    shard = _shards.get(group_id)
    if shard is None:
        shard = _shards[group_id] = _shard_get_or_create(group_id)
    return shard


def _shard_get_or_create(group_id: int) -> models.Shard:
    shard = models.Shard.objects.filter(risk_group_id=group_id).first()
    if shard is not None:
        return shard
    symbol = (
        RiskGroup.objects.get(pk=group_id)
        .collateral_assets.order_by("id")
        .values_list("symbol", flat=True)
        .first()
    )
    try:
        with transaction.atomic():
            return models.Shard.objects.create(risk_group_id=group_id, collateral=symbol or "USDC")
    except IntegrityError:
        return models.Shard.objects.get(risk_group_id=group_id)


def units_exact(value: Any, *, unit: Decimal | int | str = 1, field: str) -> int:
    """`value` (a Decimal, int or decimal string at the edge) as a whole number of `unit`,
    refused unless it converts exactly, is finite, and is within the engine's range."""
    if isinstance(value, bool) or isinstance(value, float):
        raise CommandRefused(
            f"{field} must be a decimal number.", code=EngineError.BAD_NUMBER, field=field
        )
    try:
        number = Decimal(value) / Decimal(unit)
    except (InvalidOperation, TypeError, ValueError, ArithmeticError):
        raise CommandRefused(
            f"{field} is not a number.", code=EngineError.BAD_NUMBER, field=field
        ) from None
    if not number.is_finite():
        raise CommandRefused(f"{field} must be finite.", code=EngineError.BAD_NUMBER, field=field)
    if number != number.to_integral_value():
        raise SpecNotConvertible(f"{field} {value} is not a whole number of {unit}.", field=field)
    units = int(number)
    if abs(units) > MAX_UNITS:
        raise CommandRefused(f"{field} is out of range.", code=ErrorCode.OUT_OF_RANGE, field=field)
    return units


def command_submit(
    *,
    risk_group: RiskGroup | int,
    account: int,
    command: Mapping[str, Any],
    idempotency_key: str = "",
    wait: float = 0.0,
    wait_unless_covered: bool = False,
) -> CommandReceipt:
    """Journal one command for the risk group's engine.

    `account` is the engine account (the trader's user id; 0 for system commands).
    `command` is the core command as a dict in engine units: "type" plus its fields,
    without `account` and `ts`, which the service sets (`ts` only an AdvanceTime carries).
    A repeated `idempotency_key` of the same account returns the first command's receipt.
    With `wait` > 0 (capped at 2 s) and outside an enclosing transaction, waits for the
    engine's outcome; otherwise the receipt is "pending". With `wait_unless_covered`, it
    waits only for an order the account's projected free balances may not cover
    (`orders_covered`): a funded trader's limit order is answered at commit, one the
    engine may refuse for money with the engine's own answer.

    Raises CommandRefused (or MarketUnknown) before writing anything.
    """
    shard = shard_of(risk_group=risk_group)
    if len(idempotency_key) > MAX_TEXT:
        raise CommandRefused("The idempotency key is too long.", field="idempotency_key")
    if idempotency_key:
        existing = _existing(shard.pk, account, idempotency_key)
        if existing is not None:
            return existing
    markets: dict[str, models.MarketView] = {}
    payload = command_checked(shard, account, command, markets)
    waiting = wait > 0 and not connection.in_atomic_block
    if waiting and wait_unless_covered:
        waiting = not orders_covered(shard, account, [payload], markets)[0]
    try:
        command_id = _command_insert(
            shard=shard,
            account=account,
            idempotency_key=idempotency_key,
            kind=payload["type"],
            payload=payload,
            waiting=waiting,
        )
        transaction.on_commit(lambda: _wake(shard.pk), robust=True)
    except IntegrityError as error:
        existing = _existing(shard.pk, account, idempotency_key) if idempotency_key else None
        if existing is not None:
            return existing
        if not _client_order_id_taken(error):
            raise
        raise _client_order_id_refusal(payload["client_order_id"]) from None
    if not waiting:
        return CommandReceipt.of(command_id, payload["type"], None)
    outcome = outcomes.wait(
        command_id,
        min(wait, MAX_WAIT_SECONDS),
        lambda: models.Command.objects.filter(pk=command_id).values_list("outcome", flat=True)[0],
    )
    return CommandReceipt.of(command_id, payload["type"], outcome)


# the inbox's row of a submission, written without the ORM (whose create() costs twice
# the CPU of the statement); the same text on PostgreSQL and SQLite
COMMAND_INSERT_SQL = (
    "INSERT INTO engine_command (shard_id, seq, account, idempotency_key, kind, payload, ts, "
    "record, outcome, waiting, created_at) "
    "VALUES (%s, NULL, %s, %s, %s, %s, NULL, '', NULL, %s, %s) RETURNING id"
)


def _command_insert(
    *,
    shard: models.Shard,
    account: int,
    idempotency_key: str,
    kind: str,
    payload: dict[str, Any],
    waiting: bool,
) -> int:
    """One journal row; its id. Outside a transaction the lone INSERT is its own commit
    (one round trip, not three); inside one, a savepoint keeps the caller's transaction
    usable after a duplicate idempotency key or client order id."""
    params: list[Any] = [
        shard.pk,
        account,
        idempotency_key,
        kind,
        json_text(payload),
        waiting,
        connection.ops.adapt_datetimefield_value(timezone.now()),
    ]
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        with connection.cursor() as cursor:
            cursor.execute(COMMAND_INSERT_SQL, params)
            return int(cursor.fetchone()[0])


@dataclass(frozen=True)
class BatchItem:
    """One command of `commands_submit`."""

    account: int
    command: Mapping[str, Any]
    idempotency_key: str = ""


def commands_submit(
    *,
    risk_group: RiskGroup | int,
    items: list[BatchItem],
    wait: float = 0.0,
    wait_unless_covered: bool = False,
) -> list[CommandReceipt]:
    """Journal several commands of one risk group in one transaction (one commit, one
    wake-up), in the order given: a market maker's quotes, a bot's batch. Every command
    is checked first; one refusal refuses the batch (CommandRefused naming the item) and
    nothing is written. Items whose idempotency key was seen before get the first
    command's receipt and are not journaled again. An order naming the client order id of
    an order before it is refused as an open one. Receipts are "pending", unless `wait`
    asks for the outcomes (of the orders not covered, with `wait_unless_covered`), as
    `command_submit` does."""
    shard = shard_of(risk_group=risk_group)
    receipts: list[CommandReceipt | None] = []
    rows: list[models.Command] = []
    markets: dict[str, models.MarketView] = {}  # each market read once per batch
    # the orders' client order ids: (account, id) -> the order's place in `items`
    client_order_ids: dict[tuple[int, str], int] = {}
    for index, item in enumerate(items):
        existing = (
            _existing(shard.pk, item.account, item.idempotency_key)
            if item.idempotency_key
            else None
        )
        receipts.append(existing)
        if existing is not None:
            continue
        try:
            payload = command_checked(shard, item.account, item.command, markets)
            if payload["type"] == "PlaceOrder" and payload.get("client_order_id"):
                client_order_id = (item.account, payload["client_order_id"])
                if client_order_id in client_order_ids:
                    raise _client_order_id_refusal(payload["client_order_id"])
                client_order_ids[client_order_id] = index
        except CommandRefused as refusal:
            refusal.message = f"Command {index}: {refusal.message}"
            raise
        rows.append(
            models.Command(
                shard=shard,
                account=item.account,
                idempotency_key=item.idempotency_key,
                kind=payload["type"],
                payload=payload,
            )
        )
    try:
        with transaction.atomic():
            created = iter(models.Command.objects.bulk_create(rows))
            transaction.on_commit(lambda: _wake(shard.pk), robust=True)
    except IntegrityError as error:
        if not _client_order_id_taken(error):
            raise
        raise _client_order_ids_taken_refusal(shard, client_order_ids) from None
    answers = []
    for receipt in receipts:
        if receipt is None:
            row = next(created)
            receipt = CommandReceipt.of(row.pk, row.kind, None)
        answers.append(receipt)
    if wait <= 0 or connection.in_atomic_block or not rows:
        return answers
    wanted = {row.pk: row.kind for row in rows}
    if wait_unless_covered:
        by_account: dict[int, list[models.Command]] = {}
        for row in rows:
            by_account.setdefault(row.account, []).append(row)
        for account, mine in by_account.items():
            covered = orders_covered(shard, account, [row.payload for row in mine], markets)
            for row, ok in zip(mine, covered, strict=True):
                if ok:
                    del wanted[row.pk]
    return outcomes_waited(shard.pk, answers, wanted, wait) if wanted else answers


def outcomes_waited(
    shard_id: int, receipts: list[CommandReceipt], wanted: dict[int, str], wait: float
) -> list[CommandReceipt]:
    """The receipts, with the outcomes of the `wanted` commands (id -> kind) that the
    engine applied within `wait` seconds."""
    commands = models.Command.objects.filter(pk__in=wanted)
    outcomes.wait_applied(
        shard_id,
        lambda: set(commands.filter(seq__isnull=True).values_list("pk", flat=True)),
        min(wait, MAX_WAIT_SECONDS),
    )
    recorded = dict(commands.filter(outcome__isnull=False).values_list("pk", "outcome"))
    return [
        CommandReceipt.of(r.command_id, wanted[r.command_id], recorded[r.command_id])
        if r.command_id in recorded
        else r
        for r in receipts
    ]


def orders_covered(
    shard: models.Shard,
    account: int,
    payloads: list[dict[str, Any]],
    markets: dict[str, models.MarketView],
    free: dict[str, int] | None = None,
) -> list[bool]:
    """For each checked command: whether it is a limit order that the account's free
    balances, as last projected and less what the orders before it lock, cover. Shares
    it may sell and a perp account's unrealised PnL are not counted, nor are commands
    still in the inbox: a hint for answering without waiting, never a refusal (the
    engine alone decides). `markets` holds the orders' markets (read by the checks);
    `free` the account's free balances by asset, when the caller read them already."""
    if not any(p["type"] == "PlaceOrder" for p in payloads):
        return [False] * len(payloads)
    if free is None:
        free = {
            asset: int(amount)
            for asset, amount in models.Balance.objects.filter(
                shard=shard, account=account
            ).values_list("asset", "free")
        }
    else:
        free = dict(free)
    answers = []
    for payload in payloads:
        if payload["type"] != "PlaceOrder" or payload.get("order_type") == OrderType.MARKET:
            answers.append(False)
            continue
        market = markets[payload["market"]]
        config = market.market_config
        outcome_no = config.kind == MarketKind.PREDICTION and payload.get("outcome") == Outcome.NO
        is_bid = (payload["side"] == Side.BUY) != outcome_no
        price = config.payout - payload["price"] if outcome_no else payload["price"]
        unit = unit_reserve(
            config, int(market.mark), is_bid, price, payload.get("reduce_only", False)
        )
        if config.kind != MarketKind.SPOT:
            asset = shard.collateral
        else:
            asset = config.quote_asset if is_bid else config.base_asset
        free[asset] = free.get(asset, 0) - unit * payload["size"]
        answers.append(free[asset] >= 0)
    return answers


def account_orders_cancel(*, risk_group: RiskGroup | int, account: int, key: str) -> None:
    """Cancel every open order of `account` in the risk group (a lost membership), once
    per `key`. Nothing to do if the group has no engine yet."""
    group_id = risk_group if isinstance(risk_group, int) else risk_group.pk
    if not models.Shard.objects.filter(risk_group_id=group_id).exists():
        return
    command_submit(
        risk_group=group_id,
        account=account,
        command={"type": "CancelAll"},
        idempotency_key=key,
    )


def command_receipt(*, command_id: int) -> CommandReceipt:
    row = models.Command.objects.filter(pk=command_id).values_list("kind", "outcome").first()
    if row is None:
        raise CommandRefused(
            "No such command.", code=EngineError.UNKNOWN_COMMAND_ID, http_status=404
        )
    return CommandReceipt.of(command_id, *row)


def _existing(shard_id: int, account: int, key: str) -> CommandReceipt | None:
    row = (
        models.Command.objects.idempotent(shard_id=shard_id, account=account, key=key)
        .values_list("pk", "kind", "outcome")
        .first()
    )
    return CommandReceipt.of(*row) if row is not None else None


def _wake(shard_id: int) -> None:
    """After the commit (robust: the command is durable and acknowledged; if Redis fails
    here, the next submission or the shard's time tick wakes the writer)."""
    from engine.tasks import shard_wake

    shard_wake(shard_id)


# ---------------------------------------------------------------------- validation


def command_checked(
    shard: models.Shard,
    account: int,
    command: Mapping[str, Any],
    markets: dict[str, models.MarketView] | None = None,
    *,
    client_order_id_open_check: bool = True,
) -> dict[str, Any]:
    """The command as the journal stores it, or CommandRefused naming the problem.
    Without `client_order_id_open_check`, the caller checks that an order's client order
    id is not open in the statement that journals it (client_order_id_open_sql)."""
    if not isinstance(command, Mapping):
        raise CommandRefused("A command is an object with a type.", code=EngineError.BAD_COMMAND)
    kind = command.get("type")
    cls = COMMAND_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise CommandRefused(
            f"Unknown command type {kind!r}.", code=EngineError.UNKNOWN_COMMAND, field="type"
        )
    if isinstance(account, bool) or not isinstance(account, int) or account < 0:
        raise CommandRefused("The account must be a whole number.", code=EngineError.BAD_ACCOUNT)
    if kind in TRADER_COMMANDS and account == 0:
        raise CommandRefused("Orders need a trader's account.", code=EngineError.BAD_ACCOUNT)
    checks = _command_fields(kind)
    unknown = command.keys() - checks.accepted
    if unknown:
        first = min(unknown)
        raise CommandRefused(
            f"Unknown field {first!r} for {kind}.", code=EngineError.UNKNOWN_FIELD, field=first
        )
    payload: dict[str, Any] = {"type": kind}
    for name, check, required in checks.in_order:
        if name in command:
            payload[name] = check(name, command[name])
        elif required:
            raise CommandRefused(
                f"{kind} needs {name}.", code=EngineError.MISSING_FIELD, field=name
            )
    if checks.has_account:
        payload["account"] = account
    if kind == "AdvanceTime" and payload.get("ts", 0) <= 0:
        raise CommandRefused("AdvanceTime needs a time.", code=EngineError.BAD_NUMBER, field="ts")
    for name in checks.positive:
        if payload.get(name, 0) <= 0:
            raise CommandRefused(f"{name} must be positive.", code=Reason.BAD_SIZE, field=name)
    if kind in ("AddMarket", "UpdateMarket"):
        _check_config(payload)
    elif kind == "PlaceOrder":
        _check_order(shard, account, payload, markets, client_order_id_open_check)
    elif kind in ("CancelAll",) and payload.get("market"):
        _market(shard, payload["market"], markets)
    elif kind in ("AmendOrder", "CancelOrder"):
        if not payload.get("order_id") and not payload.get("client_order_id"):
            raise CommandRefused("Name the order.", code=Reason.UNKNOWN_ORDER, field="order_id")
    return payload


class _CommandFields(NamedTuple):
    """A command type's fields as command_checked takes them."""

    accepted: frozenset[str]  # the names a submitter may send, "type" among them
    # (name, the check of its value, whether it is required), in the payload's order
    in_order: tuple[tuple[str, Callable[[str, Any], Any], bool], ...]
    positive: tuple[str, ...]  # those that must be above zero
    has_account: bool  # the service fills in the account


@cache
def _command_fields(kind: str) -> _CommandFields:
    """The command type's fields, worked out once per type (command_checked runs for
    every order): the check of each field's value chosen by its type in the core command,
    not found again for every value."""
    declared = {f.name: f for f in fields(COMMAND_TYPES[kind])}
    allowed = set(declared) - SERVICE_FIELDS - {"type"}
    if kind == "PlaceOrder":
        allowed.discard("order_id")
    if kind == "AdvanceTime":
        allowed.add("ts")
    return _CommandFields(
        accepted=frozenset({*allowed, "type"}),
        in_order=tuple(
            (name, _value_check(declared[name].type), declared[name].default is MISSING)
            for name in sorted(allowed)
        ),
        positive=tuple(sorted(POSITIVE.intersection(declared))),
        has_account="account" in declared,
    )


def _value_check(kind: Any) -> Callable[[str, Any], Any]:
    """The check of a field's value (given the field's name and the value sent, it
    answers the value as the payload holds it) by the field's type in the core command."""
    if kind is MarketConfig:
        return _config_value
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return _choice_value
    if kind is bool:
        return _flag_value
    if kind is int:
        return _whole_value
    return _text_value


def _config_value(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise CommandRefused("config must be an object.", code=Reason.BAD_MARKET_CONFIG)
    return dict(value)


def _choice_value(name: str, value: Any) -> str:
    if value not in ENUMS[name]:
        raise CommandRefused(
            f"{name} must be one of {', '.join(ENUMS[name])}.",
            code=ENUM_CODES[name],
            field=name,
        )
    return str(value)


def _flag_value(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise CommandRefused(
            f"{name} must be true or false.", code=EngineError.BAD_FLAG, field=name
        )
    return value


def _whole_value(name: str, value: Any) -> int:
    if isinstance(value, float) and not math.isfinite(value):
        raise CommandRefused(f"{name} must be finite.", code=EngineError.BAD_NUMBER, field=name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CommandRefused(
            f"{name} must be a whole number of the engine's unit.",
            code=EngineError.BAD_NUMBER,
            field=name,
        )
    if value < 0:
        raise CommandRefused(f"{name} must not be negative.", code=EngineError.NEGATIVE, field=name)
    if value > MAX_UNITS:
        raise CommandRefused(f"{name} is out of range.", code=ErrorCode.OUT_OF_RANGE, field=name)
    return value


def _text_value(name: str, value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise CommandRefused(f"{name} must be text.", code=EngineError.BAD_TEXT, field=name)
    if len(value) > TEXT_LIMITS.get(name, MAX_TEXT):
        raise CommandRefused(f"{name} is too long.", code=EngineError.BAD_TEXT, field=name)
    return value


def _check_config(payload: dict[str, Any]) -> None:
    try:
        config = MarketConfig.from_dict(payload["config"])
    except (KeyError, TypeError, ValueError) as error:
        raise CommandRefused(
            f"The market config is malformed: {error}.", code=Reason.BAD_MARKET_CONFIG
        ) from None
    if config.validate() is not None:
        raise CommandRefused("The market config is invalid.", code=Reason.BAD_MARKET_CONFIG)
    payload["config"] = config.to_dict()


# one market of a shard, read on every order: as raw SQL (still made into a model with its
# fields' conversions) this costs a third of the CPU of the ORM's filter().first()
MARKET_SQL = "SELECT * FROM engine_marketview WHERE shard_id = %s AND market_id = %s"


def _market(
    shard: models.Shard, market_id: Any, markets: dict[str, models.MarketView] | None = None
) -> models.MarketView:
    """The market as the engine lists it (`markets`: the ones a batch already read)."""
    market = markets.get(market_id) if markets is not None else None
    if market is None:
        market = next(iter(models.MarketView.objects.raw(MARKET_SQL, [shard.pk, market_id])), None)
        if market is not None and markets is not None:
            markets[market_id] = market
    if market is None:
        raise MarketUnknown(f"No market {market_id!r} in this risk group.", field="market")
    return market


def _check_order(
    shard: models.Shard,
    account: int,
    payload: dict[str, Any],
    markets: dict[str, models.MarketView] | None = None,
    client_order_id_open_check: bool = True,
) -> None:
    market = _market(shard, payload.get("market", ""), markets)
    if market.status != "live":
        raise CommandRefused(
            f"Market {market.market_id} is {market.status}.",
            code=EngineError.MARKET_NOT_LIVE,
            field="market",
        )
    config = market.config
    if market.kind == "prediction" and config.get("outcomes"):
        raise CommandRefused(
            "Trade one outcome of a categorical market (<market>:<outcome>).",
            code=Reason.UNKNOWN_MARKET,
            field="market",
        )
    size = payload.get("size", 0)
    if size % config["lot_size"]:
        raise CommandRefused(
            "size is not a multiple of the lot.", code=Reason.BAD_LOT, field="size"
        )
    if size < config["min_size"]:
        raise CommandRefused("size is below the minimum.", code=Reason.BELOW_MIN_SIZE, field="size")
    is_market_order = payload.get("order_type") == OrderType.MARKET
    price = payload.get("price", 0)
    if is_market_order:
        if price:
            raise CommandRefused(
                "A market order has no price.", code=Reason.BAD_PRICE, field="price"
            )
    else:
        if price <= 0:
            raise CommandRefused("price must be positive.", code=Reason.BAD_PRICE, field="price")
        if price % config["tick_size"]:
            raise CommandRefused(
                "price is not a multiple of the tick.", code=Reason.BAD_TICK, field="price"
            )
        if market.kind == "prediction" and price >= config["payout"]:
            raise CommandRefused(
                "A prediction price lies below the payout.", code=Reason.BAD_PRICE, field="price"
            )
    if payload.get("tif") == TimeInForce.GTD and not payload.get("expiry_ts"):
        raise CommandRefused(
            "A GTD order needs expiry_ts.", code=Reason.BAD_EXPIRY, field="expiry_ts"
        )
    client_order_id = payload.get("client_order_id", "")
    if (
        client_order_id
        and client_order_id_open_check
        and _client_order_id_open(shard.pk, account, client_order_id)
    ):
        raise _client_order_id_refusal(client_order_id)


def _client_order_id_refusal(client_order_id: str) -> CommandRefused:
    return CommandRefused(
        f"Client order id {client_order_id!r} is already open.",
        code=Reason.DUPLICATE_CLIENT_ORDER_ID,
        field="client_order_id",
    )


def _client_order_id_taken(error: IntegrityError) -> bool:
    """Whether the journal refused a row because another transaction journaled an order
    with its client order id, pending, and committed after this one's check (an insert
    meeting a row not committed yet waits for its transaction): the id was open when the
    row was written. (PostgreSQL and SQLite name the constraint in the message.)"""
    return models.PENDING_CLIENT_ORDER_ID_ONCE in str(error)


def _client_order_ids_taken_refusal(
    shard: models.Shard, client_order_ids: dict[tuple[int, str], int]
) -> CommandRefused:
    """The refusal of a batch, not written, one of whose orders' client order ids
    ((account, id) -> its place in the batch) another transaction journaled meanwhile:
    naming the first whose id is open now, as the batch's check would have."""
    for (account, client_order_id), index in client_order_ids.items():
        if _client_order_id_open(shard.pk, account, client_order_id):
            refusal = _client_order_id_refusal(client_order_id)
            refusal.message = f"Command {index}: {refusal.message}"
            return refusal
    # that order was applied and has closed since
    return CommandRefused(
        "A client order id of these orders was placed by another request meanwhile.",
        code=Reason.DUPLICATE_CLIENT_ORDER_ID,
        field="client_order_id",
    )


def client_order_id_open_sql(*, shard: str, account: str, client_order_id: str) -> str:
    """The condition (PostgreSQL) that the account has the client order id open in the
    shard: open in the projection, or placed and not applied yet. Each argument is an SQL
    expression (a parameter, or a column of the statement's own rows: the order fast path,
    trading.okx.fast_path, asks it of each client order id of several requests inside its
    journal INSERT, a prepared statement). Its conditions name those of the two partial
    indexes (open orders with a client order id, pending PlaceOrders by client order id),
    so that even a generic plan reads the few rows carrying that id, never all the
    account's open orders. (OFFSET 0: else, for an id that is a column, PostgreSQL may
    turn each EXISTS into a hash of all the account's ids, read again for each account.)"""
    # the arguments are SQL expressions of the callers' own statements, never values
    return (
        f"(EXISTS (SELECT FROM engine_order WHERE shard_id = {shard} "  # noqa: S608
        f"AND account = {account} AND status = 'open' AND client_order_id <> '' "
        f"AND client_order_id = {client_order_id} OFFSET 0) "
        f"OR EXISTS (SELECT FROM engine_command WHERE shard_id = {shard} "
        f"AND account = {account} AND seq IS NULL AND kind = 'PlaceOrder' "
        f"AND payload->>'client_order_id' <> '' "
        f"AND payload->>'client_order_id' = {client_order_id} OFFSET 0))"
    )


def _client_order_id_open(shard_id: int, account: int, client_order_id: str) -> bool:
    """Open in the projection, or placed and not applied yet."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT "
                + client_order_id_open_sql(
                    shard="%(shard)s", account="%(account)s", client_order_id="%(id)s"
                ),
                {"shard": shard_id, "account": account, "id": client_order_id},
            )
            return bool(cursor.fetchone()[0])
    # the embedded demo's SQLite: the same question through the ORM
    if models.Order.objects.filter(
        shard_id=shard_id, account=account, client_order_id=client_order_id, status="open"
    ).exists():
        return True
    return models.Command.objects.filter(
        shard_id=shard_id,
        account=account,
        seq__isnull=True,
        kind="PlaceOrder",
        payload__client_order_id=client_order_id,
    ).exists()
