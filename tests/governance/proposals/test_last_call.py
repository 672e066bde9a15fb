"""Last Call: votes, objections, operator approval, and the lapse with the clock moved."""

from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from governance.proposals.models import Proposal, ProposalComment, ProposalStatus, ProposalVote
from governance.proposals.services import (
    proposal_comment_add,
    proposal_last_call_start,
    proposal_objection_uphold,
    proposal_operator_approve,
    proposal_vote,
    proposals_last_call_conclude_due,
    vote_tally,
)
from governance.risk_groups.models import RiskGroup
from markets.models import Market, MarketStatus
from tests.factories import UserFactory
from tests.markets.factories import member_create, prediction_spec, proposal_make
from xip_portal.errors import Conflict, PermissionDenied
from xip_portal.models import AuditEntry, StaffRole, User
from xip_portal.state_machine import TransitionError

S = ProposalStatus
pytestmark = pytest.mark.django_db


def in_last_call(group: RiskGroup, editor: User, **fields: object) -> Proposal:
    proposal = proposal_make(group=group, status=S.REVIEW, **fields)
    proposal_last_call_start(actor=editor, proposal=proposal)
    proposal.refresh_from_db()
    return proposal


def votes(proposal: Proposal, *, against: int = 0, in_favour: int = 0) -> None:
    for choice, count in (("against", against), ("for", in_favour)):
        for _ in range(count):
            proposal_vote(
                actor=member_create(proposal.risk_group), proposal=proposal, choice=choice
            )


# --- Votes ---------------------------------------------------------------------------------


def test_members_vote_once_per_round_and_may_change_their_vote(
    open_group: RiskGroup, editor: User
) -> None:
    proposal = in_last_call(open_group, editor)
    member = member_create(open_group)

    proposal_vote(actor=member, proposal=proposal, choice="against")
    proposal_vote(actor=member, proposal=proposal, choice="for")

    [vote] = ProposalVote.objects.filter(proposal=proposal)
    assert (vote.voter, vote.choice, vote.round) == (member, "for", 1)
    tally = vote_tally(proposal)
    assert (tally.votes_for, tally.votes_against) == (1, 0)
    assert AuditEntry.objects.filter(action="proposal.vote", actor=member).count() == 2


def test_only_members_vote(open_group: RiskGroup, editor: User) -> None:
    proposal = in_last_call(open_group, editor)

    with pytest.raises(PermissionDenied) as caught:
        proposal_vote(actor=UserFactory(), proposal=proposal, choice="against")

    assert caught.value.code == "not_a_member"
    assert not ProposalVote.objects.exists()


def test_votes_are_cast_in_last_call_only(open_group: RiskGroup, editor: User) -> None:
    in_review = proposal_make(group=open_group, status=S.REVIEW)
    lapsed = in_last_call(open_group, editor)
    member = member_create(open_group)

    with pytest.raises(TransitionError) as not_yet:
        proposal_vote(actor=member, proposal=in_review, choice="for")
    with pytest.raises(Conflict) as too_late:
        proposal_vote(
            actor=member,
            proposal=lapsed,
            choice="for",
            now=lapsed.last_call_ends_at + timedelta(seconds=1),  # type: ignore[operator]
        )

    assert not_yet.value.code == "not_in_last_call"
    assert too_late.value.code == "last_call_over"


def test_a_vote_must_be_for_or_against(open_group: RiskGroup, editor: User) -> None:
    proposal = in_last_call(open_group, editor)

    with pytest.raises(Exception) as caught:  # noqa: PT011 - ApplicationError with a field
        proposal_vote(actor=member_create(open_group), proposal=proposal, choice="maybe")

    assert getattr(caught.value, "fields", {}) == {"choice": ["for or against"]}


@pytest.mark.parametrize(
    ("against", "in_favour", "outcome"),
    [
        (2, 0, S.FINAL),  # below the quorum of 3: the vote does not count
        (2, 1, S.REJECTED),  # quorate, 67% against >= 50%
        (2, 2, S.REJECTED),  # quorate, exactly the 50% threshold
        (1, 3, S.FINAL),  # quorate, 25% against
        (0, 0, S.FINAL),  # nobody voted
    ],
)
def test_vote_rules_at_the_lapse(
    open_group: RiskGroup, editor: User, against: int, in_favour: int, outcome: str
) -> None:
    proposal = in_last_call(open_group, editor)
    votes(proposal, against=against, in_favour=in_favour)

    with time_machine.travel(proposal.last_call_ends_at + timedelta(minutes=1), tick=False):  # type: ignore[operator]
        proposals_last_call_conclude_due()

    proposal.refresh_from_db()
    assert proposal.status == outcome
    assert Market.objects.filter(xip=proposal).exists() == (outcome == S.FINAL)


