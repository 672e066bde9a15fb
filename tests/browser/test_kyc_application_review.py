"""An applicant submits a KYC application with documents, a KYC admin with two-factor
approves it, and the applicant sees the approval and the membership, in a real browser."""

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from conftest import totp_code_at, two_factor_enable
from governance.kyc.models import KycApplication
from governance.memberships.models import Membership
from tests.factories import TEST_PASSWORD, UserFactory
from tests.governance.factories import MarketBoundsFactory, RegulatedGroupFactory
from xip_portal.models import StaffRole
from xip_portal.services import role_grant

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32


def log_in(page: Page, email: str, code: str | None = None) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    if code is not None:
        expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
        page.locator("#id_code").fill(code)
        page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_label("Your roles")).to_contain_text("Trader")


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()


def upload(page: Page, kind: str, name: str, mime: str, content: bytes) -> None:
    page.get_by_role("combobox", name="Document").select_option(kind)
    page.locator("#id_file").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": content}]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("The document is uploaded.")).to_be_visible()


def test_apply_with_documents_review_with_two_factor_and_see_the_membership(
    page: Page, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    group = RegulatedGroupFactory(name="Alpine Regulated")
    MarketBoundsFactory(risk_group=group)
    applicant = UserFactory(email="ada.applicant@example.test")
    admin = UserFactory(email="kyc.admin@example.test")
    role_grant(actor=None, user=admin, role=StaffRole.KYC_ADMIN, risk_group=group, reason="test")
    secret = two_factor_enable(admin)

    # Given the applicant on the group's page
    log_in(page, applicant.email)
    page.goto(f"/risk-groups/{group.slug}/")
    page.get_by_role("link", name="Apply for KYC").click()
    page.get_by_role("button", name="Start the application").click()

    # When they fill in the profile
    page.get_by_label("Legal name").fill("Ada Lovelace")
    page.get_by_label("Date of birth").fill("1990-12-10")
    page.get_by_label("Nationality").select_option("GB")
    page.get_by_label("Country of residence").select_option("GB")
    page.get_by_label("Address").fill("12 St James's Square, London")
    page.get_by_role("button", name="Save the profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()

    # And upload an executable dressed as a PDF, which is refused, then the real documents
    page.get_by_role("combobox", name="Document").select_option("identity_document")
    page.locator("#id_file").set_input_files(
        files=[{"name": "passport.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00"}]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("is not a PDF, JPEG or PNG document")).to_be_visible()
    upload(page, "identity_document", "passport.pdf", "application/pdf", PDF)
    upload(page, "proof_of_address", "bill.png", "image/png", PNG)

    # And submit it
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#application-status")).to_have_text("Submitted")
    log_out(page)

    # Then the KYC admin, after the two-factor step, finds it in the queue and approves it
    log_in(page, admin.email, code=totp_code_at(secret))
    page.goto("/staff/kyc/")
    application = KycApplication.objects.get(applicant=applicant)
    page.get_by_role("link", name=f"#{application.pk}").click()
    expect(page.get_by_text("Ada Lovelace").first).to_be_visible()
    expect(page.get_by_role("link", name="Identity document")).to_be_visible()
    page.get_by_role("combobox", name="Decision").select_option("approve")
    page.get_by_label("Note").fill("Passport and utility bill match the profile.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator("#application-status")).to_have_text("Approved")
    log_out(page)

    # And the applicant sees the approval and the membership
    log_in(page, applicant.email)
    page.goto("/kyc/")
    expect(page.locator(".application-row")).to_contain_text("Approved")
    expect(page.locator(".membership-row")).to_contain_text("Alpine Regulated")
    expect(page.locator(".membership-row")).to_contain_text("Active")
    assert Membership.objects.get(user=applicant, risk_group=group).status == "active"
