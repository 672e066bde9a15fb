"""Joining a permissionless group: accept the terms, live outside its blocked list."""

from typing import Any

import pytest

from governance.memberships.models import Membership, MembershipStatus
from governance.memberships.services import membership_join, membership_require
from tests.factories import UserFactory
from tests.governance.factories import PermissionlessGroupFactory, RegulatedGroupFactory
from xip_portal.errors import ApplicationError, PermissionDenied
from xip_portal.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_accepting_the_terms_makes_a_member_who_may_trade() -> None:
    user, group = UserFactory(), PermissionlessGroupFactory()

    membership = membership_join(
        user=user, risk_group=group, country_of_residence="br", accept_terms=True
    )

    assert membership.source == Membership.Source.TERMS
    assert membership.valid_until is None
    assert str(membership.country) == "BR"
    assert membership_require(user=user, risk_group=group, action="trade") == membership
    assert AuditEntry.objects.filter(action="membership.join").count() == 1

    # Joining again changes nothing and writes nothing.
    membership_join(user=user, risk_group=group, country_of_residence="BR", accept_terms=True)
    assert AuditEntry.objects.filter(action="membership.join").count() == 1


def test_the_terms_must_be_accepted() -> None:
    user = UserFactory()
    with pytest.raises(ApplicationError) as refused:
        membership_join(
            user=user,
            risk_group=PermissionlessGroupFactory(),
            country_of_residence="BR",
            accept_terms=False,
        )
    assert refused.value.code == "terms_not_accepted"
    assert not Membership.objects.exists()


def test_a_resident_of_a_blocked_country_cannot_join() -> None:
    group = PermissionlessGroupFactory(blocked_jurisdictions=["US"])

    with pytest.raises(PermissionDenied) as refused:
        membership_join(
            user=UserFactory(), risk_group=group, country_of_residence="US", accept_terms=True
        )

    assert refused.value.code == "jurisdiction_blocked"
    assert "United States" in refused.value.message
    assert not Membership.objects.exists()


def test_regulated_groups_are_not_joined_by_terms() -> None:
    with pytest.raises(ApplicationError) as refused:
        membership_join(
            user=UserFactory(),
            risk_group=RegulatedGroupFactory(),
            country_of_residence="FR",
            accept_terms=True,
        )
    assert refused.value.code == "kyc_required"


def test_joining_through_the_page(login: Any) -> None:
    user, group = UserFactory(), PermissionlessGroupFactory()
    client = login(user)

    refused = client.post(f"/risk-groups/{group.slug}/join/", {"country_of_residence": "BR"})
    joined = client.post(
        f"/risk-groups/{group.slug}/join/", {"country_of_residence": "BR", "accept_terms": "on"}
    )

    assert refused.status_code == 400
    assert "Accept the terms" in refused.content.decode()
    assert joined.status_code == 302
    assert Membership.objects.get(user=user).status == MembershipStatus.ACTIVE
