"""XIP services: drafting, submitting, editing, the editors' and operators' decisions, votes,
the discussion, and the scheduled moves (Last Call lapse, stagnation).

Every status change goes through `_transition`, which checks PROPOSAL_TRANSITIONS, records
the timeline entry and the audit entry (actor and reason) and emails the authors and
subscribers once the transaction commits. Services lock the proposal row first
(`select_for_update`) and re-check the status they read under the lock.

Who votes in Last Call: the members of the target group who may propose there
(`membership_allows(action="propose")`): approved KYC members in a regulated group, members
who accepted the terms in a permissionless one. One vote per member and round; a later vote
replaces the earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from engine.core.markets import BPS
from governance.memberships.services import membership_allows, membership_require
from governance.proposals.errors import ProposalError
from governance.risk_groups.models import RiskGroup
from governance.risk_groups.services import risk_group_create_from_xip
from markets.models import MarketChange
from markets.services import market_change_schedule_from_xip, market_list_from_xip
from xip_portal.audit import audit_record
from xip_portal.errors import ApplicationError, Conflict, ErrorCode, NotFound, PermissionDenied
from xip_portal.mail import mail_after_commit
from xip_portal.models import Institution, InstitutionMembership, StaffRole, User
from xip_portal.roles import has_role
from xip_portal.specs import SpecError
from xip_portal.state_machine import TransitionError, status_transition

from .bonds import BOND_ENDS, bond_lock_refusal, proposal_bond_follow, proposal_bond_settle
from .models import (
    PROPOSAL_TRANSITIONS,
    Proposal,
    ProposalComment,
    ProposalRevision,
    ProposalStatus,
    ProposalTransition,
    ProposalType,
    ProposalVote,
)
from .specs import proposal_spec_clean

S = ProposalStatus


# ---------------------------------------------------------------------------------------
# Who may do what


def is_author(user: Any, proposal: Proposal) -> bool:
    return bool(user.is_authenticated) and proposal.authors.filter(pk=user.pk).exists()


def is_editor(user: Any, risk_group: RiskGroup) -> bool:
    return has_role(user, StaffRole.XIP_EDITOR, risk_group)


def is_operator(user: Any, risk_group: RiskGroup) -> bool:
    return has_role(user, StaffRole.RISK_GROUP_OPERATOR, risk_group)


def _require_author(actor: User, proposal: Proposal, what: str) -> None:
    if not is_author(actor, proposal):
        raise PermissionDenied(f"Only the authors of {proposal.label} can {what}.")


def _require_editor(actor: User, proposal: Proposal, what: str) -> None:
    if not is_editor(actor, proposal.risk_group):
        raise PermissionDenied(
            f"Only XIP editors of {proposal.risk_group.name} can {what}.",
            code=ErrorCode.ROLE_REQUIRED,
        )


def _require_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            f"Say why you {what}.", code=ErrorCode.REASON_REQUIRED, fields={"reason": ["Required."]}
        )
    return reason


# ---------------------------------------------------------------------------------------
# Internals


def _locked(proposal: Proposal) -> Proposal:
    locked = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("risk_group", "institution")
        .filter(pk=proposal.pk)
        .first()
    )
    if locked is None:
        raise NotFound("There is no such proposal.")
    return locked


def _recipients(proposal: Proposal) -> list[str]:
    emails = User.objects.filter(
        Q(authored_proposals=proposal) | Q(subscribed_proposals=proposal)
    ).values_list("email", flat=True)
    return sorted(set(emails))


def _transition(
    proposal: Proposal, to_status: str, *, actor: User | None, reason: str, now: datetime
) -> ProposalTransition:
    """Moves a locked proposal to `to_status` (inside the caller's transaction) and emails
    its authors and subscribers."""
    step: ProposalTransition = status_transition(
        proposal,
        to_status,
        machine=PROPOSAL_TRANSITIONS,
        actor=actor,
        action=f"proposal.{to_status}",
        reason=reason,
        now=now,
        subject=proposal.label,
        changes={"last_activity_at": now},
    )
    from_status = step.from_status
    proposal_bond_follow(proposal, from_status=from_status, to_status=to_status, actor=actor)
    mail_after_commit(
        to=_recipients(proposal),
        template="email/xip_status",
        context={
            "proposal": proposal,
            "from_status": S(from_status).label,
            "to_status": S(to_status).label,
            "actor": actor,
            "reason": reason,
            "path": proposal.get_absolute_url(),
        },
    )
    return step


def _next_number() -> int:
    return (Proposal.objects.aggregate(top=Max("number"))["top"] or 0) + 1


def _assign_number(proposal: Proposal) -> None:
    """Gives a proposal the next XIP number. Two concurrent submissions may pick the same
    number: the unique constraint refuses the second, which retries with the next one."""
    for _attempt in range(10):
        proposal.number = _next_number()
        try:
            with transaction.atomic():
                Proposal.objects.filter(pk=proposal.pk).update(number=proposal.number)
            return
        except IntegrityError:
            continue
    raise Conflict("Could not assign an XIP number; try again.", code=ProposalError.NUMBER_BUSY)


def _snapshot(proposal: Proposal) -> dict[str, Any]:
    return {"title": proposal.title, "body": proposal.body, "spec": proposal.spec}


def _revision_add(
    proposal: Proposal, *, author: User, summary: str, normative: bool, now: datetime
) -> ProposalRevision:
    proposal.revision += 1
    return ProposalRevision.objects.create(
        proposal=proposal,
        number=proposal.revision,
        title=proposal.title,
        body=proposal.body,
        spec=proposal.spec,
        author=author,
        summary=summary[:300],
        normative=normative,
        created_at=now,
    )


def _check_institution(actor: User, institution: Institution | None) -> None:
    if (
        institution is not None
        and not InstitutionMembership.objects.filter(institution=institution, user=actor).exists()
    ):
        raise PermissionDenied(
            f"You are not a member of {institution.name}.",
            code=ErrorCode.NOT_INSTITUTION_MEMBER,
            fields={"institution": [f"You are not a member of {institution.name}."]},
        )


def _users_by_email(emails: Iterable[str]) -> list[User]:
    wanted = {email.strip().lower() for email in emails if email.strip()}
    users = list(User.objects.filter(email__in=wanted))
    unknown = sorted(wanted - {user.email for user in users})
    if unknown:
        raise ApplicationError(
            f"No user has the address {', '.join(unknown)}; ask them to sign up first.",
            code=ErrorCode.USER_NOT_FOUND,
            fields={"coauthors": [f"No account with {', '.join(unknown)}."]},
        )
    return users


def _title_clean(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ApplicationError("Give the XIP a title.", fields={"title": ["Required."]})
    if len(title) > 200:
        raise ApplicationError("The title is too long.", fields={"title": ["At most 200."]})
    return title


# Rendering markdown takes about 20 microseconds a character: the longest body stays a
# fraction of a second on every view of the page.
BODY_MAX_LENGTH = 50_000


def _body_clean(body: str) -> str:
    if len(body or "") > BODY_MAX_LENGTH:
        message = f"At most {BODY_MAX_LENGTH} characters."
        raise ApplicationError("The body is too long.", fields={"body": [message]})
    return body or ""


# ---------------------------------------------------------------------------------------
# Authors


def proposal_create(
    *,
    actor: User,
    title: str,
    proposal_type: str,
    risk_group: RiskGroup,
    institution: Institution | None = None,
    body: str = "",
    spec: dict[str, Any] | None = None,
    coauthor_emails: Iterable[str] = (),
    now: datetime | None = None,
) -> Proposal:
    """Creates a Draft by `actor` (its first author, subscribed to it) and the registered
    users named as co-authors. The spec must pass the checks of its type against the group's
    bounds; nothing is written otherwise."""
    now = now or timezone.now()
    title = _title_clean(title)
    body = _body_clean(body)
    if proposal_type not in ProposalType.values:
        raise ApplicationError(
            f"Unknown XIP type {proposal_type!r}.", fields={"proposal_type": ["Unknown type."]}
        )
    _check_institution(actor, institution)
    coauthors = _users_by_email(coauthor_emails)
    clean_spec = proposal_spec_clean(proposal_type, spec or {}, risk_group=risk_group, now=now)
    with transaction.atomic():
        proposal = Proposal.objects.create(
            title=title,
            proposal_type=proposal_type,
            risk_group=risk_group,
            institution=institution,
            created_by=actor,
            body=body,
            spec=clean_spec,
            last_activity_at=now,
        )
        proposal.authors.add(actor, *coauthors)
        proposal.subscribers.add(actor, *coauthors)
        ProposalTransition.objects.create(
            proposal=proposal, to_status=S.DRAFT, actor=actor, reason="drafted", created_at=now
        )
        audit_record(
            actor=actor,
            action="proposal.create",
            obj=proposal,
            new={
                "title": title,
                "type": proposal_type,
                "risk_group": risk_group.slug,
                "institution": institution.slug if institution else None,
                "coauthors": sorted(user.email for user in coauthors),
            },
        )
    return proposal


def proposal_update(
    *,
    actor: User,
    proposal: Proposal,
    title: str,
    body: str,
    spec: dict[str, Any],
    summary: str = "",
    normative: bool = False,
    now: datetime | None = None,
) -> Proposal:
    """An author's edit. A Draft that was never submitted is simply changed; after
    submission each edit is a revision. A normative edit (the spec changes, or the author
    says so) during Last Call sends the proposal back to Review."""
    now = now or timezone.now()
    title = _title_clean(title)
    body = _body_clean(body)
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_author(actor, proposal, "edit it")
        if not proposal.can_edit():
            raise TransitionError(
                f"{proposal.label} is {proposal.get_status_display()}; it can not be edited.",
                code=ErrorCode.NOT_EDITABLE,
            )
        clean_spec = proposal_spec_clean(
            proposal.proposal_type, spec, risk_group=proposal.risk_group, now=now
        )
        before = _snapshot(proposal)
        proposal.title, proposal.body, proposal.spec = title, body, clean_spec
        after = _snapshot(proposal)
        if before == after:
            return proposal
        normative = normative or before["spec"] != after["spec"]
        proposal.last_activity_at = now
        if proposal.number is not None:
            _revision_add(proposal, author=actor, summary=summary, normative=normative, now=now)
        proposal.save()
        audit_record(
            actor=actor,
            action="proposal.edit",
            obj=proposal,
            old=before,
            new=after,
            reason=summary or ("normative edit" if normative else "editorial edit"),
        )
        if proposal.status == S.LAST_CALL and normative:
            _transition(
                proposal,
                S.REVIEW,
                actor=actor,
                reason=f"Normative edit in Last Call (revision {proposal.revision})"
                + (f": {summary}" if summary else ""),
                now=now,
            )
    return proposal


def proposal_submit(*, actor: User, proposal: Proposal, now: datetime | None = None) -> Proposal:
    """Draft → Review. The spec must pass again (bounds and listed symbols may have moved);
    in a regulated group the proposal needs an institution that is a verified member and an
    author who belongs to it. A permissionless group's bond is recorded as required. The
    first submission assigns the XIP number and revision 1."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_author(actor, proposal, "submit it")
        PROPOSAL_TRANSITIONS.check(proposal.status, S.REVIEW, subject=proposal.label)
        group = proposal.risk_group
        proposal.spec = proposal_spec_clean(
            proposal.proposal_type, proposal.spec, risk_group=group, now=now
        )
        if group.is_regulated:
            if proposal.institution is None:
                raise PermissionDenied(
                    f"{group.name} is KYC-regulated: submit on behalf of a verified institution.",
                    code=ProposalError.INSTITUTION_REQUIRED,
                    fields={"institution": ["Required in a KYC-regulated group."]},
                )
            membership_require(
                user=actor, risk_group=group, action="propose", institution=proposal.institution
            )
        elif group.proposal_bond_amount > 0:
            proposal.bond_amount = group.proposal_bond_amount
            proposal.bond_asset = group.proposal_bond_asset
        if proposal.number is None:
            _assign_number(proposal)
        if proposal.revision == 0:
            _revision_add(proposal, author=actor, summary="Submitted", normative=True, now=now)
        _transition(proposal, S.REVIEW, actor=actor, reason="submitted for review", now=now)
    return proposal


def proposal_withdraw(
    *, actor: User, proposal: Proposal, reason: str = "", now: datetime | None = None
) -> Proposal:
    """An author withdraws the proposal (Draft, Review or Last Call). Final for good."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_author(actor, proposal, "withdraw it")
        _transition(
            proposal, S.WITHDRAWN, actor=actor, reason=reason.strip() or "withdrawn", now=now
        )
    return proposal


def proposal_revive(
    *, actor: User, proposal: Proposal, reason: str = "", now: datetime | None = None
) -> Proposal:
    """An author brings a Stagnant proposal back to Draft."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_author(actor, proposal, "revive it")
        _transition(proposal, S.DRAFT, actor=actor, reason=reason.strip() or "revived", now=now)
    return proposal


def proposal_subscribe(*, actor: User, proposal: Proposal, subscribed: bool) -> None:
    """Starts or stops the emails about this proposal for `actor`."""
    if subscribed:
        proposal.subscribers.add(actor)
    else:
        proposal.subscribers.remove(actor)


# ---------------------------------------------------------------------------------------
# Editors and operators


def proposal_last_call_start(
    *, actor: User, proposal: Proposal, reason: str = "", now: datetime | None = None
) -> Proposal:
    """Review → Last Call by an XIP editor of the group. The window is the group's
    `last_call_minutes`; a new round of votes starts."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_editor(actor, proposal, "move it to Last Call")
        PROPOSAL_TRANSITIONS.check(proposal.status, S.LAST_CALL, subject=proposal.label)
        proposal_spec_clean(
            proposal.proposal_type, proposal.spec, risk_group=proposal.risk_group, now=now
        )
        proposal.last_call_round += 1
        proposal.last_call_started_at = now
        proposal.last_call_ends_at = now + timedelta(minutes=proposal.risk_group.last_call_minutes)
        proposal.operator_approved_by = None
        proposal.operator_approved_at = None
        _transition(
            proposal,
            S.LAST_CALL,
            actor=actor,
            reason=reason.strip()
            or f"Last Call until {proposal.last_call_ends_at:%Y-%m-%d %H:%M} UTC",
            now=now,
        )
    return proposal


def proposal_send_back(
    *, actor: User, proposal: Proposal, reason: str, now: datetime | None = None
) -> Proposal:
    """An editor sends the proposal back a step (Review → Draft, Last Call → Review) with a
    comment, which joins the discussion as an editor's note."""
    now = now or timezone.now()
    reason = _require_reason(reason, "send it back")
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_editor(actor, proposal, "send it back")
        if not proposal.can_send_back():
            raise TransitionError(
                f"{proposal.label} is {proposal.get_status_display()}: only proposals in Review "
                "or Last Call can be sent back."
            )
        target = S.DRAFT if proposal.status == S.REVIEW else S.REVIEW
        ProposalComment.objects.create(
            proposal=proposal,
            author=actor,
            kind=ProposalComment.Kind.EDITOR,
            body=reason,
            created_at=now,
        )
        _transition(proposal, target, actor=actor, reason=reason, now=now)
    return proposal


def proposal_reject(
    *, actor: User, proposal: Proposal, reason: str, now: datetime | None = None
) -> Proposal:
    """An editor rejects the proposal (Review or Last Call), saying why."""
    now = now or timezone.now()
    reason = _require_reason(reason, "reject it")
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_editor(actor, proposal, "reject it")
        _transition(proposal, S.REJECTED, actor=actor, reason=reason, now=now)
    return proposal


def proposal_objection_uphold(
    *, actor: User, comment: ProposalComment, reason: str = "", now: datetime | None = None
) -> Proposal:
    """An editor upholds an objection raised in Last Call: it is marked upheld and the
    proposal goes back to Review, so the authors can address it."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = _locked(comment.proposal)
        _require_editor(actor, proposal, "uphold an objection")
        comment = ProposalComment.objects.select_for_update().get(pk=comment.pk)
        if comment.kind != ProposalComment.Kind.OBJECTION:
            raise ApplicationError(
                "Only objections can be upheld.", code=ProposalError.NOT_AN_OBJECTION
            )
        if comment.upheld_at is not None:
            raise Conflict("This objection is already upheld.", code=ProposalError.ALREADY_UPHELD)
        PROPOSAL_TRANSITIONS.check(proposal.status, S.REVIEW, subject=proposal.label)
        if proposal.status != S.LAST_CALL:
            raise TransitionError(f"{proposal.label} is not in Last Call.")
        comment.upheld_by, comment.upheld_at = actor, now
        comment.save(update_fields=["upheld_by", "upheld_at"])
        why = reason.strip() or "objection upheld"
        _transition(
            proposal,
            S.REVIEW,
            actor=actor,
            reason=f"{why} (objection by {comment.author})",
            now=now,
        )
    return proposal


def proposal_operator_approve(
    *, actor: User, proposal: Proposal, reason: str = "", now: datetime | None = None
) -> Proposal:
    """The group's operator approves a proposal in Last Call (groups that require it). If
    the window has already lapsed cleanly, the proposal goes Final at once."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = _locked(proposal)
        if not is_operator(actor, proposal.risk_group):
            raise PermissionDenied(
                f"Only operators of {proposal.risk_group.name} can approve.",
                code=ErrorCode.ROLE_REQUIRED,
            )
        if proposal.status != S.LAST_CALL:
            raise TransitionError(
                f"{proposal.label} is {proposal.get_status_display()}, not in Last Call."
            )
        if proposal.operator_approved_at is not None:
            raise Conflict(
                "The operator has already approved it.", code=ProposalError.ALREADY_APPROVED
            )
        proposal.operator_approved_by, proposal.operator_approved_at = actor, now
        proposal.save(update_fields=["operator_approved_by", "operator_approved_at"])
        audit_record(
            actor=actor,
            action="proposal.operator_approve",
            obj=proposal,
            new={"operator_approved": True},
            reason=reason.strip() or "approved by the operator",
        )
        if proposal.last_call_ends_at is not None and proposal.last_call_ends_at <= now:
            _last_call_conclude_locked(proposal, now=now)
    return proposal


# ---------------------------------------------------------------------------------------
# Votes and discussion


@dataclass(frozen=True)
class VoteTally:
    votes_for: int
    votes_against: int
    quorum: int
    threshold_bps: int

    @property
    def cast(self) -> int:
        return self.votes_for + self.votes_against

    @property
    def quorate(self) -> bool:
        return self.cast > 0 and self.cast >= self.quorum

    @property
    def against_bps(self) -> int:
        return self.votes_against * BPS // self.cast if self.cast else 0

    @property
    def rejects(self) -> bool:
        """A quorate vote whose share against reaches the threshold rejects."""
        return self.quorate and self.votes_against * BPS >= self.threshold_bps * self.cast


def vote_tally(proposal: Proposal) -> VoteTally:
    """The votes of the current (or last) Last Call round."""
    votes = ProposalVote.objects.filter(proposal=proposal, round=proposal.last_call_round)
    counts = dict.fromkeys(ProposalVote.Choice.values, 0)
    for choice in votes.values_list("choice", flat=True):
        counts[choice] += 1
    group = proposal.risk_group
    return VoteTally(
        votes_for=counts[ProposalVote.Choice.FOR],
        votes_against=counts[ProposalVote.Choice.AGAINST],
        quorum=group.vote_quorum,
        threshold_bps=group.vote_threshold_bps,
    )


def proposal_vote(
    *, actor: User, proposal: Proposal, choice: str, now: datetime | None = None
) -> ProposalVote:
    """A member votes for or against during Last Call (before the window ends)."""
    now = now or timezone.now()
    if choice not in ProposalVote.Choice.values:
        raise ApplicationError(
            "Vote for or against.",
            code=ProposalError.INVALID_CHOICE,
            fields={"choice": ["for or against"]},
        )
    with transaction.atomic():
        proposal = _locked(proposal)
        if proposal.status != S.LAST_CALL:
            raise TransitionError(
                f"{proposal.label} is {proposal.get_status_display()}: votes are cast in "
                "Last Call only.",
                code=ProposalError.NOT_IN_LAST_CALL,
            )
        if proposal.last_call_ends_at is not None and now >= proposal.last_call_ends_at:
            raise Conflict("The Last Call window has ended.", code=ProposalError.LAST_CALL_OVER)
        if not membership_allows(user=actor, risk_group=proposal.risk_group, action="propose"):
            raise PermissionDenied(
                f"Only members of {proposal.risk_group.name} vote on its proposals.",
                code=ProposalError.NOT_A_MEMBER,
            )
        vote = ProposalVote.objects.filter(
            proposal=proposal, voter=actor, round=proposal.last_call_round
        ).first()
        old = {"choice": vote.choice} if vote else {}
        if vote is None:
            vote = ProposalVote.objects.create(
                proposal=proposal,
                voter=actor,
                round=proposal.last_call_round,
                choice=choice,
                created_at=now,
                updated_at=now,
            )
        elif vote.choice != choice:
            vote.choice, vote.updated_at = choice, now
            vote.save(update_fields=["choice", "updated_at"])
        audit_record(
            actor=actor,
            action="proposal.vote",
            obj=proposal,
            old=old,
            new={"choice": choice},
            reason=f"round {proposal.last_call_round}",
        )
        Proposal.objects.filter(pk=proposal.pk).update(last_activity_at=now)
    return vote


def proposal_comment_add(
    *,
    actor: User,
    proposal: Proposal,
    body: str,
    kind: str = ProposalComment.Kind.COMMENT,
    now: datetime | None = None,
) -> ProposalComment:
    """Adds to the discussion; an objection is possible in Last Call only. The commenter is
    subscribed; the authors and subscribers get an email."""
    now = now or timezone.now()
    body = (body or "").strip()
    if not body:
        raise ApplicationError("Write something first.", fields={"body": ["Required."]})
    if len(body) > 20_000:
        raise ApplicationError("That is too long.", fields={"body": ["At most 20000."]})
    if kind not in (ProposalComment.Kind.COMMENT, ProposalComment.Kind.OBJECTION):
        raise ApplicationError("Comment or objection.", fields={"kind": ["Unknown kind."]})
    with transaction.atomic():
        proposal = _locked(proposal)
        if kind == ProposalComment.Kind.OBJECTION and proposal.status != S.LAST_CALL:
            raise TransitionError(
                f"{proposal.label} is {proposal.get_status_display()}: objections are raised "
                "in Last Call.",
                code=ProposalError.NOT_IN_LAST_CALL,
            )
        comment = ProposalComment.objects.create(
            proposal=proposal, author=actor, kind=kind, body=body, created_at=now
        )
        proposal.subscribers.add(actor)
        Proposal.objects.filter(pk=proposal.pk).update(last_activity_at=now)
        audit_record(
            actor=actor, action=f"proposal.{kind}", obj=proposal, new={"comment": comment.pk}
        )
        mail_after_commit(
            to=[email for email in _recipients(proposal) if email != actor.email],
            template="email/xip_comment",
            context={
                "proposal": proposal,
                "comment": comment,
                "path": proposal.get_absolute_url(),
            },
        )
    return comment


# ---------------------------------------------------------------------------------------
# Scheduled moves


# What a Final XIP changes in the market registry.
MARKET_CHANGE_KINDS = {
    ProposalType.PARAMETER_CHANGE: MarketChange.Kind.PARAMETERS,
    ProposalType.DELISTING: MarketChange.Kind.DELISTING,
}


def _finalize(proposal: Proposal, *, actor: User | None, reason: str, now: datetime) -> None:
    proposal.final_at = now
    _transition(proposal, S.FINAL, actor=actor, reason=reason, now=now)
    if proposal.proposal_type == ProposalType.MARKET:
        market_list_from_xip(proposal=proposal, now=now)
    elif proposal.proposal_type in MARKET_CHANGE_KINDS:
        market_change_schedule_from_xip(
            proposal=proposal, kind=MARKET_CHANGE_KINDS[ProposalType(proposal.proposal_type)]
        )
    elif proposal.proposal_type == ProposalType.RISK_GROUP:
        risk_group_create_from_xip(spec=proposal.spec, xip_label=proposal.label)


def _last_call_conclude_locked(proposal: Proposal, *, now: datetime) -> str:
    """Decides a lapsed Last Call: a rejecting vote rejects; an upheld objection of this
    round sends it back to Review; a missing operator approval (where required) waits; a
    spec that no longer passes (its symbol listed meanwhile, its times past) goes back to
    Review; otherwise it goes Final. Returns what happened."""
    if proposal.status != S.LAST_CALL or proposal.last_call_ends_at is None:
        return "not_in_last_call"
    if now < proposal.last_call_ends_at:
        return "window_open"
    tally = vote_tally(proposal)
    if tally.rejects:
        _transition(
            proposal,
            S.REJECTED,
            actor=None,
            reason=f"Rejected by vote: {tally.votes_against} against, {tally.votes_for} for "
            f"(quorum {tally.quorum}, threshold {tally.threshold_bps} bps)",
            now=now,
        )
        return "rejected"
    upheld = ProposalComment.objects.filter(
        proposal=proposal,
        kind=ProposalComment.Kind.OBJECTION,
        upheld_at__gte=proposal.last_call_started_at,
    ).exists()
    if upheld:
        _transition(proposal, S.REVIEW, actor=None, reason="objection upheld", now=now)
        return "review"
    if proposal.risk_group.operator_approval_required and proposal.operator_approved_at is None:
        return "awaiting_operator"
    try:
        # A symbol listed meanwhile or a time now past would make the Final effect fail.
        proposal.spec = proposal_spec_clean(
            proposal.proposal_type, proposal.spec, risk_group=proposal.risk_group, now=now
        )
    except SpecError as exc:
        problems = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in exc.fields.items())
        _transition(
            proposal,
            S.REVIEW,
            actor=None,
            reason=f"The spec no longer passes its checks ({problems})",
            now=now,
        )
        return "review"
    approval = " with the operator's approval" if proposal.operator_approved_at else ""
    _finalize(
        proposal,
        actor=None,
        reason=f"Last Call lapsed without an upheld objection or a rejecting vote{approval}",
        now=now,
    )
    return "final"


