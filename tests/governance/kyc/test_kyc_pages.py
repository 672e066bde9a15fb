"""The applicant's pages: apply (person or institution), edit the profile, see a request for
more information and the decision; the reviewer's case page."""

from typing import Any

import pytest

from governance.kyc.models import KycApplication
from governance.kyc.services import kyc_application_request_info, kyc_application_submit
from tests.factories import InstitutionMembershipFactory, UserFactory
from tests.governance.factories import RegulatedGroupFactory
from xip_portal.models import InstitutionMembership, StaffRole

pytestmark = pytest.mark.django_db


def test_an_institution_admin_starts_a_kyb_application_and_lists_the_owners(login: Any) -> None:
    group = RegulatedGroupFactory()
    admin = InstitutionMembershipFactory(role=InstitutionMembership.Role.ADMIN)
    client = login(admin.user)

    started = client.post(
        f"/risk-groups/{group.slug}/apply/",
        {"kind": "institution", "institution": admin.institution.pk},
    )
    application = KycApplication.objects.get(institution=admin.institution)
    assert started.status_code == 302 and started["Location"] == f"/kyc/{application.pk}/"

    bad = client.post(
        f"/kyc/{application.pk}/",
        {"registration_number": "HRB 1", "jurisdiction": "DE", "beneficial_owners": "Ada, DE"},
    )
    good = client.post(
        f"/kyc/{application.pk}/",
        {
            "registration_number": "HRB 1",
            "jurisdiction": "DE",
            "registered_address": "Unter den Linden 1, Berlin",
            "beneficial_owners": "Ada Owner; DE; 60\nBob Owner; FR; 40",
        },
    )

    assert bad.status_code == 400
    assert "Line 1: write name; country code; share in percent." in bad.content.decode()
    assert good.status_code == 302
    application.refresh_from_db()
    assert application.beneficial_owners == [
        {"name": "Ada Owner", "country": "DE", "share_percent": "60"},
        {"name": "Bob Owner", "country": "FR", "share_percent": "40"},
    ]


def test_a_member_who_is_not_an_institution_admin_cannot_apply_for_it(login: Any) -> None:
    group = RegulatedGroupFactory()
    member = InstitutionMembershipFactory(role=InstitutionMembership.Role.MEMBER)
    client = login(member.user)

    response = client.post(
        f"/risk-groups/{group.slug}/apply/",
        {"kind": "institution", "institution": member.institution.pk},
    )

    assert response.status_code == 400
    assert not KycApplication.objects.exists()


def test_the_applicant_sees_the_request_for_information_and_can_edit_again(
    complete_application: Any, make_staff: Any, login: Any
) -> None:
    application = complete_application()
    admin = make_staff(StaffRole.KYC_ADMIN, application.risk_group)
    kyc_application_submit(actor=application.applicant, application=application)
    kyc_application_request_info(
        actor=admin, application=application, note="Upload a newer proof of address."
    )
    client = login(application.applicant)

    page = client.get(f"/kyc/{application.pk}/").content.decode()
    listing = client.get("/kyc/").content.decode()

    assert "Upload a newer proof of address." in page
    assert "Save the profile" in page and "Submit for review" in page
    assert "Upload a newer proof of address." in listing


def test_the_case_page_shows_profile_documents_history_and_four_eyes(
    complete_kyb: Any, make_staff: Any, login: Any
) -> None:
    group = RegulatedGroupFactory(four_eyes_for_institutions=True)
    application = complete_kyb(risk_group=group)
    kyc_application_submit(actor=application.applicant, application=application)
    first = make_staff(StaffRole.KYC_ADMIN, group)
    client = login(first)

    approved_once = client.post(
        f"/staff/kyc/{application.pk}/", {"decision": "approve", "note": "Looks right."}
    )
    page = client.get(f"/staff/kyc/{application.pk}/").content.decode()
    again = client.post(f"/staff/kyc/{application.pk}/", {"decision": "approve"})

    assert approved_once.status_code == 302
    assert application.institution.name in page
    assert "Certificate of incorporation" in page and "Register of directors" in page
    assert "two different KYC admins" in page
    assert "kyc.approve_first" in page and "Looks right." in page
    assert again.status_code == 400
    assert "second, different KYC admin" in again.content.decode()


def test_the_reviewer_sees_the_decision_refused_without_a_reason(
    complete_application: Any, make_staff: Any, login: Any
) -> None:
    application = complete_application()
    kyc_application_submit(actor=application.applicant, application=application)
    client = login(make_staff(StaffRole.KYC_ADMIN, application.risk_group))

    response = client.post(f"/staff/kyc/{application.pk}/", {"decision": "reject"})

    assert response.status_code == 400
    assert "the reason for the rejection" in response.content.decode()
    application.refresh_from_db()
    assert application.status == "submitted"  # a refused decision writes nothing


def test_a_trader_without_a_staff_role_is_refused_the_queue(login: Any) -> None:
    response = login(UserFactory()).get("/staff/kyc/")

    assert response.status_code == 403
