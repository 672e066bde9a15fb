"""Registry services: listing a market from its Final XIP (idempotent), the market's status
moves (MARKET_TRANSITIONS), and the scheduled work (launches, prediction close times,
parameter changes at their enactment time, delistings at their wind-down time)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from django.db import IntegrityError, transaction
from django.utils import timezone

from engine.chain.registry import registry_entry_record
from engine.core.reasons import Reason
from engine.selectors import market_get
from engine.services import command_submit, shard_of
from engine.specs import ListedMarket, market_config_from_spec
from governance.risk_groups.models import MarketType, RiskGroup
from markets.errors import MarketError
from xip_portal.audit import audit_record
from xip_portal.errors import ApplicationError, Conflict, ErrorCode, PermissionDenied
from xip_portal.models import Institution, StaffRole, User
from xip_portal.roles import has_role
from xip_portal.specs import spec_time
from xip_portal.state_machine import TransitionError, status_transition

from .config_hash import config_hash
from .models import (
    MARKET_TRANSITIONS,
    Asset,
    Market,
    MarketChange,
    MarketStatus,
    MarketStatusChange,
)


class Xip(Protocol):
    """What the registry reads of the Final XIP that lists or changes a market (an XIP of
    governance.proposals, which calls down into the registry when an XIP goes Final)."""

    @property
    def pk(self) -> Any: ...
    @property
    def label(self) -> str: ...
    @property
    def spec(self) -> Any: ...
    @property
    def risk_group(self) -> RiskGroup: ...
    @property
    def institution(self) -> Institution | None: ...
    def lists_a_market(self) -> bool: ...


def _locked(market: Market) -> Market:
    return (
        Market.objects.select_for_update(of=("self",))
        .select_related("risk_group")
        .get(pk=market.pk)
    )


def market_status_set(
    market: Market,
    to_status: str,
    *,
    actor: User | None,
    reason: str,
    now: datetime,
    launch_at: datetime | None = None,
) -> None:
    """Moves a locked market (inside the caller's transaction), with history and audit."""
    from_status = market.status
    launch = {"launch_at": launch_at} if launch_at is not None else {}
    step = status_transition(
        market,
        to_status,
        machine=MARKET_TRANSITIONS,
        actor=actor,
        action=f"market.{to_status}",
        reason=reason,
        now=now,
        subject=market.symbol,
        changes={"status_reason": reason, **launch},
        audit_new=launch,
    )
    _engine_status_push(market, from_status, to_status, key=f"market-status:{step.pk}")
    _registry_mirror(market)


def _registry_mirror(market: Market) -> None:
    """The on-chain registry follows the portal's: the same config hash, status, risk group
    and XIP, sent after the caller's commit (engine.chain)."""
    registry_entry_record(
        market_id=market.symbol,
        config_hash=market.config_hash,
        status=market.status,
        risk_group_id=market.risk_group_id,
        xip=market.xip.number or 0,
    )


# ---------------------------------------------------------------------------------------
# The engine follows the registry: every move of a market reaches its risk group's engine
# as a command, journaled in the same transaction as the move (idempotent on the move).

ENGINE_STATUS_COMMANDS: dict[str, str] = {
    MarketStatus.HALTED: "HaltMarket",
    MarketStatus.CLOSED: "CloseMarket",
    MarketStatus.SETTLED: "SettleMarket",
}
IN_ENGINE = (MarketStatus.LIVE, MarketStatus.HALTED, MarketStatus.CLOSED)


def market_engine_config(market: Market) -> ListedMarket:
    """The market's spec in its engine's integers (SpecNotConvertible if it does not
    convert exactly), with the units that turn trader decimals into them."""
    spec = market.spec
    symbols = {spec["quote_asset"], spec.get("base_asset") or spec["quote_asset"]}
    decimals = dict(Asset.objects.filter(symbol__in=symbols).values_list("symbol", "decimals"))
    return _engine_config(market, decimals)


def market_engine_configs(markets: list[Market]) -> dict[int, ListedMarket]:
    """`market_engine_config` of each market by its id, reading the assets once."""
    if not markets:
        return {}
    symbols = {s for m in markets for s in (m.spec["quote_asset"], m.spec.get("base_asset"))}
    decimals = dict(Asset.objects.filter(symbol__in=symbols).values_list("symbol", "decimals"))
    return {market.pk: _engine_config(market, decimals) for market in markets}


def _engine_config(market: Market, decimals: dict[str, int]) -> ListedMarket:
    spec = market.spec
    close_time = spec.get("close_time")
    return market_config_from_spec(
        spec,
        collateral=shard_of(risk_group=market.risk_group_id).collateral,
        decimals=decimals,
        close_at=spec_time(close_time) if close_time else None,
    )


def _engine_status_push(market: Market, from_status: str, to_status: str, *, key: str) -> None:
    if to_status == MarketStatus.LIVE and from_status != MarketStatus.HALTED:
        command: dict[str, Any] = {
            "type": "AddMarket",
            "config": market_engine_config(market).config.to_dict(),
        }
    elif to_status == MarketStatus.LIVE:
        command = {"type": "ResumeMarket", "market": market.symbol}
    elif to_status == MarketStatus.DELISTED and from_status in IN_ENGINE:
        command = {"type": "CloseMarket", "market": market.symbol}
    elif to_status in ENGINE_STATUS_COMMANDS:
        command = {"type": ENGINE_STATUS_COMMANDS[to_status], "market": market.symbol}
        if to_status == MarketStatus.SETTLED and market.market_type == MarketType.PERP:
            # a perpetual settles every position at the oracle's mark price
            command["price"] = market_mark_price(market)
    else:
        return  # approved, scheduled: nothing trades yet
    command_submit(risk_group=market.risk_group_id, account=0, command=command, idempotency_key=key)


def market_mark_price(market: Market) -> int:
    """The engine's mark price of a perpetual (engine units; 0 before its oracle's first
    price)."""
    view = market_get(shard=shard_of(risk_group=market.risk_group_id), market_id=market.symbol)
    return int(view.mark) if view is not None else 0


def market_list_from_xip(*, proposal: Xip, now: datetime | None = None) -> Market:
    """Lists the market of a Final market XIP: creates it approved (and scheduled, if the
    spec names a launch time) with its config hash. Idempotent: a retried call returns the
    market already listed for this XIP; the one-to-one on `xip` refuses a second row even
    under a race."""
    now = now or timezone.now()
    existing = Market.objects.filter(xip_id=proposal.pk).first()
    if existing is not None:
        return existing
    if not proposal.lists_a_market():
        raise ApplicationError(
            f"{proposal.label} is not a Final market XIP.", code=MarketError.NOT_A_FINAL_MARKET_XIP
        )
    spec: dict[str, Any] = dict(proposal.spec)
    assets = {asset.symbol: asset for asset in Asset.objects.all()}
    try:
        with transaction.atomic():
            market = Market.objects.create(
                symbol=spec["symbol"],
                market_type=spec["market_type"],
                risk_group=proposal.risk_group,
                xip_id=proposal.pk,
                deployer=proposal.institution,
                base_asset=assets.get(spec.get("base_asset") or ""),
                quote_asset=assets[spec["quote_asset"]],
                spec=spec,
                config_hash=config_hash(spec),
            )
            MarketStatusChange.objects.create(
                market=market,
                to_status=MarketStatus.APPROVED,
                reason=f"Listed by {proposal.label}",
                created_at=now,
            )
            audit_record(
                actor=None,
                action="market.list",
                obj=market,
                new={"xip": proposal.label, "config_hash": market.config_hash},
                reason=f"{proposal.label} is Final",
            )
            _registry_mirror(market)
            if spec.get("launch_time"):
                market_status_set(
                    market,
                    MarketStatus.SCHEDULED,
                    actor=None,
                    reason="launch time from the XIP",
                    now=now,
                    launch_at=spec_time(spec["launch_time"]),
                )
    except IntegrityError:
        # Listed meanwhile by a concurrent run for the same XIP.
        listed = Market.objects.filter(xip_id=proposal.pk).first()
        if listed is None:
            raise Conflict(
                f"The symbol {spec['symbol']} is already taken.", code=MarketError.SYMBOL_TAKEN
            ) from None
        return listed
    return market


def market_change_schedule_from_xip(*, proposal: Xip, kind: str) -> MarketChange:
    """Records what a Final parameter-change XIP (`kind` PARAMETERS) or delisting XIP
    (DELISTING) changes, and when. Idempotent."""
    existing = MarketChange.objects.filter(xip_id=proposal.pk).first()
    if existing is not None:
        return existing
    market = Market.objects.get(symbol=proposal.spec["market"])
    if kind == MarketChange.Kind.PARAMETERS:
        changes = proposal.spec["changes"]
        effective_at = spec_time(proposal.spec["enactment_time"])
    else:
        changes = {}
        effective_at = spec_time(proposal.spec["wind_down_time"])
    change = MarketChange.objects.create(
        market=market, xip_id=proposal.pk, kind=kind, changes=changes, effective_at=effective_at
    )
    audit_record(
        actor=None,
        action=f"market.{kind}_scheduled",
        obj=market,
        new={"xip": proposal.label, "changes": changes, "effective_at": effective_at},
        reason=f"{proposal.label} is Final",
    )
    return change


# ---------------------------------------------------------------------------------------
# Operator moves


def market_operator_require(actor: User, market: Market) -> None:
    """PermissionDenied unless `actor` operates the market's group (checked before the
    input, so a stranger learns nothing of what a move would need)."""
    if not has_role(actor, StaffRole.RISK_GROUP_OPERATOR, market.risk_group):
        raise PermissionDenied(
            f"Only operators of {market.risk_group.name} can change {market.symbol}.",
            code=ErrorCode.ROLE_REQUIRED,
        )


OPERATOR_MOVES = {
    "schedule": MarketStatus.SCHEDULED,
    "launch": MarketStatus.LIVE,
    "halt": MarketStatus.HALTED,
    "resume": MarketStatus.LIVE,
    "close": MarketStatus.CLOSED,
    "settle": MarketStatus.SETTLED,
}


def market_status_change(
    *,
    actor: User,
    market: Market,
    move: str,
    reason: str,
    launch_at: datetime | None = None,
    now: datetime | None = None,
) -> Market:
    """An operator of the market's group moves it: schedule (needs a launch time), launch,
    halt and resume (need a reason), close, settle. Delisting comes from a Final XIP only."""
    now = now or timezone.now()
    market_operator_require(actor, market)
    if move not in OPERATOR_MOVES:
        raise ApplicationError(
            f"Unknown move {move!r}; one of {', '.join(OPERATOR_MOVES)}.",
            fields={"move": ["Unknown move."]},
        )
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "Say why.", code=ErrorCode.REASON_REQUIRED, fields={"reason": ["Required."]}
        )
    if move == "schedule" and launch_at is None:
        raise ApplicationError(
            "Give the launch time.", fields={"launch_at": ["Required to schedule."]}
        )
    with transaction.atomic():
        market = _locked(market)
        target = OPERATOR_MOVES[move]
        if move == "resume" and market.status != MarketStatus.HALTED:
            raise TransitionError(f"{market.symbol} is not halted.")
        if move == "launch" and market.status != MarketStatus.SCHEDULED:
            raise TransitionError(f"{market.symbol} is not scheduled.")
        if move == "settle" and market.market_type == MarketType.PREDICTION:
            raise Conflict(
                f"{market.symbol} settles at its resolution's outcome, not by an operator.",
                code=MarketError.SETTLES_BY_RESOLUTION,
            )
        if move == "settle" and market.market_type == MarketType.PERP:
            if market.can_move_to(target) and not market_mark_price(market):
                raise Conflict(
                    f"{market.symbol} has no oracle price to settle at yet.",
                    code=Reason.NO_MARK_PRICE,
                )
        market_status_set(market, target, actor=actor, reason=reason, now=now, launch_at=launch_at)
    return market


