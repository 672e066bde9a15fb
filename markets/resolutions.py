"""Resolving a prediction market, as people run it.

At close time trading stops (the engine's close timer; the registry follows). The market's
resolver (the spec's `resolver` institution, else the XIP's institution) proposes an
outcome with an evidence link, and the spec's dispute window opens. A member of the risk
group may dispute it within the window with a bond (the spec's `dispute_bond` in the quote
asset, else the group's XIP bond), held in the group's engine. An undisputed proposal
settles by itself when the window lapses (`resolutions_settle_due`, scheduled). A disputed
one is decided by the group's XIP editors, and in a regulated group approved by its
operator; the decided outcome settles at once and the bond goes to whoever was right: back
to the disputer when the decision differs from the proposal, to the proposer otherwise.
"void" is an outcome (each share pays half). Every step is an engine command journaled in
the step's transaction, a row the market's timeline shows, and an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from engine.bonds import (
    bond_lock,
    bond_lock_command,
    bond_locked,
    bond_pay,
)
from engine.core.markets import MarketKind
from engine.models import Command
from engine.services import command_submit, shard_of
from governance.memberships.services import membership_require
from xip_portal.audit import audit_record
from xip_portal.errors import ApplicationError, Conflict, ErrorCode, PermissionDenied
from xip_portal.models import Institution, InstitutionMembership, StaffRole, User
from xip_portal.roles import has_role
from xip_portal.state_machine import TransitionError

from .errors import MarketError
from .models import (
    RESOLUTION_TRANSITIONS,
    Asset,
    Market,
    MarketStatus,
    OutcomeElimination,
    Resolution,
    ResolutionDispute,
    ResolutionStatus,
)
from .services import market_status_set

VOID = "void"
BINARY_OUTCOMES = ("yes", "no", VOID)
DISPUTE_ESCROW = "resolution-bonds"


def _key(resolution: Resolution, step: str) -> str:
    return f"resolution:{resolution.pk}:{step}"


def market_resolver(market: Market) -> Institution | None:
    """The institution whose members propose the market's outcome."""
    slug = market.spec.get("resolver")
    if slug:
        return Institution.objects.filter(slug=slug).first()
    return market.deployer


def market_outcome_choices(market: Market) -> tuple[str, ...]:
    """What a resolution of the market may say."""
    return (*market.outcomes, VOID) if market.outcomes else BINARY_OUTCOMES


def _outcomes_open(market: Market) -> tuple[str, ...]:
    """What a resolution of the market may say now: not an outcome eliminated before."""
    if not market.outcomes:
        return BINARY_OUTCOMES
    eliminated = set(market.eliminations.values_list("outcome", flat=True))
    return tuple(name for name in market_outcome_choices(market) if name not in eliminated)


@dataclass(frozen=True)
class DisputeBond:
    asset: str
    amount: Decimal


def dispute_bond(market: Market) -> DisputeBond:
    """The bond a dispute of the market's resolution locks."""
    if market.spec.get("dispute_bond") is not None:
        return DisputeBond(market.spec["quote_asset"], Decimal(market.spec["dispute_bond"]))
    group = market.risk_group
    return DisputeBond(group.proposal_bond_asset or "USDC", group.proposal_bond_amount)


def _locked_market(market: Market) -> Market:
    return (
        Market.objects.select_for_update(of=("self",))
        .select_related("risk_group", "deployer")
        .get(pk=market.pk)
    )


def _locked_resolution(market: Market) -> Resolution:
    resolution = Resolution.objects.select_for_update().filter(market=market).first()
    if resolution is None:
        raise Conflict(
            f"No outcome of {market.symbol} has been proposed.", code=MarketError.NOT_DISPUTED
        )
    return resolution


