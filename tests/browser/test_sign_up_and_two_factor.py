"""A visitor signs up, confirms the address, logs in, sets up TOTP, and logs in again with a
code from the authenticator app, in a real browser."""

import re

from allauth.mfa.models import Authenticator
from django.core import mail
from playwright.sync_api import Page, expect

from conftest import totp_code_at
from xip_portal.models import User

EMAIL = "ada@example.test"
PASSWORD = "an unguessable passphrase 42"


def test_sign_up_confirm_log_in_and_set_up_two_factor(page: Page, mailoutbox: list) -> None:
    # Given a visitor on the sign-up page
    page.goto("/accounts/signup/")
    page.locator("#id_email").fill(EMAIL)
    page.locator("#id_display_name").fill("Browser Tester")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()

    # Then they are asked to confirm the address, and cannot log in before they do
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body)
    assert link is not None, mail.outbox[0].body

    # When they follow the link and confirm
    page.goto(link.group(0))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(f"You have confirmed {EMAIL}")).to_be_visible()

    # And log in
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(EMAIL)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_label("Your roles")).to_contain_text("Trader")

    # And set up an authenticator app with the secret the page shows
    page.goto("/accounts/2fa/totp/activate/")
    # allauth asks for the password again before a security change
    expect(page.get_by_role("heading", name="Confirm Access")).to_be_visible()
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    secret = page.locator("#authenticator_secret").input_value()
    page.locator("#id_code").fill(totp_code_at(secret, step=0))
    page.get_by_role("button", name="Activate").click()

    # Then recovery codes are shown, and the account has TOTP and recovery codes
    expect(page.get_by_role("heading", name="Recovery Codes")).to_be_visible()
    user = User.objects.get(email=EMAIL)
    kinds = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    assert kinds == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}

    # When they log out and log in again, the password alone is not enough
    page.get_by_role("button", name="Log out").click()
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(EMAIL)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()

    # A wrong code is refused, the app's next code lets them in
    page.locator("#id_code").fill("000000")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_text("Incorrect code.")).to_be_visible()
    page.locator("#id_code").fill(totp_code_at(secret, step=1))
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_label("Your roles")).to_contain_text("Trader")
