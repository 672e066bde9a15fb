"""Each XIP transition and each refusal: wrong status, wrong role, failing spec."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from governance.memberships.services import MembershipRequired
from governance.proposals.models import (
    Proposal,
    ProposalComment,
    ProposalRevision,
    ProposalStatus,
    ProposalTransition,
)
from governance.proposals.services import (
    proposal_create,
    proposal_last_call_start,
    proposal_reject,
    proposal_revive,
    proposal_send_back,
    proposal_submit,
    proposal_update,
    proposal_withdraw,
    proposals_mark_stagnant,
)
from governance.risk_groups.models import RiskGroup
from tests.factories import InstitutionFactory, InstitutionMembershipFactory, UserFactory
from tests.governance.factories import MembershipFactory
from tests.markets.factories import member_create, proposal_make, spot_spec
from xip_portal.errors import ApplicationError, PermissionDenied
from xip_portal.models import AuditEntry, StaffRole, User
from xip_portal.specs import SpecError
from xip_portal.state_machine import TransitionError

S = ProposalStatus
pytestmark = pytest.mark.django_db


def audit_of(proposal: Proposal, action: str) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            object_type="governance.proposal", object_id=str(proposal.pk), action=action
        )
    )


# --- Drafting ------------------------------------------------------------------------------


def test_a_member_drafts_a_market_xip(open_group: RiskGroup) -> None:
    author = member_create(open_group)

    proposal = proposal_create(
        actor=author,
        title="List BTC-USDC",
        proposal_type="market",
        risk_group=open_group,
        body="Why *BTC*.",
        spec=spot_spec(tick="0.0100", symbol="btc-usdc"),
    )

    assert proposal.status == S.DRAFT
    assert proposal.number is None
    assert list(proposal.authors.all()) == [author]
    assert proposal.spec["tick"] == "0.01"
    assert proposal.spec["symbol"] == "BTC-USDC"
    [entry] = audit_of(proposal, "proposal.create")
    assert entry.actor == author


def test_a_failing_spec_names_each_field_and_writes_nothing(open_group: RiskGroup) -> None:
    author = member_create(open_group)
    bad = spot_spec(tick="1000", lot="abc", maker_fee_bps=999, base_asset="DOGE", min_size=0.5)

    with pytest.raises(SpecError) as caught:
        proposal_create(
            actor=author, title="Bad", proposal_type="market", risk_group=open_group, spec=bad
        )

    fields = caught.value.fields
    assert set(fields) == {"tick", "lot", "maker_fee_bps", "base_asset", "min_size"}
    assert "100" in fields["tick"][0]  # the group's max tick
    assert "DOGE is not a registered asset" in fields["base_asset"][0]
    assert "never as floats" in fields["min_size"][0]
    assert not Proposal.objects.exists()
    assert not AuditEntry.objects.filter(action="proposal.create").exists()


def test_drafting_for_an_institution_needs_its_membership(open_group: RiskGroup) -> None:
    outsider, institution = UserFactory(), InstitutionFactory()

    with pytest.raises(PermissionDenied) as caught:
        proposal_create(
            actor=outsider,
            title="For them",
            proposal_type="process",
            risk_group=open_group,
            institution=institution,
        )

    assert caught.value.fields == {"institution": [f"You are not a member of {institution.name}."]}


# --- Submission ----------------------------------------------------------------------------


def test_submission_numbers_the_xip_records_the_bond_and_emails_the_authors(
    open_group: RiskGroup, django_capture_on_commit_callbacks: Any
) -> None:
    first = proposal_make(group=open_group, spec=spot_spec(symbol="AAA-USDC", base_asset="BTC"))
    second = proposal_make(group=open_group, spec=spot_spec(symbol="BBB-USDC", base_asset="ETH"))
    author = first.authors.get()

    with django_capture_on_commit_callbacks(execute=True):
        proposal_submit(actor=author, proposal=first)
    proposal_submit(actor=second.authors.get(), proposal=second)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.number, second.number) == (S.REVIEW, 1, 2)
    assert first.label == "XIP-1"
    assert first.bond_amount == Decimal("250") and first.bond_asset == "USDC"
    assert ProposalRevision.objects.get(proposal=first).number == 1
    step = first.transitions.get(to_status=S.REVIEW)
    assert (step.from_status, step.actor) == (S.DRAFT, author)
    [entry] = audit_of(first, "proposal.review")
    assert entry.old_values == {"status": "draft"} and entry.actor == author
    assert [message.to for message in mail.outbox] == [[author.email]]
    assert "XIP-1 is now Review" in mail.outbox[0].subject


def test_only_an_author_submits(open_group: RiskGroup) -> None:
    proposal = proposal_make(group=open_group)

    with pytest.raises(PermissionDenied):
        proposal_submit(actor=UserFactory(), proposal=proposal)

    proposal.refresh_from_db()
    assert proposal.status == S.DRAFT


def test_submitting_twice_is_refused_naming_the_states(open_group: RiskGroup) -> None:
    proposal = proposal_make(group=open_group, status=S.REVIEW)

    with pytest.raises(TransitionError, match="from Review to Review"):
        proposal_submit(actor=proposal.authors.get(), proposal=proposal)


def test_submission_rechecks_the_spec_against_current_bounds(open_group: RiskGroup) -> None:
    proposal = proposal_make(group=open_group, spec=spot_spec(taker_fee_bps=40))
    open_group.bounds.max_taker_fee_bps = 30
    open_group.bounds.save()

    with pytest.raises(SpecError) as caught:
        proposal_submit(actor=proposal.authors.get(), proposal=proposal)

    assert list(caught.value.fields) == ["taker_fee_bps"]
    proposal.refresh_from_db()
    assert (proposal.status, proposal.number) == (S.DRAFT, None)
    assert not ProposalTransition.objects.filter(proposal=proposal).exists()


def test_a_regulated_group_needs_a_verified_institution(regulated_group: RiskGroup) -> None:
    author = member_create(regulated_group)
    institution = InstitutionFactory()
    InstitutionMembershipFactory(institution=institution, user=author)
    no_institution = proposal_make(group=regulated_group, author=author)
    unverified = proposal_make(
        group=regulated_group,
        author=author,
        institution=institution,
        spec=spot_spec(symbol="ETH-USDC", base_asset="ETH"),
    )

    with pytest.raises(PermissionDenied) as missing:
        proposal_submit(actor=author, proposal=no_institution)
    with pytest.raises(MembershipRequired) as not_verified:
        proposal_submit(actor=author, proposal=unverified)
    MembershipFactory(user=None, institution=institution, risk_group=regulated_group)
    proposal_submit(actor=author, proposal=unverified)

    assert missing.value.code == "institution_required"
    assert "institution" in missing.value.fields
    assert not_verified.value.code == "kyc_required"
    unverified.refresh_from_db()
    assert unverified.status == S.REVIEW
    assert unverified.bond_amount is None  # bonds are for permissionless groups


# --- Editors -------------------------------------------------------------------------------


def test_an_editor_opens_last_call_for_the_groups_window(
    open_group: RiskGroup, editor: User
) -> None:
    proposal = proposal_make(group=open_group, status=S.REVIEW)
    now = timezone.now()

    proposal_last_call_start(actor=editor, proposal=proposal, now=now)

    proposal.refresh_from_db()
    assert proposal.status == S.LAST_CALL
    assert proposal.last_call_ends_at == now + timedelta(hours=72)
    assert proposal.last_call_round == 1
    assert audit_of(proposal, "proposal.last_call")[0].actor == editor


def test_last_call_needs_an_editor_of_that_group(
    open_group: RiskGroup, make_staff: Callable[..., User]
) -> None:
    proposal = proposal_make(group=open_group, status=S.REVIEW)
    other_groups_editor = make_staff(
        StaffRole.XIP_EDITOR, RiskGroup.objects.create(name="X", slug="x", kind="kyc")
    )

    for actor in (proposal.authors.get(), other_groups_editor, UserFactory()):
        with pytest.raises(PermissionDenied, match="Only XIP editors"):
            proposal_last_call_start(actor=actor, proposal=proposal)

    proposal.refresh_from_db()
    assert proposal.status == S.REVIEW


def test_last_call_from_draft_is_refused(open_group: RiskGroup, editor: User) -> None:
    proposal = proposal_make(group=open_group)

    with pytest.raises(TransitionError, match="from Draft to Last Call"):
        proposal_last_call_start(actor=editor, proposal=proposal)


def test_sending_back_needs_a_comment_and_steps_back_once(
    open_group: RiskGroup, editor: User
) -> None:
    in_review = proposal_make(group=open_group, status=S.REVIEW)
    in_last_call = proposal_make(group=open_group, status=S.LAST_CALL)

    with pytest.raises(ApplicationError) as no_reason:
        proposal_send_back(actor=editor, proposal=in_review, reason="  ")
    proposal_send_back(actor=editor, proposal=in_review, reason="Explain the oracle.")
    proposal_send_back(actor=editor, proposal=in_last_call, reason="Fees too high.")

    assert no_reason.value.fields == {"reason": ["Required."]}
    in_review.refresh_from_db()
    in_last_call.refresh_from_db()
    assert (in_review.status, in_last_call.status) == (S.DRAFT, S.REVIEW)
    note = ProposalComment.objects.get(proposal=in_review)
    assert (note.kind, note.body, note.author) == ("editor", "Explain the oracle.", editor)
    assert audit_of(in_last_call, "proposal.review")[0].reason == "Fees too high."


def test_an_editor_rejects_with_a_reason(open_group: RiskGroup, editor: User) -> None:
    proposal = proposal_make(group=open_group, status=S.REVIEW)

    with pytest.raises(PermissionDenied):
        proposal_reject(actor=proposal.authors.get(), proposal=proposal, reason="no")
    proposal_reject(actor=editor, proposal=proposal, reason="Duplicate of XIP-1.")

    proposal.refresh_from_db()
    assert proposal.status == S.REJECTED
    assert audit_of(proposal, "proposal.rejected")[0].reason == "Duplicate of XIP-1."


# --- Authors: withdraw, stagnation, revival ------------------------------------------------


def test_an_author_withdraws_even_in_last_call(open_group: RiskGroup) -> None:
    proposal = proposal_make(group=open_group, status=S.LAST_CALL)

    with pytest.raises(PermissionDenied):
        proposal_withdraw(actor=UserFactory(), proposal=proposal)
    proposal_withdraw(actor=proposal.authors.get(), proposal=proposal, reason="Changed plans")

    proposal.refresh_from_db()
    assert proposal.status == S.WITHDRAWN
    with pytest.raises(TransitionError, match="from Withdrawn to Withdrawn"):
        proposal_withdraw(actor=proposal.authors.get(), proposal=proposal)


def test_inactive_proposals_go_stagnant_and_an_author_revives_them(
    open_group: RiskGroup,
) -> None:
    quiet = proposal_make(group=open_group, status=S.REVIEW)
    active = proposal_make(group=open_group)
    later = timezone.now() + timedelta(days=open_group.stagnant_after_days)
    Proposal.objects.filter(pk=active.pk).update(last_activity_at=later - timedelta(days=1))

    assert proposals_mark_stagnant(now=later + timedelta(minutes=1)) == 1

    quiet.refresh_from_db()
    active.refresh_from_db()
    assert (quiet.status, active.status) == (S.STAGNANT, S.DRAFT)
    with pytest.raises(PermissionDenied):
        proposal_revive(actor=UserFactory(), proposal=quiet)
    with pytest.raises(TransitionError, match="from Draft to Draft"):
        proposal_revive(actor=active.authors.get(), proposal=active)
    proposal_revive(actor=quiet.authors.get(), proposal=quiet)
    quiet.refresh_from_db()
    assert quiet.status == S.DRAFT


# --- Revisions -----------------------------------------------------------------------------


def test_edits_after_submission_are_revisions(open_group: RiskGroup) -> None:
    proposal = proposal_make(group=open_group, status=S.REVIEW, body="Old text")
    ProposalRevision.objects.create(
        proposal=proposal,
        number=1,
        title=proposal.title,
        body=proposal.body,
        spec=proposal.spec,
        author=proposal.created_by,
        created_at=timezone.now(),
    )
    author = proposal.authors.get()

    proposal_update(
        actor=author, proposal=proposal, title=proposal.title, body="New text", spec=proposal.spec
    )

    proposal.refresh_from_db()
    assert proposal.revision == 2
    revision = proposal.revisions.get(number=2)
    assert (revision.body, revision.normative) == ("New text", False)
    assert audit_of(proposal, "proposal.edit")[0].old_values == {"body": "Old text"}


def test_a_draft_edit_before_submission_makes_no_revision(open_group: RiskGroup) -> None:
    proposal = proposal_make(group=open_group)

    proposal_update(
        actor=proposal.created_by, proposal=proposal, title="Renamed", body="", spec=spot_spec()
    )

    proposal.refresh_from_db()
    assert (proposal.title, proposal.revision) == ("Renamed", 0)
    assert not proposal.revisions.exists()


def test_a_normative_edit_in_last_call_sends_it_back_to_review(open_group: RiskGroup) -> None:
    proposal = proposal_make(group=open_group, status=S.LAST_CALL)
    author = proposal.authors.get()

    proposal_update(
        actor=author,
        proposal=proposal,
        title=proposal.title,
        body="Typo fixed",
        spec=proposal.spec,
    )
    proposal.refresh_from_db()
    assert proposal.status == S.LAST_CALL  # editorial
    proposal_update(
        actor=author,
        proposal=proposal,
        title=proposal.title,
        body="Typo fixed",
        spec=spot_spec(taker_fee_bps=6),
        summary="Taker fee 6 bps",
    )

    proposal.refresh_from_db()
    assert proposal.status == S.REVIEW
    assert proposal.revisions.get(number=3).normative
    assert "Normative edit" in proposal.transitions.last().reason  # type: ignore[union-attr]


def test_a_final_proposal_can_not_be_edited(open_group: RiskGroup) -> None:
    proposal = proposal_make(group=open_group, status=S.FINAL)

    with pytest.raises(TransitionError) as caught:
        proposal_update(
            actor=proposal.created_by, proposal=proposal, title="x", body="", spec=spot_spec()
        )

    assert caught.value.code == "not_editable"


def test_a_symbol_can_not_collide_with_a_listed_market(open_group: RiskGroup) -> None:
    from markets.models import Asset, Market

    listed_by = proposal_make(group=open_group, status=S.FINAL)
    Market.objects.create(
        symbol="BTC-USDC",
        market_type="spot",
        risk_group=open_group,
        xip=listed_by,
        quote_asset=Asset.objects.get(symbol="USDC"),
        spec={},
        config_hash="0x",
    )

    with pytest.raises(SpecError) as caught:
        proposal_create(
            actor=UserFactory(),
            title="Again",
            proposal_type="market",
            risk_group=open_group,
            spec=spot_spec(symbol="btc-usdc"),
        )

    assert caught.value.fields == {"symbol": ["BTC-USDC is already a listed market."]}


def test_co_authors_are_registered_users(open_group: RiskGroup) -> None:
    author, coauthor = UserFactory(), UserFactory()

    with pytest.raises(ApplicationError) as unknown:
        proposal_create(
            actor=author,
            title="Together",
            proposal_type="process",
            risk_group=open_group,
            coauthor_emails=["nobody@example.test"],
        )
    proposal = proposal_create(
        actor=author,
        title="Together",
        proposal_type="process",
        risk_group=open_group,
        coauthor_emails=[coauthor.email.upper()],
    )

    assert unknown.value.fields == {"coauthors": ["No account with nobody@example.test."]}
    assert set(proposal.authors.all()) == {author, coauthor}
    assert Proposal.objects.count() == 1
