"""Reads of the trading room."""

from __future__ import annotations

from django.db.models import F, QuerySet

from xip_portal.models import User

from .models import ApiKey


def api_keys_of(*, user: User) -> QuerySet[ApiKey]:
    """The user's keys, active ones first, newest first."""
    return ApiKey.objects.filter(user=user).order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at", "-id"
    )


def api_key_active(*, key: str) -> ApiKey | None:
    """The unrevoked key with its user, for a signed request (one query)."""
    return (
        ApiKey.objects.select_related("user")
        .filter(key=key, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
