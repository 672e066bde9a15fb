"""The XIP status table, without a database."""

import pytest

from governance.proposals.models import PROPOSAL_TRANSITIONS, Proposal, ProposalStatus
from xip_portal.state_machine import TransitionError

S = ProposalStatus


def test_the_table_follows_eip_1() -> None:
    assert PROPOSAL_TRANSITIONS == {
        S.DRAFT: {S.REVIEW, S.WITHDRAWN, S.STAGNANT},
        S.REVIEW: {S.LAST_CALL, S.DRAFT, S.WITHDRAWN, S.REJECTED, S.STAGNANT},
        S.LAST_CALL: {S.FINAL, S.REVIEW, S.WITHDRAWN, S.REJECTED},
        S.STAGNANT: {S.DRAFT},
        S.FINAL: set(),
        S.WITHDRAWN: set(),
        S.REJECTED: set(),
    }


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [
        (S.DRAFT, S.LAST_CALL),
        (S.DRAFT, S.FINAL),
        (S.REVIEW, S.FINAL),
        (S.STAGNANT, S.REVIEW),
        (S.FINAL, S.REVIEW),
        (S.WITHDRAWN, S.DRAFT),
        (S.REJECTED, S.LAST_CALL),
        (S.LAST_CALL, S.DRAFT),
    ],
)
def test_an_illegal_move_names_both_states(from_status: str, to_status: str) -> None:
    proposal = Proposal(number=7, status=from_status)

    with pytest.raises(TransitionError) as caught:
        PROPOSAL_TRANSITIONS.check(proposal.status, to_status, subject=proposal.label)

    assert caught.value.code == "illegal_transition"
    assert S(from_status).label in caught.value.message
    assert S(to_status).label in caught.value.message
    assert "XIP-7" in caught.value.message


def test_every_allowed_move_passes_the_check() -> None:
    for from_status, targets in PROPOSAL_TRANSITIONS.items():
        for to_status in targets:
            proposal = Proposal(number=1, status=from_status)
            PROPOSAL_TRANSITIONS.check(proposal.status, to_status, subject=proposal.label)


def test_predicates_for_templates_follow_the_status() -> None:
    assert Proposal(status=S.DRAFT).can_submit()
    assert not Proposal(status=S.REVIEW).can_submit()
    assert Proposal(status=S.REVIEW).can_enter_last_call()
    assert Proposal(status=S.STAGNANT).can_revive()
    assert not Proposal(status=S.FINAL).can_edit()
    assert Proposal(status=S.LAST_CALL).can_edit()
    assert not Proposal(status=S.FINAL).can_withdraw()