def _move(
    resolution: Resolution, target: str, *, actor: User | None, reason: str, **changes: Any
) -> None:
    """Moves a locked resolution and audits the step on its market."""
    RESOLUTION_TRANSITIONS.check(resolution.status, target, subject=f"{resolution.market}")
    from_status = resolution.status
    resolution.status = target
    for name, value in changes.items():
        setattr(resolution, name, value)
    resolution.save()
    audit_record(
        actor=actor,
        action=f"market.resolution_{target}",
        obj=resolution.market,
        old={"resolution": from_status},
        new={"resolution": target, **{k: _plain(v) for k, v in changes.items()}},
        reason=reason,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, User):
        return value.email
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def resolution_propose(
    *, actor: User, market: Market, outcome: str, evidence_url: str, now: datetime | None = None
) -> Resolution:
    """The resolver's member proposes the outcome of a closed prediction market, with an
    evidence link; the spec's dispute window opens. Journals the engine's
    ProposeResolution in the same transaction."""
    now = now or timezone.now()
    outcome = (outcome or "").strip()
    evidence_url = (evidence_url or "").strip()
    if market.market_type != MarketKind.PREDICTION:
        raise ApplicationError(
            f"{market.symbol} is not a prediction market.", code=MarketError.NOT_A_PREDICTION_MARKET
        )
    choices = _outcomes_open(market)
    if market.outcomes:
        outcome = next((name for name in market.outcomes if name == outcome), outcome)
    else:
        outcome = outcome.lower()
    if outcome not in choices:
        raise ApplicationError(
            f"The outcome must be one of {', '.join(choices)}.",
            code=MarketError.BAD_RESOLUTION_OUTCOME,
            field="outcome",
        )
    _evidence_check(evidence_url)
    with transaction.atomic():
        market = _locked_market(market)
        _resolver_require(actor, market)
        if market.status != MarketStatus.CLOSED:
            raise Conflict(
                f"{market.symbol} is {market.get_status_display().lower()}: an outcome is "
                "proposed once it has closed.",
                code=MarketError.MARKET_NOT_CLOSED,
            )
        if Resolution.objects.filter(market=market).exists():
            raise Conflict(
                f"An outcome of {market.symbol} was already proposed.",
                code=MarketError.ALREADY_RESOLVED,
            )
        window = timedelta(hours=market.spec.get("dispute_window_hours") or 0)
        resolution = Resolution.objects.create(
            market=market,
            outcome=outcome,
            evidence_url=evidence_url,
            proposed_by=actor,
            proposed_at=now,
            dispute_until=now + window,
        )
        command_submit(
            risk_group=market.risk_group_id,
            account=0,
            command={"type": "ProposeResolution", "market": market.symbol, "outcome": outcome},
            idempotency_key=_key(resolution, "propose"),
        )
        audit_record(
            actor=actor,
            action="market.resolution_proposed",
            obj=market,
            new={
                "outcome": outcome,
                "evidence_url": evidence_url,
                "dispute_until": resolution.dispute_until.isoformat(),
            },
        )
    return resolution


