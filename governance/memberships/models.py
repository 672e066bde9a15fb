"""Memberships: who belongs to which risk group, by KYC approval or by accepting its terms.
The allowed status moves are declared once, in MEMBERSHIP_TRANSITIONS."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_countries.fields import CountryField

from xip_portal.models import TimeStampedModel
from xip_portal.state_machine import StateMachine


class MembershipStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


MEMBERSHIP_TRANSITIONS = StateMachine(
    "A membership",
    MembershipStatus,
    {
        MembershipStatus.ACTIVE: frozenset({MembershipStatus.EXPIRED, MembershipStatus.REVOKED}),
        # A new approval (re-verification) renews an expired or revoked membership.
        MembershipStatus.EXPIRED: frozenset({MembershipStatus.ACTIVE}),
        MembershipStatus.REVOKED: frozenset({MembershipStatus.ACTIVE}),
    },
)


class Membership(TimeStampedModel):
    """A person's or an institution's membership of one risk group (exactly one of the two)."""

    class Tier(models.TextChoices):
        STANDARD = "standard", "Standard"
        PROFESSIONAL = "professional", "Professional"
        INSTITUTIONAL = "institutional", "Institutional"

    class Source(models.TextChoices):
        KYC = "kyc", "KYC approval"
        TERMS = "terms", "Accepted terms"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="risk_group_memberships",
    )
    institution = models.ForeignKey(
        "xip_portal.Institution",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="risk_group_memberships",
    )
    risk_group = models.ForeignKey(
        "governance.RiskGroup", on_delete=models.CASCADE, related_name="memberships"
    )
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    status = models.CharField(
        max_length=16, choices=MembershipStatus.choices, default=MembershipStatus.ACTIVE
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    valid_until = models.DateTimeField(null=True, blank=True, help_text="Empty: no expiry.")
    country = CountryField(blank=True, help_text="Residence or jurisdiction on record.")
    application = models.ForeignKey(
        "governance.KycApplication",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    terms_accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["risk_group", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, institution__isnull=True)
                    | models.Q(user__isnull=True, institution__isnull=False)
                ),
                name="membership_user_xor_institution",
            ),
            models.UniqueConstraint(
                fields=["user", "risk_group"],
                condition=models.Q(user__isnull=False),
                name="one_membership_per_user_and_group",
            ),
            models.UniqueConstraint(
                fields=["institution", "risk_group"],
                condition=models.Q(institution__isnull=False),
                name="one_membership_per_institution_and_group",
            ),
        ]

    def __str__(self) -> str:
        holder = self.user if self.user_id else self.institution
        return f"{holder} in {self.risk_group} ({self.status})"

    def is_current(self) -> bool:
        """Active and not past its validity (the expiry task may not have run yet)."""
        if self.status != MembershipStatus.ACTIVE:
            return False
        return self.valid_until is None or self.valid_until > timezone.now()