# --- The lapse -----------------------------------------------------------------------------


def test_a_permissionless_last_call_goes_final_by_itself_and_lists_the_market(
    open_group: RiskGroup, editor: User
) -> None:
    proposal = in_last_call(open_group, editor, spec=prediction_spec())
    ends_at = proposal.last_call_ends_at
    assert ends_at is not None

    with time_machine.travel(ends_at - timedelta(minutes=1), tick=False):
        assert proposals_last_call_conclude_due() == {}
    proposal.refresh_from_db()
    assert proposal.status == S.LAST_CALL

    with time_machine.travel(ends_at + timedelta(minutes=1), tick=False):
        assert proposals_last_call_conclude_due() == {"final": 1}

    proposal.refresh_from_db()
    assert proposal.status == S.FINAL
    step = proposal.transitions.last()
    assert step is not None and step.actor is None
    assert "lapsed" in step.reason
    market = Market.objects.get(xip=proposal)
    assert (market.symbol, market.status) == ("WC26-WINNER", MarketStatus.APPROVED)
    assert market.outcomes == ["Argentina", "Brazil", "France"]


def test_a_regulated_group_waits_for_its_operator(
    regulated_group: RiskGroup, make_staff: Callable[..., User]
) -> None:
    editor = make_staff(StaffRole.XIP_EDITOR, regulated_group)
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, regulated_group)
    proposal = in_last_call(regulated_group, editor)
    after = proposal.last_call_ends_at + timedelta(hours=1)  # type: ignore[operator]

    with time_machine.travel(after, tick=False):
        assert proposals_last_call_conclude_due() == {"awaiting_operator": 1}
        proposal.refresh_from_db()
        assert proposal.status == S.LAST_CALL
        with pytest.raises(PermissionDenied):
            proposal_operator_approve(actor=editor, proposal=proposal)
        proposal_operator_approve(actor=operator, proposal=proposal, reason="Risk reviewed")

    proposal.refresh_from_db()
    assert proposal.status == S.FINAL
    assert proposal.operator_approved_by == operator
    assert Market.objects.filter(xip=proposal).exists()
    assert AuditEntry.objects.filter(
        action="proposal.operator_approve", actor=operator, reason="Risk reviewed"
    ).exists()


def test_an_operator_approval_given_early_lets_the_lapse_go_final(
    regulated_group: RiskGroup, make_staff: Callable[..., User]
) -> None:
    editor = make_staff(StaffRole.XIP_EDITOR, regulated_group)
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, regulated_group)
    proposal = in_last_call(regulated_group, editor)

    proposal_operator_approve(actor=operator, proposal=proposal)
    proposal.refresh_from_db()
    assert proposal.status == S.LAST_CALL  # the window still runs
    with time_machine.travel(proposal.last_call_ends_at + timedelta(minutes=1), tick=False):  # type: ignore[operator]
        proposals_last_call_conclude_due()

    proposal.refresh_from_db()
    assert proposal.status == S.FINAL


def test_a_rejecting_vote_beats_the_operators_approval(
    regulated_group: RiskGroup, make_staff: Callable[..., User]
) -> None:
    editor = make_staff(StaffRole.XIP_EDITOR, regulated_group)
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, regulated_group)
    proposal = in_last_call(regulated_group, editor)
    votes(proposal, against=2)
    proposal_operator_approve(actor=operator, proposal=proposal)

    with time_machine.travel(proposal.last_call_ends_at + timedelta(minutes=1), tick=False):  # type: ignore[operator]
        proposals_last_call_conclude_due()

    proposal.refresh_from_db()
    assert proposal.status == S.REJECTED
    assert "Rejected by vote: 2 against" in proposal.transitions.last().reason  # type: ignore[union-attr]


def test_the_lapse_task_run_twice_lists_once(open_group: RiskGroup, editor: User) -> None:
    proposal = in_last_call(open_group, editor)
    after = proposal.last_call_ends_at + timedelta(minutes=1)  # type: ignore[operator]

    first = proposals_last_call_conclude_due(now=after)
    second = proposals_last_call_conclude_due(now=after + timedelta(minutes=5))

    assert (first, second) == ({"final": 1}, {})
    assert Market.objects.filter(xip=proposal).count() == 1
    assert AuditEntry.objects.filter(action="proposal.final").count() == 1