def proposal_last_call_conclude(*, proposal: Proposal, now: datetime | None = None) -> str:
    """Concludes one proposal's Last Call if its window has lapsed (see
    `_last_call_conclude_locked`). Safe to run twice: the second run finds it concluded."""
    now = now or timezone.now()
    with transaction.atomic():
        return _last_call_conclude_locked(_locked(proposal), now=now)


def proposals_last_call_conclude_due(*, now: datetime | None = None) -> dict[str, int]:
    """Concludes every lapsed Last Call, each in its own transaction (the beat task)."""
    now = now or timezone.now()
    due = Proposal.objects.filter(status=S.LAST_CALL, last_call_ends_at__lte=now).order_by("pk")
    outcomes: dict[str, int] = {}
    for proposal in due:
        outcome = proposal_last_call_conclude(proposal=proposal, now=now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def proposals_mark_stagnant(*, now: datetime | None = None) -> int:
    """Draft and Review proposals without activity for their group's `stagnant_after_days`
    become Stagnant. Returns how many."""
    now = now or timezone.now()
    candidates = (
        Proposal.objects.filter(status__in=[S.DRAFT, S.REVIEW])
        .select_related("risk_group")
        .order_by("pk")
    )
    count = 0
    for candidate in candidates:
        limit = now - timedelta(days=candidate.risk_group.stagnant_after_days)
        if candidate.last_activity_at > limit:
            continue
        with transaction.atomic():
            proposal = _locked(candidate)
            if proposal.status in (S.DRAFT, S.REVIEW) and proposal.last_activity_at <= limit:
                _transition(
                    proposal,
                    S.STAGNANT,
                    actor=None,
                    reason=f"No activity for {proposal.risk_group.stagnant_after_days} days",
                    now=now,
                )
                count += 1
    return count


# an XIP that ended this long ago has had its bond settled (its lock applied long before)
BOND_SETTLE_DAYS = 7


def proposals_bonds_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """The bond sweep of permissionless groups. An XIP in Review or Last Call whose bond
    lock the engine refused goes back to Draft, saying why (audited, authors emailed); its
    next submission locks the bond again. An XIP that ended while its lock was still
    pending has its bond returned or forfeited once the lock applied. Returns how many of
    each. Safe to run concurrently: rows are locked and re-checked."""
    now = now or timezone.now()
    done = {"sent_back": 0, "settled": 0}
    bonded = Proposal.objects.filter(
        bond_amount__gt=0, risk_group__kind=RiskGroup.Kind.PERMISSIONLESS
    ).order_by("pk")
    for candidate in bonded.filter(status__in=[S.REVIEW, S.LAST_CALL]):
        if bond_lock_refusal(candidate) is None:
            continue
        with transaction.atomic():
            proposal = _locked(candidate)
            refusal = bond_lock_refusal(proposal)
            if proposal.status not in (S.REVIEW, S.LAST_CALL) or refusal is None:
                continue
            reason = (
                f"The engine refused to lock the bond ({refusal}): fund your account in "
                f"{proposal.risk_group.name} and submit again"
            )
            if proposal.status == S.LAST_CALL:
                _transition(proposal, S.REVIEW, actor=None, reason=reason, now=now)
            _transition(proposal, S.DRAFT, actor=None, reason=reason, now=now)
            done["sent_back"] += 1
    ended = bonded.filter(
        status__in=BOND_ENDS, last_activity_at__gte=now - timedelta(days=BOND_SETTLE_DAYS)
    ).select_related("risk_group")
    for proposal in ended:
        with transaction.atomic():
            done["settled"] += proposal_bond_settle(proposal)
    return done
