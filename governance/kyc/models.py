"""KYC (people) and KYB (institutions) applications to regulated risk groups, and their
documents. The allowed status moves are declared once, in KYC_TRANSITIONS."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_countries.fields import CountryField

from xip_portal.models import StatusChange, TimeStampedModel
from xip_portal.state_machine import StateMachine

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


class KycStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    IN_REVIEW = "in_review", "In review"
    NEEDS_INFO = "needs_info", "Needs information"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


KYC_TRANSITIONS = StateMachine(
    "A KYC application",
    KycStatus,
    {
        KycStatus.DRAFT: frozenset({KycStatus.SUBMITTED}),
        KycStatus.SUBMITTED: frozenset({KycStatus.IN_REVIEW, KycStatus.REJECTED}),
        KycStatus.IN_REVIEW: frozenset(
            {KycStatus.APPROVED, KycStatus.REJECTED, KycStatus.NEEDS_INFO}
        ),
        KycStatus.NEEDS_INFO: frozenset({KycStatus.SUBMITTED}),
        KycStatus.APPROVED: frozenset({KycStatus.EXPIRED}),
        KycStatus.REJECTED: frozenset(),
        KycStatus.EXPIRED: frozenset(),
    },
    history="status_changes",
)
# An applicant holds at most one application per group in these states.
KYC_OPEN_STATUSES = (
    KycStatus.DRAFT,
    KycStatus.SUBMITTED,
    KycStatus.IN_REVIEW,
    KycStatus.NEEDS_INFO,
    KycStatus.APPROVED,
)
KYC_EDITABLE_STATUSES = (KycStatus.DRAFT, KycStatus.NEEDS_INFO)
KYC_REVIEWABLE_STATUSES = (KycStatus.SUBMITTED, KycStatus.IN_REVIEW)


class KycApplication(TimeStampedModel):
    class Kind(models.TextChoices):
        PERSON = "person", "Person (KYC)"
        INSTITUTION = "institution", "Institution (KYB)"

    risk_group = models.ForeignKey(
        "governance.RiskGroup", on_delete=models.PROTECT, related_name="kyc_applications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="kyc_applications"
    )
    institution = models.ForeignKey(
        "xip_portal.Institution",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="kyb_applications",
    )
    status = models.CharField(max_length=16, choices=KycStatus.choices, default=KycStatus.DRAFT)
    # Person profile.
    legal_name = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    nationality = CountryField(blank=True)
    country_of_residence = CountryField(blank=True)
    address = models.TextField(blank=True)
    # Institution profile.
    registration_number = models.CharField(max_length=80, blank=True)
    jurisdiction = CountryField(blank=True)
    registered_address = models.TextField(blank=True)
    beneficial_owners = models.JSONField(
        default=list, blank=True, help_text='[{"name": ..., "country": "XX", "share_percent": ...}]'
    )
    # Review.
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The first of two KYC admins, when the approval needs four eyes.",
    )
    rejection_reason = models.TextField(blank=True)
    info_request = models.TextField(blank=True)
    approved_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["submitted_at", "created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="person", institution__isnull=True)
                    | models.Q(kind="institution", institution__isnull=False)
                ),
                name="kyc_institution_iff_kyb",
            ),
            models.UniqueConstraint(
                fields=["applicant", "risk_group"],
                condition=models.Q(kind="person", status__in=KYC_OPEN_STATUSES),
                name="one_open_kyc_per_person_and_group",
            ),
            models.UniqueConstraint(
                fields=["institution", "risk_group"],
                condition=models.Q(kind="institution", status__in=KYC_OPEN_STATUSES),
                name="one_open_kyb_per_institution_and_group",
            ),
        ]

    def __str__(self) -> str:
        return f"KYC #{self.pk} {self.applicant_name} in {self.risk_group_id}"

    @property
    def is_institution(self) -> bool:
        return self.kind == self.Kind.INSTITUTION

    @property
    def applicant_name(self) -> str:
        if self.is_institution and self.institution_id is not None:
            return self.institution.name if self.institution else ""
        return self.legal_name or str(self.applicant_id)

    def countries_of_record(self) -> list[str]:
        """The countries the screening looks at: residence and nationality, or jurisdiction."""
        if self.is_institution:
            return [str(self.jurisdiction)] if self.jurisdiction else []
        return [str(code) for code in (self.country_of_residence, self.nationality) if code]

    def can_edit(self) -> bool:
        return self.status in KYC_EDITABLE_STATUSES

    def can_submit(self) -> bool:
        return self.status in KYC_EDITABLE_STATUSES

    def can_review(self) -> bool:
        return self.status in KYC_REVIEWABLE_STATUSES

    def age_days(self) -> int:
        since = self.submitted_at or self.created_at
        return (timezone.now() - since).days


class KycStatusChange(StatusChange):
    """One step of a KYC application's status history."""

    application = models.ForeignKey(
        KycApplication, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=16, choices=KycStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=KycStatus.choices)

    def __str__(self) -> str:
        return f"#{self.application_id}: {self.from_status or '-'} → {self.to_status}"


class KycDocument(TimeStampedModel):
    """One uploaded document, stored under MEDIA_ROOT (never served as a static file)."""

    class Kind(models.TextChoices):
        IDENTITY_DOCUMENT = "identity_document", "Identity document"
        PROOF_OF_ADDRESS = "proof_of_address", "Proof of address"
        CERTIFICATE_OF_INCORPORATION = (
            "certificate_of_incorporation",
            "Certificate of incorporation",
        )
        REGISTER_OF_DIRECTORS = "register_of_directors", "Register of directors"

    application = models.ForeignKey(
        KycApplication, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    file = models.FileField(upload_to="kyc/", max_length=255)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["application", "kind", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(size__gt=0, size__lte=MAX_DOCUMENT_BYTES),
                name="kyc_document_size",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of application #{self.application_id}"

    @staticmethod
    def storage_name(application_id: int, extension: str) -> str:
        """A random name under kyc/<application>/, so nothing about the upload is guessable."""
        return str(PurePosixPath("kyc") / str(application_id) / f"{uuid.uuid4().hex}.{extension}")


PERSON_DOCUMENT_KINDS = (KycDocument.Kind.IDENTITY_DOCUMENT, KycDocument.Kind.PROOF_OF_ADDRESS)
INSTITUTION_DOCUMENT_KINDS = (
    KycDocument.Kind.CERTIFICATE_OF_INCORPORATION,
    KycDocument.Kind.REGISTER_OF_DIRECTORS,
)