def _evidence_check(evidence_url: str) -> None:
    parts = urlsplit(evidence_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(evidence_url) > 500:
        raise ApplicationError(
            "Link the evidence (an http or https address).",
            code=MarketError.EVIDENCE_REQUIRED,
            field="evidence_url",
        )


def _resolver_require(actor: User, market: Market) -> None:
    resolver = market_resolver(market)
    if (
        resolver is None
        or not InstitutionMembership.objects.filter(institution=resolver, user=actor).exists()
    ):
        raise PermissionDenied(
            f"Only members of {resolver.name if resolver else 'the resolver'} resolve the "
            f"outcomes of {market.symbol}.",
            code=MarketError.NOT_THE_RESOLVER,
        )


ELIMINABLE = (MarketStatus.LIVE, MarketStatus.HALTED, MarketStatus.CLOSED)


def outcome_eliminate(
    *, actor: User, market: Market, outcome: str, evidence_url: str, now: datetime | None = None
) -> OutcomeElimination:
    """The resolver's member settles one outcome of a categorical market as NO before the
    market's end (a team knocked out), with an evidence link: its trading stops, its NO
    shares pay one unit and its YES shares nothing, and the other outcomes trade on.
    Final at once (an elimination is a published result, not a judgement to dispute); the
    last outcome left is not eliminated but proposed as the market's outcome. Journals the
    engine's EliminateOutcome in the same transaction, and audits it."""
    now = now or timezone.now()
    outcome = (outcome or "").strip()
    evidence_url = (evidence_url or "").strip()
    if market.market_type != MarketKind.PREDICTION or not market.outcomes:
        raise ApplicationError(
            f"{market.symbol} has no outcomes to eliminate: only a categorical market's are.",
            code=MarketError.NOT_A_PREDICTION_MARKET,
        )
    if outcome not in market.outcomes:
        raise ApplicationError(
            f"The outcome must be one of {', '.join(market.outcomes)}.",
            code=MarketError.BAD_RESOLUTION_OUTCOME,
            field="outcome",
        )
    _evidence_check(evidence_url)
    with transaction.atomic():
        market = _locked_market(market)
        _resolver_require(actor, market)
        if market.status not in ELIMINABLE or Resolution.objects.filter(market=market).exists():
            raise Conflict(
                f"{market.symbol} is {market.get_status_display().lower()}"
                f"{' and resolved' if market.status in ELIMINABLE else ''}: "
                "no outcome of it can be eliminated now.",
                code=MarketError.ALREADY_RESOLVED,
            )
        eliminated = set(market.eliminations.values_list("outcome", flat=True))
        if outcome in eliminated:
            raise Conflict(
                f"{outcome} was already eliminated from {market.symbol}.",
                code=MarketError.ALREADY_RESOLVED,
            )
        if len(market.outcomes) - len(eliminated) <= 1:
            raise ApplicationError(
                f"{outcome} is the last outcome left: propose it as the outcome of "
                f"{market.symbol} once it has closed.",
                code=MarketError.BAD_RESOLUTION_OUTCOME,
                field="outcome",
            )
        elimination = OutcomeElimination.objects.create(
            market=market,
            outcome=outcome,
            evidence_url=evidence_url,
            eliminated_by=actor,
            eliminated_at=now,
        )
        command_submit(
            risk_group=market.risk_group_id,
            account=0,
            command={"type": "EliminateOutcome", "market": market.symbol, "outcome": outcome},
            idempotency_key=f"elimination:{elimination.pk}",
        )
        audit_record(
            actor=actor,
            action="market.outcome_eliminated",
            obj=market,
            new={"eliminated": outcome, "evidence_url": evidence_url},
        )
    return elimination


def resolution_dispute(
    *, actor: User, market: Market, reason: str, now: datetime | None = None
) -> ResolutionDispute:
    """A member of the market's group disputes the proposed outcome within the window,
    locking the dispute bond in the group's engine; the market then waits for the editors'
    decision."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "Say why the proposed outcome is wrong.",
            code=ErrorCode.REASON_REQUIRED,
            field="reason",
        )
    with transaction.atomic():
        market = _locked_market(market)
        membership_require(user=actor, risk_group=market.risk_group, action="trade")
        resolution = _locked_resolution(market)
        if not resolution.can_be_disputed(now):
            raise Conflict(
                f"The outcome of {market.symbol} can no longer be disputed.",
                code=MarketError.NOT_DISPUTABLE,
            )
        bond = dispute_bond(market)
        dispute = ResolutionDispute.objects.create(
            resolution=resolution,
            disputer=actor,
            reason=reason[:2000],
            bond_asset=bond.asset,
            bond_amount=bond.amount,
        )
        if bond.amount > 0:
            bond_lock(
                risk_group_id=market.risk_group_id,
                account=actor.pk,
                asset=bond.asset,
                amount=bond.amount,
                decimals=Asset.objects.values_list("decimals", flat=True).get(symbol=bond.asset),
                key=_key(resolution, "bond"),
                escrow=DISPUTE_ESCROW,
                not_covered=ApplicationError(
                    f"The dispute bond of {bond.amount.normalize():f} {bond.asset} is more than "
                    f"your free balance in {market.risk_group.name}.",
                    code=MarketError.DISPUTE_BOND_NOT_COVERED,
                ),
            )
        command_submit(
            risk_group=market.risk_group_id,
            account=0,
            command={"type": "DisputeResolution", "market": market.symbol},
            idempotency_key=_key(resolution, "dispute"),
        )
        _move(
            resolution,
            ResolutionStatus.DISPUTED,
            actor=actor,
            reason=reason,
        )
    return dispute


def resolution_decide(
    *, actor: User, market: Market, outcome: str, reason: str, now: datetime | None = None
) -> Resolution:
    """An XIP editor of the market's group decides a disputed outcome. In a permissionless
    group the decision settles the market at once; in a regulated one it waits for the
    operator's approval (`resolution_decision_approve`)."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "Give the reasons of the decision.", code=ErrorCode.REASON_REQUIRED, field="reason"
        )
    with transaction.atomic():
        market = _locked_market(market)
        if not has_role(actor, StaffRole.XIP_EDITOR, market.risk_group):
            raise PermissionDenied(
                f"Only XIP editors of {market.risk_group.name} decide disputes.",
                code=ErrorCode.ROLE_REQUIRED,
            )
        resolution = _locked_resolution(market)
        if resolution.status != ResolutionStatus.DISPUTED:
            raise TransitionError(
                f"The outcome of {market.symbol} is not disputed.", code=MarketError.NOT_DISPUTED
            )
        choices = _outcomes_open(market)
        decided = outcome.strip() if market.outcomes else outcome.strip().lower()
        if decided not in choices:
            raise ApplicationError(
                f"The outcome must be one of {', '.join(choices)}.",
                code=MarketError.BAD_RESOLUTION_OUTCOME,
                field="outcome",
            )
        changes = {
            "final_outcome": decided,
            "decided_by": actor,
            "decided_at": now,
            "decision_reason": reason[:2000],
        }
        if market.risk_group.is_regulated:
            _move(resolution, ResolutionStatus.DECIDED, actor=actor, reason=reason, **changes)
        else:
            for name, value in changes.items():
                setattr(resolution, name, value)
            _settle(market, resolution, actor=actor, reason=reason, now=now)
    return resolution