# ---------------------------------------------------------------------------------------
# Scheduled work


def markets_timers_run(*, now: datetime | None = None) -> dict[str, int]:
    """Launches scheduled markets whose time has come, closes prediction markets at their
    close time, and applies due parameter changes and delistings. Each market in its own
    transaction; safe to run twice."""
    now = now or timezone.now()
    done = {"launched": 0, "closed": 0, "changed": 0, "delisted": 0}
    for pk in Market.objects.filter(status=MarketStatus.SCHEDULED, launch_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            market = Market.objects.select_for_update().get(pk=pk)
            if market.status == MarketStatus.SCHEDULED:
                market_status_set(
                    market, MarketStatus.LIVE, actor=None, reason="launch time", now=now
                )
                done["launched"] += 1
    predictions = Market.objects.filter(
        market_type="prediction", status__in=[MarketStatus.LIVE, MarketStatus.HALTED]
    )
    for market_row in predictions.order_by("pk"):
        close_time = market_row.spec.get("close_time")
        if not close_time or spec_time(close_time) > now:
            continue
        with transaction.atomic():
            market = _locked(market_row)
            if market.can_move_to(MarketStatus.CLOSED):
                market_status_set(
                    market, MarketStatus.CLOSED, actor=None, reason="close time", now=now
                )
                done["closed"] += 1
    due = MarketChange.objects.filter(applied_at__isnull=True, effective_at__lte=now)
    for change_pk in due.order_by("effective_at", "pk").values_list("pk", flat=True):
        with transaction.atomic():
            change = MarketChange.objects.select_for_update().get(pk=change_pk)
            if change.applied_at is not None:
                continue
            market = _locked(change.market)
            if change.kind == MarketChange.Kind.PARAMETERS:
                _parameters_apply(market, change, now=now)
                done["changed"] += 1
            elif market.can_move_to(MarketStatus.DELISTED):
                market_status_set(
                    market,
                    MarketStatus.DELISTED,
                    actor=None,
                    reason=f"Delisted by {change.xip.label}: {change.xip.spec.get('reason', '')}",
                    now=now,
                )
                done["delisted"] += 1
            change.applied_at = now
            change.save(update_fields=["applied_at", "updated_at"])
    return done


def _parameters_apply(market: Market, change: MarketChange, *, now: datetime) -> None:
    old_spec = dict(market.spec)
    new_spec = {**old_spec, **change.changes}
    market.spec = new_spec
    market.config_hash = config_hash(new_spec)
    market.save(update_fields=["spec", "config_hash", "updated_at"])
    _registry_mirror(market)
    if market.status in IN_ENGINE:
        command_submit(
            risk_group=market.risk_group_id,
            account=0,
            command={
                "type": "UpdateMarket",
                "config": market_engine_config(market).config.to_dict(),
            },
            idempotency_key=f"market-change:{change.pk}",
        )
    audit_record(
        actor=None,
        action="market.parameters",
        obj=market,
        old={name: old_spec.get(name) for name in change.changes}
        | {"config_hash": config_hash(old_spec)},
        new={**change.changes, "config_hash": market.config_hash},
        reason=f"{change.xip.label} enacted",
    )
