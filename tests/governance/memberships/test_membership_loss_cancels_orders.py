"""A member whose membership expires or is revoked can no longer trade: their open orders in the
group's engine are cancelled, once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from engine import models as engine_models
from engine import selectors
from governance.memberships.models import Membership
from governance.memberships.services import (
    MembershipRequired,
    membership_require,
    membership_revoke,
    memberships_expire_due,
)
from tests.engine.service.conftest import SPOT, Desk
from tests.governance.factories import MembershipFactory, RegulatedGroupFactory
from xip_portal.errors import ApplicationError, PermissionDenied
from xip_portal.models import AuditEntry, StaffRole


def member_with_an_order(*, valid_days: int) -> tuple[Membership, Desk]:
    """A member with a resting buy in the group's engine, and trader 99's order below it."""
    membership = MembershipFactory(valid_until=timezone.now() + timedelta(days=valid_days))
    desk = Desk(membership.risk_group)
    desk.list_market(SPOT)
    desk.fund(membership.user.pk, 99)
    desk.do(membership.user.pk, "PlaceOrder", market="BTC-USDC", side="buy", size=100, price=1_000)
    desk.do(99, "PlaceOrder", market="BTC-USDC", side="buy", size=100, price=990)
    return membership, desk


def test_an_expired_membership_cancels_the_members_orders(db):
    # Given a member with a resting order, and another trader's order
    membership, desk = member_with_an_order(valid_days=1)
    member = membership.user.pk
    # When the membership expires
    assert memberships_expire_due(now=timezone.now() + timedelta(days=2)) == 1
    desk.process()
    # Then the member has no open order, the other trader keeps theirs
    assert not selectors.orders_of(shard=desk.shard, account=member, open_only=True).exists()
    (order,) = selectors.orders_of(shard=desk.shard, account=member)
    assert (order.status, order.reason) == ("cancelled", "cancelled_by_trader")
    assert selectors.orders_of(shard=desk.shard, account=99, open_only=True).count() == 1
    # and running the expiry again journals nothing more
    memberships_expire_due(now=timezone.now() + timedelta(days=3))
    assert engine_models.Command.objects.filter(kind="CancelAll").count() == 1


def test_a_revoked_membership_cancels_the_members_orders(db, make_staff):
    # Given a member with a resting order, and another trader's order
    membership, desk = member_with_an_order(valid_days=365)
    member = membership.user.pk
    kyc_admin = make_staff(StaffRole.KYC_ADMIN, membership.risk_group)
    # When a KYC admin of the group revokes the membership
    membership_revoke(actor=kyc_admin, membership=membership, reason="Sanctions hit")
    desk.process()
    # Then the member may no longer trade and has no open order; the other keeps theirs
    with pytest.raises(MembershipRequired) as refused:
        membership_require(user=membership.user, risk_group=membership.risk_group, action="trade")
    assert refused.value.code == "membership_revoked"
    assert not selectors.orders_of(shard=desk.shard, account=member, open_only=True).exists()
    assert selectors.orders_of(shard=desk.shard, account=99, open_only=True).count() == 1
    entry = AuditEntry.objects.get(action="membership.revoke")
    assert (entry.actor, entry.reason) == (kyc_admin, "Sanctions hit")


def test_only_the_groups_operator_or_kyc_admin_revokes(db, make_staff):
    membership = MembershipFactory(valid_until=timezone.now() + timedelta(days=365))
    other_admin = make_staff(StaffRole.KYC_ADMIN, RegulatedGroupFactory())

    with pytest.raises(PermissionDenied):
        membership_revoke(actor=other_admin, membership=membership, reason="No")
    with pytest.raises(ApplicationError):
        membership_revoke(
            actor=make_staff(StaffRole.RISK_GROUP_OPERATOR, membership.risk_group),
            membership=membership,
            reason=" ",
        )

    membership.refresh_from_db()
    assert membership.status == "active"
    assert not engine_models.Command.objects.exists()
