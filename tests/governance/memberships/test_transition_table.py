"""The status table of memberships, checked without a database."""

import pytest

from governance.memberships.models import MEMBERSHIP_TRANSITIONS, MembershipStatus
from xip_portal.state_machine import TransitionError


def test_membership_moves() -> None:
    assert set(MEMBERSHIP_TRANSITIONS) == set(MembershipStatus)
    MEMBERSHIP_TRANSITIONS.check("active", "expired")
    MEMBERSHIP_TRANSITIONS.check("expired", "active")
    with pytest.raises(TransitionError, match="from Expired to Revoked"):
        MEMBERSHIP_TRANSITIONS.check("expired", "revoked")
