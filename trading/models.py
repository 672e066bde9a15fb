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


class IdempotentAnswer(models.Model):
    """The successful answer a write of /api/v1 gave, kept under the caller's
    `Idempotency-Key`: a repeat of the same request gets it again, the same key on another
    request is refused. (The engine service dedupes the commands themselves too, so a
    request whose answer was lost still journals once.)"""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotent_answers"
    )
    key = models.CharField(max_length=40)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="trading_answer_once_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key} ({self.status})"


class OrderGate(models.Model):
    """One row whose `version` moves whenever something the order fast path
    (trading.okx.fast_path) keeps in memory changes: an API key (but for its last use), a
    user (but for their last login), a membership, a risk group, a market, or the engine's
    view of a market's status and config. PostgreSQL triggers move it in the changing
    transaction itself (migration 0003), so no code path can forget to. The fast path's
    journal INSERT names the version its memory holds and inserts nothing once it moved."""

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"order gate v{self.version}"
