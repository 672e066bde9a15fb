"""The status table of KYC applications, checked without a database."""

import pytest

from governance.kyc.models import KYC_TRANSITIONS, KycStatus
from xip_portal.state_machine import TransitionError

KYC_ALLOWED = {
    ("draft", "submitted"),
    ("submitted", "in_review"),
    ("submitted", "rejected"),
    ("in_review", "approved"),
    ("in_review", "rejected"),
    ("in_review", "needs_info"),
    ("needs_info", "submitted"),
    ("approved", "expired"),
}


def test_every_kyc_status_has_a_row() -> None:
    assert set(KYC_TRANSITIONS) == set(KycStatus)


@pytest.mark.parametrize("current", list(KycStatus))
@pytest.mark.parametrize("target", list(KycStatus))
def test_kyc_moves_are_exactly_the_documented_ones(current: KycStatus, target: KycStatus) -> None:
    if (current.value, target.value) in KYC_ALLOWED:
        KYC_TRANSITIONS.check(current, target)
    else:
        with pytest.raises(TransitionError) as refused:
            KYC_TRANSITIONS.check(current, target)
        assert current.label in refused.value.message
        assert target.label in refused.value.message
        assert refused.value.code == "illegal_transition"


def test_decisions_are_final_and_approval_only_expires() -> None:
    assert KYC_TRANSITIONS[KycStatus.REJECTED] == frozenset()
    assert KYC_TRANSITIONS[KycStatus.EXPIRED] == frozenset()
    assert KYC_TRANSITIONS[KycStatus.APPROVED] == {KycStatus.EXPIRED}
