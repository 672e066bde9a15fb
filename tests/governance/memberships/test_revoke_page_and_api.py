"""A group's operator or KYC admin revokes a membership from the staff page or the API:
two-factor required, audited with the reason, the member's open orders cancelled; other
groups' staff and traders are refused and nothing changes."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from engine import models as engine_models
from engine import selectors
from governance.memberships.models import Membership
from tests.engine.service.conftest import SPOT, Desk
from tests.governance.factories import MembershipFactory, RegulatedGroupFactory
from xip_portal.models import AuditEntry, StaffRole


def member_with_an_order() -> tuple[Membership, Desk]:
    membership = MembershipFactory(valid_until=timezone.now() + timedelta(days=365))
    desk = Desk(membership.risk_group)
    desk.list_market(SPOT)
    desk.fund(membership.user.pk)
    desk.do(membership.user.pk, "PlaceOrder", market="BTC-USDC", side="buy", size=100, price=1_000)
    return membership, desk


def test_the_kyc_admin_revokes_from_the_members_page(db, make_staff, login):
    # Given a member with a resting order and the group's KYC admin, signed in
    membership, desk = member_with_an_order()
    admin = make_staff(StaffRole.KYC_ADMIN, membership.risk_group)
    client = login(admin)
    # When the admin opens the members page and revokes with a reason
    page = client.get(reverse("riskgroup_members", args=[membership.risk_group.slug]))
    assert page.status_code == 200
    revoke_url = reverse("membership_revoke", args=[membership.pk])
    assert revoke_url in page.content.decode()
    response = client.post(revoke_url, {"reason": "Sanctions hit"}, follow=True)
    desk.process()
    # Then the membership is revoked, audited with the reason, and the order is cancelled
    assert response.status_code == 200
    membership.refresh_from_db()
    assert membership.status == "revoked"
    entry = AuditEntry.objects.get(action="membership.revoke")
    assert (entry.actor, entry.reason) == (admin, "Sanctions hit")
    account = membership.user.pk
    assert not selectors.orders_of(shard=desk.shard, account=account, open_only=True).exists()
    # and the member is no longer listed
    page = client.get(reverse("riskgroup_members", args=[membership.risk_group.slug]))
    assert revoke_url not in page.content.decode()


def test_the_members_page_needs_two_factor(db, make_staff, login):
    membership = MembershipFactory()
    admin = make_staff(StaffRole.KYC_ADMIN, membership.risk_group, two_factor=False)
    client = login(admin)

    page = client.get(reverse("riskgroup_members", args=[membership.risk_group.slug]))
    revoke = client.post(reverse("membership_revoke", args=[membership.pk]), {"reason": "x"})

    assert page.status_code == revoke.status_code == 302
    assert page.url == revoke.url == reverse("mfa_activate_totp")
    membership.refresh_from_db()
    assert membership.status == "active"


def test_other_groups_staff_and_traders_cannot_see_or_revoke(db, make_staff, login, user):
    membership = MembershipFactory()
    slug = membership.risk_group.slug
    for person in (make_staff(StaffRole.KYC_ADMIN, RegulatedGroupFactory()), user):
        client = login(person)
        assert client.get(reverse("riskgroup_members", args=[slug])).status_code == 403
        client.post(reverse("membership_revoke", args=[membership.pk]), {"reason": "x"})
    membership.refresh_from_db()
    assert membership.status == "active"
    assert not AuditEntry.objects.filter(action="membership.revoke").exists()


def test_the_api_lists_members_and_revokes_with_a_reason(db, make_staff, api_client):
    # Given a member with a resting order and the group's operator on the API
    membership, desk = member_with_an_order()
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, membership.risk_group)
    api_client.force_authenticate(operator)
    members_url = reverse("api_riskgroup_members", args=[membership.risk_group.slug])
    listed = api_client.get(members_url)
    assert [row["id"] for row in listed.json()] == [membership.pk]
    assert listed.json()[0]["user"] == membership.user.email
    url = reverse("api_membership_revoke", args=[membership.pk])
    # a revocation needs a reason
    missing = api_client.post(url, {}, format="json")
    assert missing.status_code == 400
    assert "reason" in missing.json()["fields"]
    # When the operator revokes with a reason
    response = api_client.post(url, {"reason": "Left the venue"}, format="json")
    desk.process()
    # Then the answer shows the membership revoked and the member's order is cancelled
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["status"]) == (membership.pk, "revoked")
    assert AuditEntry.objects.get(action="membership.revoke").reason == "Left the venue"
    account = membership.user.pk
    assert not selectors.orders_of(shard=desk.shard, account=account, open_only=True).exists()
    # and revoking again is refused, journaling nothing more
    again = api_client.post(url, {"reason": "Twice"}, format="json")
    assert again.status_code == 409
    assert engine_models.Command.objects.filter(kind="CancelAll").count() == 1


def test_the_api_refuses_staff_without_two_factor_and_other_groups(db, make_staff, api_client):
    membership = MembershipFactory()
    url = reverse("api_membership_revoke", args=[membership.pk])
    no_two_factor = make_staff(StaffRole.KYC_ADMIN, membership.risk_group, two_factor=False)
    other_group = make_staff(StaffRole.KYC_ADMIN, RegulatedGroupFactory())

    api_client.force_authenticate(no_two_factor)
    refused = api_client.post(url, {"reason": "x"}, format="json")
    api_client.force_authenticate(other_group)
    forbidden = api_client.post(url, {"reason": "x"}, format="json")

    assert (refused.status_code, refused.json()["code"]) == (403, "two_factor_required")
    assert forbidden.status_code == 403
    membership.refresh_from_db()
    assert membership.status == "active"
