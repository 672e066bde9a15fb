"""KYC documents: accepted by content only, at most 10 MB, stored privately, opened only by
the applicant or the group's KYC admins, every opening audited."""

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from governance.kyc.documents import kyc_document_add
from governance.kyc.models import MAX_DOCUMENT_BYTES, KycDocument
from tests.factories import UserFactory
from tests.governance.conftest import JPEG, PDF, PNG, stored_files, upload
from tests.governance.factories import KycApplicationFactory, RegulatedGroupFactory
from xip_portal.errors import ApplicationError, NotFound
from xip_portal.models import AuditEntry, StaffRole

pytestmark = pytest.mark.django_db

WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 64
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


@pytest.mark.parametrize(
    ("content", "name", "declared", "code", "message"),
    [
        (WINDOWS_EXE, "passport.pdf", "application/pdf", "unsupported_file_type", "not a PDF"),
        (ELF, "scan.png", "image/png", "unsupported_file_type", "not a PDF"),
        (HTML, "passport.pdf", "application/pdf", "unsupported_file_type", "not a PDF"),
        (b"", "passport.pdf", "application/pdf", "empty_file", "is empty"),
        (
            PDF + b"\x00" * MAX_DOCUMENT_BYTES,
            "big.pdf",
            "application/pdf",
            "file_too_large",
            "10 MB",
        ),
    ],
    ids=["renamed-exe", "renamed-elf", "html", "empty", "oversized"],
)
def test_refused_uploads_say_why_and_store_nothing(
    media_root: Path, content: bytes, name: str, declared: str, code: str, message: str
) -> None:
    application = KycApplicationFactory()

    with pytest.raises(ApplicationError) as refused:
        kyc_document_add(
            actor=application.applicant,
            application=application,
            kind="identity_document",
            upload=upload(content, name, declared),
        )

    assert refused.value.code == code
    assert message in refused.value.fields["file"][0]
    assert not KycDocument.objects.exists()
    assert stored_files(media_root) == []
    assert not AuditEntry.objects.filter(action="kyc.document_add").exists()


@pytest.mark.parametrize(
    ("content", "name", "expected_type"),
    [(PDF, "id.bin", "application/pdf"), (PNG, "id", "image/png"), (JPEG, "id.pdf", "image/jpeg")],
)
def test_documents_are_recognised_by_content_and_stored_privately(
    media_root: Path, content: bytes, name: str, expected_type: str
) -> None:
    application = KycApplicationFactory()

    document = kyc_document_add(
        actor=application.applicant,
        application=application,
        kind="proof_of_address",
        upload=upload(content, name, "application/octet-stream"),
    )

    assert document.content_type == expected_type
    files = stored_files(media_root)
    assert len(files) == 1 and files[0].read_bytes() == content
    # A random name under MEDIA_ROOT, nothing of the uploaded name, not under STATIC_ROOT.
    assert name not in files[0].name
    assert not str(files[0]).startswith(str(settings.STATIC_ROOT))


def test_the_upload_page_shows_the_refusal_beside_the_field(login: Any, media_root: Path) -> None:
    application = KycApplicationFactory()
    client = login(application.applicant)

    response = client.post(
        f"/kyc/{application.pk}/documents/",
        {"kind": "identity_document", "file": upload(HTML, "passport.pdf")},
    )

    assert response.status_code == 400
    assert "is not a PDF, JPEG or PNG document" in response.content.decode()
    assert stored_files(media_root) == []


def test_a_document_kind_of_the_other_applicant_kind_is_refused() -> None:
    application = KycApplicationFactory()

    with pytest.raises(ApplicationError) as refused:
        kyc_document_add(
            actor=application.applicant,
            application=application,
            kind="certificate_of_incorporation",
            upload=upload(),
        )
    assert refused.value.code == "unknown_document_kind"


def test_only_the_applicant_adds_documents() -> None:
    application = KycApplicationFactory()

    with pytest.raises(NotFound):
        kyc_document_add(
            actor=UserFactory(), application=application, kind="identity_document", upload=upload()
        )


def test_viewing_a_document_checks_the_viewer_and_audits_each_view(
    complete_application: Any, make_staff: Any, client: Client
) -> None:
    from governance.kyc.services import kyc_application_submit

    application = complete_application()
    kyc_application_submit(actor=application.applicant, application=application)
    document = application.documents.first()
    admin = make_staff(StaffRole.KYC_ADMIN, application.risk_group)
    other_admin = make_staff(StaffRole.KYC_ADMIN, RegulatedGroupFactory())

    # The applicant downloads it
    client.force_login(application.applicant)
    response = client.get(f"/kyc/documents/{document.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]

    # The group's KYC admin opens it from the case
    client.force_login(admin)
    assert client.get(f"/staff/kyc/documents/{document.pk}/").status_code == 200
    # ...but not through the applicant's address
    assert client.get(f"/kyc/documents/{document.pk}/").status_code == 404

    # Another group's KYC admin and another user get 404
    client.force_login(other_admin)
    assert client.get(f"/staff/kyc/documents/{document.pk}/").status_code == 404
    client.force_login(UserFactory())
    assert client.get(f"/kyc/documents/{document.pk}/").status_code == 404

    views = AuditEntry.objects.filter(action="kyc.document_view", object_id=str(application.pk))
    assert sorted(view.actor_id for view in views) == sorted([application.applicant.pk, admin.pk])
