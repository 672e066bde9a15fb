"""The KYC REST API end to end: an applicant creates, uploads (multipart), submits; a KYC
admin with two-factor reads the queue and the case, and decides; the schema lists it all."""

from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from governance.kyc.models import KycApplication, KycStatus
from governance.memberships.models import Membership
from tests.factories import UserFactory
from tests.governance.conftest import PDF, PNG, stored_files, upload
from tests.governance.factories import KycApplicationFactory, RegulatedGroupFactory
from xip_portal.models import StaffRole

pytestmark = pytest.mark.django_db

HTML = b"<!DOCTYPE html><html><body>not a document</body></html>"

PROFILE = {
    "legal_name": "Ada Lovelace",
    "date_of_birth": "1990-12-10",
    "nationality": "GB",
    "country_of_residence": "GB",
    "address": "12 St James's Square, London",
}


def test_apply_upload_submit_review_and_approve_over_the_api(
    make_staff: Any, media_root: Any, django_capture_on_commit_callbacks: Any
) -> None:
    group = RegulatedGroupFactory()
    applicant, admin = UserFactory(), make_staff(StaffRole.KYC_ADMIN, group)
    client = APIClient()
    client.force_authenticate(applicant)

    created = client.post(
        "/api/v1/kyc/applications/", {"risk_group": group.slug, **PROFILE}, format="json"
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["status"] == "draft"

    early = client.post(f"/api/v1/kyc/applications/{pk}/submit/")
    assert early.status_code == 400
    assert early.json()["code"] == "incomplete"
    assert "documents" in early.json()["fields"]

    bad = client.post(
        f"/api/v1/kyc/applications/{pk}/documents/",
        {"kind": "identity_document", "file": upload(HTML, "id.pdf")},
        format="multipart",
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "unsupported_file_type"
    assert stored_files(media_root) == []
    for kind, content in (("identity_document", PDF), ("proof_of_address", PNG)):
        uploaded = client.post(
            f"/api/v1/kyc/applications/{pk}/documents/",
            {"kind": kind, "file": upload(content, "scan")},
            format="multipart",
        )
        assert uploaded.status_code == 201, uploaded.json()
    submitted = client.post(f"/api/v1/kyc/applications/{pk}/submit/")
    assert submitted.json()["status"] == "submitted"

    staff = APIClient()
    staff.force_authenticate(admin)
    queue = staff.get("/api/v1/staff/kyc/applications/")
    assert [row["id"] for row in queue.json()["results"]] == [pk]
    case = staff.get(f"/api/v1/staff/kyc/applications/{pk}/")
    assert case.json()["legal_name"] == "Ada Lovelace"
    assert [d["kind"] for d in case.json()["documents"]] == [
        "identity_document",
        "proof_of_address",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        decided = staff.post(
            f"/api/v1/staff/kyc/applications/{pk}/decision/",
            {"decision": "approve", "note": "All documents match."},
            format="json",
        )
    assert decided.status_code == 200, decided.json()
    assert decided.json()["status"] == "approved"
    assert [entry["action"] for entry in decided.json()["history"]][-3:] == [
        "kyc.submit",
        "kyc.review_start",
        "kyc.approve",
    ]
    assert mail.outbox[-1].to == [applicant.email]

    memberships = client.get("/api/v1/memberships/").json()
    assert memberships[0]["risk_group"] == group.slug
    assert memberships[0]["status"] == "active"
    assert Membership.objects.get(user=applicant).application_id == pk


def test_a_staff_user_without_two_factor_is_sent_to_set_it_up(make_staff: Any) -> None:
    admin = make_staff(StaffRole.KYC_ADMIN, RegulatedGroupFactory(), two_factor=False)
    client = APIClient()
    client.force_authenticate(admin)

    response = client.get("/api/v1/staff/kyc/applications/")

    assert response.status_code == 403
    assert response.json()["code"] == "two_factor_required"


def test_bad_decisions_are_refused_with_the_field_named(make_staff: Any) -> None:
    application = KycApplicationFactory(submitted=True)
    admin = make_staff(StaffRole.KYC_ADMIN, application.risk_group)
    client = APIClient()
    client.force_authenticate(admin)

    unknown = client.post(
        f"/api/v1/staff/kyc/applications/{application.pk}/decision/",
        {"decision": "maybe"},
        format="json",
    )
    no_reason = client.post(
        f"/api/v1/staff/kyc/applications/{application.pk}/decision/",
        {"decision": "reject"},
        format="json",
    )

    assert unknown.status_code == 400 and "decision" in unknown.json()["fields"]
    assert no_reason.status_code == 400 and no_reason.json()["fields"] == {
        "note": ["the reason for the rejection"]
    }
    application.refresh_from_db()
    assert application.status == KycStatus.SUBMITTED


def test_the_queue_answers_in_a_fixed_number_of_queries(
    make_staff: Any, django_assert_num_queries: Any
) -> None:
    group = RegulatedGroupFactory()
    for _ in range(5):
        KycApplicationFactory(risk_group=group, submitted=True)
    admin = make_staff(StaffRole.KYC_ADMIN, group)
    client = APIClient()
    client.force_authenticate(admin)
    client.get("/api/v1/staff/kyc/applications/")

    with django_assert_num_queries(4):
        response = client.get("/api/v1/staff/kyc/applications/")
    assert response.json()["count"] == 5


def test_the_queue_page_answers_in_a_fixed_number_of_queries(
    make_staff: Any, login: Any, django_assert_num_queries: Any
) -> None:
    group = RegulatedGroupFactory()
    for _ in range(5):
        KycApplicationFactory(risk_group=group, submitted=True)
    admin = make_staff(StaffRole.KYC_ADMIN, group)
    client = login(admin)
    client.get("/staff/kyc/")

    with django_assert_num_queries(10):
        response = client.get("/staff/kyc/")
    assert response.content.decode().count('href="/staff/kyc/') == 5


def test_the_schema_documents_the_endpoints_and_multipart_uploads() -> None:
    schema = APIClient().get("/api/schema/?format=json").json()

    paths = schema["paths"]
    for path in (
        "/api/v1/risk-groups/",
        "/api/v1/risk-groups/{slug}/",
        "/api/v1/risk-groups/{slug}/join/",
        "/api/v1/memberships/",
        "/api/v1/kyc/applications/",
        "/api/v1/kyc/applications/{id}/documents/",
        "/api/v1/staff/kyc/applications/",
        "/api/v1/staff/kyc/applications/{id}/decision/",
    ):
        assert path in paths, path
    upload_body = paths["/api/v1/kyc/applications/{id}/documents/"]["post"]["requestBody"]
    assert list(upload_body["content"]) == ["multipart/form-data"]
    assert KycApplication.objects.count() == 0


def test_queue_age_filter_beyond_ten_years_is_a_clear_400(make_staff, api_client) -> None:
    from xip_portal.models import StaffRole

    api_client.force_authenticate(make_staff(StaffRole.SITE_ADMIN))

    response = api_client.get("/api/v1/staff/kyc/applications/?min_age_days=260829173")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "min_age_days" in response.json()["fields"]


def test_the_queue_filters_by_a_reviewed_group_alike_on_the_page_and_in_the_api(
    make_staff: Any, login: Any
) -> None:
    mine, other = RegulatedGroupFactory(), RegulatedGroupFactory()
    KycApplicationFactory(risk_group=mine, submitted=True)
    KycApplicationFactory(risk_group=other, submitted=True)
    admin = make_staff(StaffRole.KYC_ADMIN, mine)
    api = APIClient()
    api.force_authenticate(admin)
    page = login(admin)

    mine_in_api = api.get(f"/api/v1/staff/kyc/applications/?risk_group={mine.slug}")
    assert mine_in_api.json()["count"] == 1
    assert page.get(f"/staff/kyc/?group={mine.slug}").status_code == 200

    # A group the admin does not review is not found, on the page as in the API.
    assert api.get(f"/api/v1/staff/kyc/applications/?risk_group={other.slug}").status_code == 404
    assert page.get(f"/staff/kyc/?group={other.slug}").status_code == 404
