"""Fixtures of the governance tests: private media in a temporary folder, document bytes,
and ready-made applications."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from governance.kyc.documents import kyc_document_add
from governance.kyc.models import KycApplication, KycDocument
from tests.governance.factories import KybApplicationFactory, KycApplicationFactory

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Each test stores documents in its own folder, so "nothing stored" can be checked."""
    root = tmp_path / "private_media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def upload(content: bytes = PDF, name: str = "passport.pdf", content_type: str = "") -> Any:
    return SimpleUploadedFile(name, content, content_type=content_type or "application/pdf")


def with_documents(application: KycApplication) -> KycApplication:
    """Uploads the documents its kind needs, as the applicant."""
    kinds = (
        [KycDocument.Kind.CERTIFICATE_OF_INCORPORATION, KycDocument.Kind.REGISTER_OF_DIRECTORS]
        if application.is_institution
        else [KycDocument.Kind.IDENTITY_DOCUMENT, KycDocument.Kind.PROOF_OF_ADDRESS]
    )
    for kind in kinds:
        kyc_document_add(
            actor=application.applicant, application=application, kind=kind, upload=upload()
        )
    return application


@pytest.fixture
def complete_application(db: Any) -> Callable[..., KycApplication]:
    """complete_application(**factory kwargs): a draft person application with its documents."""

    def make(**kwargs: Any) -> KycApplication:
        return with_documents(KycApplicationFactory(**kwargs))

    return make


@pytest.fixture
def complete_kyb(db: Any) -> Callable[..., KycApplication]:
    """complete_kyb(**factory kwargs): a draft institution application with its documents;
    the applicant administers the institution."""
    from xip_portal.models import InstitutionMembership

    def make(**kwargs: Any) -> KycApplication:
        application = KybApplicationFactory(**kwargs)
        InstitutionMembership.objects.get_or_create(
            institution=application.institution,
            user=application.applicant,
            defaults={"role": InstitutionMembership.Role.ADMIN},
        )
        return with_documents(application)

    return make
