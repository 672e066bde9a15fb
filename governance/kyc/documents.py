"""KYC documents: accepted by content (PDF, JPEG or PNG, at most 10 MB), stored under
MEDIA_ROOT with a random name (no URL maps it), and opened only by the applicant or a KYC
admin of the group, each opening audited."""

from __future__ import annotations

import hashlib
from typing import IO, Any

import filetype
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import FileResponse

from governance.kyc.errors import KycError
from xip_portal.audit import audit_record
from xip_portal.errors import ApplicationError, Conflict, ErrorCode, NotFound
from xip_portal.models import User

from .models import (
    INSTITUTION_DOCUMENT_KINDS,
    MAX_DOCUMENT_BYTES,
    PERSON_DOCUMENT_KINDS,
    KycApplication,
    KycDocument,
)
from .services import kyc_reviewer_scope

# Recognised by their first bytes, whatever the name or the declared type says.
ACCEPTED_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
SNIFF_BYTES = 8192


def _refuse(message: str, code: str) -> ApplicationError:
    return ApplicationError(message, code=code, fields={"file": [message]})


def document_content_check(upload: UploadedFile[bytes]) -> tuple[str, str]:
    """The (content type, extension) of an acceptable upload; raises naming the problem."""
    name = upload.name or "the file"
    size = upload.size or 0
    if size == 0:
        raise _refuse(f"{name} is empty.", KycError.EMPTY_FILE)
    if size > MAX_DOCUMENT_BYTES:
        raise _refuse(
            f"{name} is {size / 1024 / 1024:.1f} MB; documents may be at most "
            f"{MAX_DOCUMENT_BYTES // 1024 // 1024} MB.",
            KycError.FILE_TOO_LARGE,
        )
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ACCEPTED_TYPES:
        found = f" (its content is {kind.mime})" if kind is not None else ""
        raise _refuse(
            f"{name} is not a PDF, JPEG or PNG document{found}.", KycError.UNSUPPORTED_FILE_TYPE
        )
    return kind.mime, ACCEPTED_TYPES[kind.mime]


def _sha256(upload: UploadedFile[bytes]) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def kyc_document_add(
    *, actor: User, application: KycApplication, kind: str, upload: UploadedFile[bytes]
) -> KycDocument:
    """Stores a document of the applicant's own draft or needs-info application. Refused
    uploads store nothing."""
    allowed = INSTITUTION_DOCUMENT_KINDS if application.is_institution else PERSON_DOCUMENT_KINDS
    if kind not in allowed:
        labels = ", ".join(k.label.lower() for k in allowed)
        raise ApplicationError(
            f"This application takes these documents: {labels}.",
            code=KycError.UNKNOWN_DOCUMENT_KIND,
            fields={"kind": ["Not a document of this application."]},
        )
    content_type, extension = document_content_check(upload)
    sha256 = _sha256(upload)
    with transaction.atomic():
        locked = (
            KycApplication.objects.select_for_update()
            .filter(pk=application.pk, applicant=actor)
            .first()
        )
        if locked is None:
            raise NotFound("There is no such application.")
        if not locked.can_edit():
            raise Conflict(
                f"The application is {locked.get_status_display().lower()}; documents can be "
                "added only to a draft or when more information is asked for.",
                code=ErrorCode.NOT_EDITABLE,
            )
        stored = default_storage.save(KycDocument.storage_name(locked.pk, extension), upload)
        # Files are not transactional: remove the file if the row cannot be written.
        try:
            document = KycDocument.objects.create(
                application=locked,
                kind=kind,
                file=stored,
                original_name=(upload.name or "")[:255],
                content_type=content_type,
                size=upload.size or 0,
                sha256=sha256,
                uploaded_by=actor,
            )
            audit_record(
                actor=actor,
                action="kyc.document_add",
                obj=locked,
                new={
                    "document": document.pk,
                    "kind": kind,
                    "name": document.original_name,
                    "size": document.size,
                    "sha256": sha256,
                },
            )
        except Exception:
            default_storage.delete(stored)
            raise
    return document


def kyc_document_remove(*, actor: User, document: KycDocument) -> None:
    """Removes a document from the applicant's own draft or needs-info application."""
    with transaction.atomic():
        locked = (
            KycApplication.objects.select_for_update()
            .filter(pk=document.application_id, applicant=actor)
            .first()
        )
        if locked is None:
            raise NotFound("There is no such document.")
        if not locked.can_edit():
            raise Conflict(
                "Documents can be removed only from a draft or when more information is asked for.",
                code=ErrorCode.NOT_EDITABLE,
            )
        audit_record(
            actor=actor,
            action="kyc.document_remove",
            obj=locked,
            old={"document": document.pk, "kind": document.kind, "name": document.original_name},
        )
        name = document.file.name or ""
        document.delete()
        transaction.on_commit(lambda: default_storage.delete(name))


def kyc_document_viewable(*, user: Any, pk: int, as_reviewer: bool) -> KycDocument:
    """The document if `user` may see it: as its applicant, or (as_reviewer) as a KYC admin
    of its group. NotFound otherwise, so its existence does not leak."""
    documents = KycDocument.objects.select_related("application__risk_group")
    if as_reviewer:
        scope = kyc_reviewer_scope(user)
        documents = documents.filter(
            application__in=KycApplication.objects.filter(scope).exclude(status="draft")
        )
    else:
        documents = documents.filter(application__applicant_id=getattr(user, "pk", None))
    document = documents.filter(pk=pk).first()
    if document is None:
        raise NotFound("There is no such document.")
    return document


def kyc_document_open(*, actor: User, pk: int, as_reviewer: bool) -> tuple[KycDocument, IO[bytes]]:
    """Opens a document for `actor` after checking they may see it; audits the view."""
    document = kyc_document_viewable(user=actor, pk=pk, as_reviewer=as_reviewer)
    handle = default_storage.open(document.file.name or "", "rb")
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="kyc.document_view",
            obj=document.application,
            new={"document": document.pk, "kind": document.kind},
            reason="reviewer" if as_reviewer else "applicant",
        )
    return document, handle


def kyc_document_response(document: KycDocument, handle: Any) -> FileResponse:
    """The document as a private download that the browser may neither cache nor render."""
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"{document.kind}-{document.pk}.{(document.file.name or '').rsplit('.', 1)[-1]}",
        content_type=document.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
