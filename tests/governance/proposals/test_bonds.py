"""The XIP bond of a permissionless group, from the proposer's side: locked from their
engine account when the XIP enters Review, returned when it ends Final or Withdrawn,
forfeited to the group's insurance fund when Rejected; their statement shows each move. A
lock the engine refuses sends the XIP back to Draft, and nothing is ever returned that was
not locked."""

from datetime import timedelta

import pytest
import time_machine

from engine.selectors import balances_of, statement_of
from engine.services import command_submit, shard_of
from engine.tasks import shard_process
from governance.proposals.models import Proposal, ProposalStatus
from governance.proposals.services import (
    proposal_last_call_start,
    proposal_reject,
    proposal_send_back,
    proposal_submit,
    proposal_withdraw,
    proposals_bonds_reconcile,
    proposals_last_call_conclude_due,
)
from governance.risk_groups.models import RiskGroup
from tests.factories import UserFactory
from tests.markets.factories import engine_deposit, proposal_make
from xip_portal.errors import ApplicationError
from xip_portal.models import AuditEntry, User

S = ProposalStatus
pytestmark = pytest.mark.django_db
# 250 USDC (the open group's bond) in engine units of the collateral (10^-12 USDC)
BOND = 250 * 10**12


def free_usdc(group: RiskGroup, user: User) -> int:
    shard = shard_of(risk_group=group)
    shard_process(shard.pk)  # as the shard's worker would
    return sum(int(b.free) for b in balances_of(shard=shard, account=user.pk) if b.asset == "USDC")


def statement(group: RiskGroup, user: User) -> list[tuple[str, int, str]]:
    lines = statement_of(shard=shard_of(risk_group=group), account=user.pk)
    return [(line.kind, int(line.amount), line.reference) for line in lines]


def submitted(group: RiskGroup) -> tuple[Proposal, User]:
    proposal = proposal_make(group=group)  # its author holds the bond in the group's engine
    author = proposal.authors.get()
    proposal_submit(actor=author, proposal=proposal)
    return proposal, author


def test_entering_review_locks_the_bond_from_the_proposer(open_group: RiskGroup) -> None:
    proposal, author = submitted(open_group)

    assert free_usdc(open_group, author) == 0
    lock = ("transfer_out", -BOND, f"xip-bond:{proposal.pk}:lock")
    assert statement(open_group, author)[-1] == lock


def test_an_unfunded_proposer_is_refused_and_nothing_moves(open_group: RiskGroup) -> None:
    author = UserFactory()
    proposal = proposal_make(group=open_group, author=author)
    outsider = UserFactory()  # holds nothing in the group's engine
    proposal.authors.add(outsider)
    engine_deposit(group=open_group, user=outsider, amount=open_group.proposal_bond_amount / 2)

    with pytest.raises(ApplicationError) as refused:
        proposal_submit(actor=outsider, proposal=proposal)

    assert refused.value.code == "bond_not_covered"
    proposal.refresh_from_db()
    assert proposal.status == S.DRAFT
    assert free_usdc(open_group, outsider) == BOND // 2
    assert [kind for kind, _, _ in statement(open_group, outsider)] == ["deposit"]


def test_withdrawing_returns_the_bond(open_group: RiskGroup) -> None:
    proposal, author = submitted(open_group)
    assert free_usdc(open_group, author) == 0  # the lock applied

    proposal_withdraw(actor=author, proposal=proposal)

    assert free_usdc(open_group, author) == BOND
    assert statement(open_group, author)[-2:] == [
        ("transfer_out", -BOND, f"xip-bond:{proposal.pk}:lock"),
        ("transfer_in", BOND, f"xip-bond:{proposal.pk}:return"),
    ]


def test_going_final_returns_the_bond(open_group: RiskGroup, editor: User) -> None:
    proposal, author = submitted(open_group)
    assert free_usdc(open_group, author) == 0  # the lock applied
    proposal_last_call_start(actor=editor, proposal=proposal)
    proposal.refresh_from_db()
    assert proposal.last_call_ends_at is not None

    with time_machine.travel(proposal.last_call_ends_at + timedelta(minutes=1), tick=False):
        assert proposals_last_call_conclude_due() == {"final": 1}

    assert free_usdc(open_group, author) == BOND
    assert statement(open_group, author)[-1] == (
        "transfer_in",
        BOND,
        f"xip-bond:{proposal.pk}:return",
    )