def resolution_decision_approve(
    *, actor: User, market: Market, now: datetime | None = None
) -> Resolution:
    """The operator of a regulated group approves the editors' decision: it settles."""
    now = now or timezone.now()
    with transaction.atomic():
        market = _locked_market(market)
        if not has_role(actor, StaffRole.RISK_GROUP_OPERATOR, market.risk_group):
            raise PermissionDenied(
                f"Only operators of {market.risk_group.name} approve decisions.",
                code=ErrorCode.ROLE_REQUIRED,
            )
        resolution = _locked_resolution(market)
        if resolution.status != ResolutionStatus.DECIDED:
            raise TransitionError(
                f"No decision on {market.symbol} awaits approval.", code=MarketError.NOT_DISPUTED
            )
        resolution.approved_by = actor
        _settle(market, resolution, actor=actor, reason="Decision approved", now=now)
    return resolution


def _settle(
    market: Market, resolution: Resolution, *, actor: User | None, reason: str, now: datetime
) -> None:
    """Pays the market out (inside the caller's transaction, market and resolution locked):
    a decided outcome is entered as final first, and the dispute bond goes to whoever was
    right."""
    disputed = resolution.status != ResolutionStatus.PROPOSED
    final = resolution.final_outcome if disputed else resolution.outcome
    if disputed:
        command_submit(
            risk_group=market.risk_group_id,
            account=0,
            command={
                "type": "ProposeResolution",
                "market": market.symbol,
                "outcome": final,
                "final": True,
            },
            idempotency_key=_key(resolution, "decided"),
        )
        dispute = ResolutionDispute.objects.select_for_update().get(resolution=resolution)
        upheld = final != resolution.outcome
        dispute.result = (
            ResolutionDispute.Result.UPHELD if upheld else ResolutionDispute.Result.REJECTED
        )
        dispute.save(update_fields=["result", "updated_at"])
        lock = bond_lock_command(risk_group_id=market.risk_group_id, key=_key(resolution, "bond"))
        if bond_locked(lock) and lock is not None:
            bond_pay(
                risk_group_id=market.risk_group_id,
                lock=lock,
                account=dispute.disputer_id if upheld else resolution.proposed_by_id,
                key=_key(resolution, "bond-paid"),
            )
    _move(
        resolution,
        ResolutionStatus.SETTLED,
        actor=actor,
        reason=reason,
        final_outcome=final,
        settled_at=now,
        approved_by=resolution.approved_by,
        decided_by=resolution.decided_by,
        decided_at=resolution.decided_at,
        decision_reason=resolution.decision_reason,
    )
    approval = "; decision approved by the operator" if resolution.approved_by_id else ""
    market_status_set(
        market, MarketStatus.SETTLED, actor=actor, reason=f"Resolved {final}{approval}", now=now
    )


def _engine_window_over(resolution: Resolution, now: datetime) -> bool:
    """Whether the engine's dispute window of the proposal has passed too (the engine
    opened it when it applied the proposal, a little after the portal did)."""
    shard = shard_of(risk_group=resolution.market.risk_group_id)
    outcome = (
        Command.objects.idempotent(shard_id=shard.pk, account=0, key=_key(resolution, "propose"))
        .values_list("outcome", flat=True)
        .first()
    )
    for event in (outcome or {}).get("events", []):
        if event.get("type") == "ResolutionProposed":
            return int(now.timestamp() * 1000) >= int(event["dispute_until"])
    return False


def resolutions_settle_due(*, now: datetime | None = None) -> int:
    """Settles every undisputed proposal whose dispute window has lapsed (scheduled). Each
    in its own transaction; safe to run twice."""
    now = now or timezone.now()
    settled = 0
    due = Resolution.objects.filter(status=ResolutionStatus.PROPOSED, dispute_until__lte=now)
    for resolution in due.select_related("market").order_by("dispute_until", "pk"):
        if not _engine_window_over(resolution, now):
            continue
        with transaction.atomic():
            market = _locked_market(resolution.market)
            locked = _locked_resolution(market)
            if locked.status != ResolutionStatus.PROPOSED:
                continue
            _settle(market, locked, actor=None, reason="Dispute window lapsed", now=now)
            settled += 1
    return settled