# --- Objections ----------------------------------------------------------------------------


def test_an_upheld_objection_sends_the_proposal_back_to_review(
    open_group: RiskGroup, editor: User
) -> None:
    proposal = in_last_call(open_group, editor)
    objector = member_create(open_group)
    objection = proposal_comment_add(
        actor=objector, proposal=proposal, body="The oracle is a single source.", kind="objection"
    )

    with pytest.raises(PermissionDenied):
        proposal_objection_uphold(actor=proposal.created_by, comment=objection)
    proposal_objection_uphold(actor=editor, comment=objection, reason="Valid concern")

    proposal.refresh_from_db()
    objection.refresh_from_db()
    assert proposal.status == S.REVIEW
    assert objection.upheld_by == editor
    with pytest.raises(Conflict):
        proposal_objection_uphold(actor=editor, comment=objection)


def test_objections_are_raised_in_last_call_only(open_group: RiskGroup) -> None:
    proposal = proposal_make(group=open_group, status=S.REVIEW)

    with pytest.raises(TransitionError, match="objections are raised in Last Call"):
        proposal_comment_add(actor=UserFactory(), proposal=proposal, body="No", kind="objection")

    assert not ProposalComment.objects.exists()


def test_an_objection_not_upheld_does_not_block_the_lapse(
    open_group: RiskGroup, editor: User
) -> None:
    proposal = in_last_call(open_group, editor)
    proposal_comment_add(
        actor=member_create(open_group), proposal=proposal, body="I dislike it", kind="objection"
    )

    proposals_last_call_conclude_due(now=timezone.now() + timedelta(days=4))

    proposal.refresh_from_db()
    assert proposal.status == S.FINAL


def test_a_new_last_call_round_starts_the_votes_afresh(open_group: RiskGroup, editor: User) -> None:
    proposal = in_last_call(open_group, editor)
    votes(proposal, against=3)
    from governance.proposals.services import proposal_send_back

    proposal_send_back(actor=editor, proposal=proposal, reason="Rework the fees")
    proposal_last_call_start(actor=editor, proposal=proposal)
    proposal.refresh_from_db()

    assert proposal.last_call_round == 2
    assert vote_tally(proposal).cast == 0
    proposals_last_call_conclude_due(now=timezone.now() + timedelta(days=4))
    proposal.refresh_from_db()
    assert proposal.status == S.FINAL


def test_a_spec_that_stopped_passing_goes_back_to_review_at_the_lapse(
    open_group: RiskGroup, editor: User
) -> None:
    first = in_last_call(open_group, editor)
    second = in_last_call(open_group, editor)  # the same symbol, BTC-USDC
    after = second.last_call_ends_at + timedelta(minutes=1)  # type: ignore[operator]

    outcomes = proposals_last_call_conclude_due(now=after)

    first.refresh_from_db()
    second.refresh_from_db()
    assert outcomes == {"final": 1, "review": 1}
    assert (first.status, second.status) == (S.FINAL, S.REVIEW)
    assert "BTC-USDC is already a listed market" in second.transitions.last().reason  # type: ignore[union-attr]
    assert Market.objects.get().xip == first


def test_a_final_risk_group_xip_creates_the_group(open_group: RiskGroup, editor: User) -> None:
    spec = {
        "name": "Asia Open",
        "slug": "asia-open",
        "kind": "permissionless",
        "description": "Open markets for Asian hours.",
        "last_call_hours": 48,
        "vote_quorum": 5,
        "vote_threshold_bps": 6000,
        "stagnant_after_days": 60,
        "proposal_bond_amount": "100",
        "proposal_bond_asset": "USDC",
    }
    proposal = in_last_call(open_group, editor, proposal_type="risk_group", spec=spec)

    proposals_last_call_conclude_due(now=proposal.last_call_ends_at + timedelta(minutes=1))  # type: ignore[operator]

    group = RiskGroup.objects.get(slug="asia-open")
    assert (group.kind, group.last_call_hours, group.vote_quorum) == ("permissionless", 48, 5)
    assert str(group.proposal_bond_amount) == "100.000000"
    assert AuditEntry.objects.filter(action="risk_group.create", object_id=str(group.pk)).exists()