def test_a_rejected_xip_forfeits_the_bond_to_the_insurance_fund(
    open_group: RiskGroup, editor: User
) -> None:
    proposal, author = submitted(open_group)
    assert free_usdc(open_group, author) == 0  # the lock applied

    proposal_reject(actor=editor, proposal=proposal, reason="Duplicates XIP-1")

    assert free_usdc(open_group, author) == 0
    assert statement(open_group, author)[-1] == (
        "transfer_out",
        -BOND,
        f"xip-bond:{proposal.pk}:lock",
    )
    [forfeit] = statement_of(shard=shard_of(risk_group=open_group), account=0)
    assert (forfeit.kind, int(forfeit.amount), forfeit.reference) == (
        "insurance",
        BOND,
        f"xip-bond:{proposal.pk}:forfeit",
    )


def test_a_resubmission_after_send_back_locks_nothing_more(
    open_group: RiskGroup, editor: User
) -> None:
    proposal, author = submitted(open_group)
    engine_deposit(group=open_group, user=author, amount=open_group.proposal_bond_amount)
    proposal_send_back(actor=editor, proposal=proposal, reason="Fix the tick")
    proposal_submit(actor=author, proposal=proposal)

    assert free_usdc(open_group, author) == BOND


def spend_everything_first(group: RiskGroup, author: User) -> None:
    """Journal a withdrawal of the author's whole bond-sized balance that the engine applies
    before the lock that follows it (the projections still show the balance meanwhile)."""
    command_submit(
        risk_group=group,
        account=author.pk,
        command={"type": "Withdraw", "asset": "USDC", "amount": BOND, "external_id": "spent"},
    )


def test_a_lock_the_engine_refuses_sends_the_xip_back_to_draft(open_group: RiskGroup) -> None:
    # Given an author whose balance is spent before their bond lock applies
    proposal = proposal_make(group=open_group)
    author = proposal.authors.get()
    spend_everything_first(open_group, author)
    proposal_submit(actor=author, proposal=proposal)
    assert free_usdc(open_group, author) == 0  # the withdrawal applied, the lock refused
    # When the bond sweep runs
    assert proposals_bonds_reconcile() == {"sent_back": 1, "settled": 0}
    # Then the XIP is a Draft again, saying why (audited)
    proposal.refresh_from_db()
    assert proposal.status == S.DRAFT
    entry = AuditEntry.objects.filter(action="proposal.draft").get()
    assert entry.actor is None
    assert "refused to lock the bond (insufficient_balance)" in entry.reason
    # and withdrawing it returns nothing: nothing was locked
    proposal_withdraw(actor=author, proposal=proposal)
    assert proposals_bonds_reconcile() == {"sent_back": 0, "settled": 0}
    assert free_usdc(open_group, author) == 0
    assert [kind for kind, _, _ in statement(open_group, author)] == ["deposit", "withdraw"]


def test_a_refused_lock_is_taken_again_at_the_next_submission(open_group: RiskGroup) -> None:
    proposal = proposal_make(group=open_group)
    author = proposal.authors.get()
    spend_everything_first(open_group, author)
    proposal_submit(actor=author, proposal=proposal)
    free_usdc(open_group, author)
    proposals_bonds_reconcile()
    engine_deposit(group=open_group, user=author, amount=open_group.proposal_bond_amount)

    proposal_submit(actor=author, proposal=proposal)

    assert free_usdc(open_group, author) == 0
    assert statement(open_group, author)[-1][:2] == ("transfer_out", -BOND)
    proposal_withdraw(actor=author, proposal=proposal)
    assert free_usdc(open_group, author) == BOND


def test_an_xip_ended_while_its_lock_was_pending_is_settled_once_the_lock_applied(
    open_group: RiskGroup,
) -> None:
    # Given an XIP withdrawn before the engine applied its bond lock
    proposal, author = submitted(open_group)
    proposal_withdraw(actor=author, proposal=proposal)
    # Then nothing is returned before the lock applied
    assert free_usdc(open_group, author) == 0
    # When the bond sweep runs after it applied
    assert proposals_bonds_reconcile() == {"sent_back": 0, "settled": 1}
    # Then the bond is back, once
    assert free_usdc(open_group, author) == BOND
    assert proposals_bonds_reconcile() == {"sent_back": 0, "settled": 0}
    assert [kind for kind, _, _ in statement(open_group, author)][-2:] == [
        "transfer_out",
        "transfer_in",
    ]


def test_an_xip_ended_with_its_lock_refused_is_credited_nothing(open_group: RiskGroup) -> None:
    proposal = proposal_make(group=open_group)
    author = proposal.authors.get()
    spend_everything_first(open_group, author)
    proposal_submit(actor=author, proposal=proposal)
    proposal_withdraw(actor=author, proposal=proposal)  # before the engine applied the lock

    assert free_usdc(open_group, author) == 0
    assert proposals_bonds_reconcile() == {"sent_back": 0, "settled": 0}
    assert free_usdc(open_group, author) == 0
    assert "transfer_in" not in [kind for kind, _, _ in statement(open_group, author)]
