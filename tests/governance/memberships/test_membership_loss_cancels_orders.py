"""A member whose membership expires can no longer trade: their open orders in the
group's engine are cancelled, once."""

from datetime import timedelta

from django.utils import timezone

from engine import models as engine_models
from engine import selectors
from governance.memberships.services import memberships_expire_due
from tests.engine.service.conftest import SPOT, Desk
from tests.governance.factories import MembershipFactory


def test_an_expired_membership_cancels_the_members_orders(db):
    # Given a member with a resting order, and another trader's order
    membership = MembershipFactory(valid_until=timezone.now() + timedelta(days=1))
    member = membership.user.pk
    desk = Desk(membership.risk_group)
    desk.list_market(SPOT)
    desk.fund(member, 99)
    desk.do(member, "PlaceOrder", market="BTC-USDC", side="buy", size=100, price=1_000)
    desk.do(99, "PlaceOrder", market="BTC-USDC", side="buy", size=100, price=990)
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
