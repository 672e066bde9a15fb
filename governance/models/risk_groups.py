"""Risk groups: the segregated venues that markets, memberships and staff roles belong to."""

from django.db import models

from xip_portal.models import TimeStampedModel


class RiskGroup(TimeStampedModel):
    class Kind(models.TextChoices):
        KYC_REGULATED = "kyc", "KYC-regulated"
        PERMISSIONLESS = "permissionless", "Permissionless"

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
