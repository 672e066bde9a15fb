"""Accounts: password reset by email, and bad input on the account forms is answered with
the problem named, never a server error."""

import re

import pytest
from django.core import mail
from django.test import Client

from tests.factories import UserFactory
from xip_portal.models import User

pytestmark = pytest.mark.django_db


def test_a_user_resets_a_forgotten_password_by_email(client: Client) -> None:
    user = UserFactory(email="forgetful@example.test")

    client.post("/accounts/password/reset/", {"email": "forgetful@example.test"})
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[0].body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    set_password_url = form.redirect_chain[-1][0]
    done = client.post(
        set_password_url,
        {"password1": "a brand new passphrase", "password2": "a brand new passphrase"},
    )

    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a brand new passphrase")


def test_an_unconfirmed_address_cannot_log_in(client: Client) -> None:
    client.post(
        "/accounts/signup/",
        {
            "email": "new@example.test",
            "display_name": "New Person",
            "password1": "long enough pass 1",
            "password2": "long enough pass 1",
        },
    )
    mail.outbox.clear()

    response = client.post(
        "/accounts/login/", {"login": "new@example.test", "password": "long enough pass 1"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session


def test_signing_up_with_a_taken_address_does_not_reveal_it(client: Client) -> None:
    UserFactory(email="taken@example.test")

    response = client.post(
        "/accounts/signup/",
        {
            "email": "taken@example.test",
            "display_name": "Someone Else",
            "password1": "long enough pass 1",
            "password2": "long enough pass 1",
        },
    )

    # Same answer as for a new address; the owner is told by email instead.
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert User.objects.filter(email="taken@example.test").count() == 1
    assert [message.to for message in mail.outbox] == [["taken@example.test"]]


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        (
            "/accounts/signup/",
            {"email": "not-an-email", "password1": "x", "password2": "x"},
            "Enter a valid email address.",
        ),
        (
            "/accounts/signup/",
            {
                "email": "a@example.test",
                "password1": "long enough pass 1",
                "password2": "different pass 2",
            },
            "You must type the same password",
        ),
        (
            "/accounts/signup/",
            {"email": "a@example.test", "password1": "123", "password2": "123"},
            "This password is too short.",
        ),
        (
            "/accounts/login/",
            {"login": "taken@example.test", "password": "wrong"},
            "The email address and/or password you specified are not correct.",
        ),
        ("/accounts/login/", {}, "This field is required."),
        ("/accounts/password/reset/", {"email": "nope"}, "Enter a valid email address."),
    ],
)
def test_bad_account_input_names_the_problem(client: Client, path, data, message) -> None:
    UserFactory(email="taken@example.test")

    response = client.post(path, data)

    assert response.status_code == 200
    assert message in response.content.decode()


def test_a_wrong_two_factor_code_is_refused(client: Client, password) -> None:
    from conftest import two_factor_enable

    user = UserFactory()
    two_factor_enable(user)
    client.post("/accounts/login/", {"login": user.email, "password": password})

    response = client.post("/accounts/2fa/authenticate/", {"code": "12"})

    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert "_auth_user_id" not in client.session
