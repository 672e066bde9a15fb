from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from governance.memberships.models import MembershipStatus
from governance.memberships.services import (
    MembershipRequired,
    membership_allows,
    membership_require,
)
from tests.factories import InstitutionMembershipFactory, UserFactory
from tests.governance.factories import (
    MembershipFactory,
    PermissionlessGroupFactory,
    RegulatedGroupFactory,
)

pytestmark = pytest.mark.django_db


def refusal_code(**kwargs: object) -> str:
    with pytest.raises(MembershipRequired) as caught:
        membership_require(**kwargs)  # type: ignore[arg-type]
    return caught.value.code


def test_a_regulated_group_asks_for_kyc_first() -> None:
    user, group = UserFactory(), RegulatedGroupFactory()

    assert refusal_code(user=user, risk_group=group, action="trade") == "kyc_required"
    assert not membership_allows(user=user, risk_group=group, action="propose")


def test_an_active_membership_lets_its_member_trade_and_propose() -> None:
    membership = MembershipFactory()

    for action in ("trade", "propose"):
        assert (
            membership_require(
                user=membership.user, risk_group=membership.risk_group, action=action
            )
            == membership
        )


def test_an_expired_membership_asks_to_reverify_even_before_the_task_runs() -> None:
    lapsed = MembershipFactory(valid_until=timezone.now() - timedelta(minutes=1))
    marked = MembershipFactory(status=MembershipStatus.EXPIRED)

    for membership in (lapsed, marked):
        code = refusal_code(user=membership.user, risk_group=membership.risk_group, action="trade")
        assert code == "membership_expired"


def test_a_permissionless_group_asks_to_accept_its_terms() -> None:
    user, group = UserFactory(), PermissionlessGroupFactory()

    assert refusal_code(user=user, risk_group=group, action="trade") == "terms_not_accepted"


def test_a_member_from_a_jurisdiction_blocked_later_is_refused() -> None:
    membership = MembershipFactory(country="FR")
    group = membership.risk_group
    group.blocked_jurisdictions = ["FR"]
    group.save()

    assert refusal_code(user=membership.user, risk_group=group, action="trade") == (
        "jurisdiction_blocked"
    )


def test_proposing_for_an_institution_needs_its_kyb_and_its_membership() -> None:
    group = RegulatedGroupFactory()
    staff = InstitutionMembershipFactory()
    outsider = UserFactory()
    MembershipFactory(user=outsider, risk_group=group)

    assert (
        refusal_code(
            user=outsider, risk_group=group, action="propose", institution=staff.institution
        )
        == "not_institution_member"
    )
    assert (
        refusal_code(
            user=staff.user, risk_group=group, action="propose", institution=staff.institution
        )
        == "kyc_required"
    )
    kyb = MembershipFactory(user=None, institution=staff.institution, risk_group=group)
    assert (
        membership_require(
            user=staff.user, risk_group=group, action="propose", institution=staff.institution
        )
        == kyb
    )


def test_the_membership_check_costs_one_query(django_assert_num_queries: Any) -> None:
    membership = MembershipFactory()

    with django_assert_num_queries(1):
        membership_require(user=membership.user, risk_group=membership.risk_group, action="trade")
