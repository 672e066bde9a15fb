"""E-mail addresses are shown to their owner (and KYC staff) only: sign-up asks for the
display name others see, and a user without one is shown by a neutral name. Failed logins
are limited per source and account together, so a stranger cannot lock the owner out."""

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.governance.factories import RegulatedGroupFactory
from tests.markets.factories import proposal_make
from xip_portal.models import User

pytestmark = pytest.mark.django_db

SIGN_UP = {"email": "ada@example.test", "password1": "long enough 1", "password2": "long enough 1"}


def test_sign_up_asks_for_the_display_name_others_see(client: Client) -> None:
    client.post("/accounts/signup/", SIGN_UP | {"display_name": "Ada L."})

    assert User.objects.get(email="ada@example.test").display_name == "Ada L."
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "This field is required."), ("me@example.test", "not an e-mail address")],
)
def test_sign_up_refuses_a_missing_or_address_like_display_name(client, name, message) -> None:
    response = client.post("/accounts/signup/", SIGN_UP | {"display_name": name})

    assert message in response.content.decode()
    assert not User.objects.filter(email="ada@example.test").exists()


def test_proposal_pages_and_api_never_show_an_authors_address(client: Client) -> None:
    author = UserFactory(email="secret-author@example.test", display_name="")
    proposal = proposal_make(group=RegulatedGroupFactory(), author=author, status="review")

    page = client.get(proposal.get_absolute_url()).content.decode()
    api = APIClient()
    api.force_authenticate(UserFactory())
    listing = api.get("/api/v1/proposals/").content.decode()
    detail = api.get(f"/api/v1/proposals/{proposal.pk}/").content.decode()

    assert "Member" in detail
    for shown in (page, listing, detail):
        assert "secret-author" not in shown
    assert f"Member {author.pk}" in page


def test_only_the_owner_reads_their_address_from_the_api(user) -> None:
    api = APIClient()
    api.force_authenticate(user)

    assert api.get("/api/v1/me/").json()["email"] == user.email


def _log_in(client: Client, email: str, password: str, address: str) -> int:
    response = client.post(
        "/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=address
    )
    return response.status_code


def test_wrong_passwords_from_one_source_do_not_lock_the_owner_out(password) -> None:
    cache.clear()
    owner = UserFactory(email="owner@example.test")
    stranger, own_device = Client(), Client()

    for _ in range(6):
        _log_in(stranger, owner.email, "wrong guess", "203.0.113.9")
    locked = stranger.post(
        "/accounts/login/", {"login": owner.email, "password": password}, REMOTE_ADDR="203.0.113.9"
    )
    from_home = _log_in(own_device, owner.email, password, "198.51.100.7")

    assert "Too many failed login attempts" in locked.content.decode()
    assert from_home == 302
    assert "_auth_user_id" in own_device.session
