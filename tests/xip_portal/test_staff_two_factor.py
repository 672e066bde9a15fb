"""Staff roles cannot use staff pages or endpoints until two-factor is set up."""

import pytest
from django.test import Client
from django.urls import reverse

from conftest import totp_code_at
from xip_portal.models import StaffRole

pytestmark = pytest.mark.django_db

STAFF_ROLES = [
    StaffRole.XIP_EDITOR,
    StaffRole.KYC_ADMIN,
    StaffRole.RISK_GROUP_OPERATOR,
    StaffRole.SITE_ADMIN,
]


@pytest.mark.parametrize("role", STAFF_ROLES)
@pytest.mark.parametrize("path", ["/staff/", "/admin/"])
def test_staff_without_two_factor_is_sent_to_set_it_up(make_staff, login, role, path) -> None:
    client: Client = login(make_staff(role, two_factor=False))

    response = client.get(path, follow=True)

    assert response.redirect_chain[0] == (reverse("mfa_activate_totp"), 302)
    assert "Staff pages need two-factor authentication" in response.content.decode()


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_staff_with_two_factor_reach_the_staff_dashboard(make_staff, login, role) -> None:
    client: Client = login(make_staff(role))

    response = client.get("/staff/")

    assert response.status_code == 200
    assert role.label in response.content.decode() or role == StaffRole.SITE_ADMIN


def test_site_admin_with_two_factor_reaches_the_admin(make_staff, login) -> None:
    client: Client = login(make_staff(StaffRole.SITE_ADMIN))

    assert client.get("/admin/").status_code == 200


def test_traders_are_refused_the_staff_dashboard(user, login) -> None:
    response = login(user).get("/staff/")

    assert response.status_code == 403
    assert "role_required" in response.content.decode()


def test_anonymous_visitors_are_asked_to_log_in(client: Client) -> None:
    response = client.get("/staff/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_admin_login_goes_through_the_portal_login_with_its_two_factor(client: Client) -> None:
    # Django's own admin login form would skip two-factor; it is replaced by the portal's.
    response = client.get("/admin/login/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_staff_navigation_shows_their_roles(make_staff, login) -> None:
    client: Client = login(make_staff(StaffRole.KYC_ADMIN))

    page = client.get("/").content.decode()

    assert "KYC admin" in page
    assert "Trader" in page
    assert 'href="/staff/"' in page


@pytest.mark.parametrize(
    ("role", "link", "absent"),
    [
        (StaffRole.KYC_ADMIN, "/staff/kyc/", "/staff/risk-groups/new/"),
        (StaffRole.XIP_EDITOR, "/proposals/?status=review", "/staff/kyc/"),
        (StaffRole.RISK_GROUP_OPERATOR, "/risk-groups/", "/staff/kyc/"),
        (StaffRole.SITE_ADMIN, "/staff/risk-groups/new/", None),
    ],
)
def test_the_staff_dashboard_links_each_role_to_its_work(make_staff, login, role, link, absent):
    page = login(make_staff(role)).get("/staff/").content.decode()

    assert f'href="{link}' in page
    if absent:
        assert f'href="{absent}' not in page


def test_after_setting_up_two_factor_staff_land_on_the_page_they_asked_for(
    make_staff, client: Client, password
) -> None:
    # Given an XIP editor without two-factor, logged in with their password
    editor = make_staff(StaffRole.XIP_EDITOR, two_factor=False)
    client.post(reverse("account_login"), {"login": editor.email, "password": password})
    # When they open a staff page, are sent to set up two-factor and confirm a code
    assert client.get("/staff/?tab=queue")["Location"] == reverse("mfa_activate_totp")
    client.post(reverse("account_reauthenticate"), {"password": password})
    client.get(reverse("mfa_activate_totp"))
    secret = client.session["mfa.totp.secret"]
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code_at(secret)})
    # Then they land on the page they asked for, told where their recovery codes are
    assert response.status_code == 302
    assert response["Location"] == "/staff/?tab=queue"
    landed = client.get(response["Location"])
    assert landed.status_code == 200
    assert reverse("mfa_view_recovery_codes") in landed.content.decode()


def test_setting_up_two_factor_unprompted_still_shows_the_recovery_codes(
    user, client: Client, password
) -> None:
    client.post(reverse("account_login"), {"login": user.email, "password": password})
    client.post(reverse("account_reauthenticate"), {"password": password})
    client.get(reverse("mfa_activate_totp"))
    secret = client.session["mfa.totp.secret"]

    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code_at(secret)})

    assert response["Location"] == reverse("mfa_view_recovery_codes")
