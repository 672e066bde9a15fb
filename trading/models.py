"""API keys: how bots and agents sign their requests to the trading APIs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from xip_portal.models import TimeStampedModel


class ApiKey(TimeStampedModel):
    """A user's signing key. `key` is public (sent with every request); the secret is
    stored encrypted (trading.key_vault) and shown once, at creation; the passphrase the
    user picked is stored as a password hash. Every key may read; `can_trade` and
    `can_withdraw` are the other two scopes. An empty `ip_allowlist` allows any address;
    otherwise it lists addresses and networks (CIDR). A revoked key stays for the record."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=50)
    key = models.CharField(max_length=36, unique=True)
    secret_encrypted = models.TextField()
    passphrase_hash = models.CharField(max_length=256)
    can_trade = models.BooleanField(default=False)
    can_withdraw = models.BooleanField(default=False)
    ip_allowlist = models.JSONField(default=list, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key[:8]}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def scopes(self) -> list[str]:
        return [
            scope
            for scope, held in (
                ("read", True),
                ("trade", self.can_trade),
                ("withdraw", self.can_withdraw),
            )
            if held
        ]
