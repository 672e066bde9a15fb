"""Writes of the trading room: API keys (create, revoke, mark as used), and the checks every
way in that trades with an API key shares (OKX-signed requests, the MCP server for agents):
the key is active, the caller's address is allowed, the passphrase and the secret are the
key's own, the key holds the scope."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from xip_portal.audit import audit_record
from xip_portal.errors import (
    ApplicationError,
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from xip_portal.models import User

from .errors import TradingError
from .key_vault import secret_decrypt, secret_encrypt
from .models import ApiKey
from .selectors import api_key_active

SCOPES = ("read", "trade", "withdraw")
MAX_ACTIVE_KEYS = 50  # as OKX allows per account
MAX_ALLOWLIST = 20
PASSPHRASE_LENGTH = (8, 32)
# `last_used_at` is written at most this often per key: every request would be a write
LAST_USED_GRANULARITY = timedelta(minutes=1)

# (key id, passphrase hash) -> SHA-256 of the passphrase once checked: the password hash is
# slow on purpose, and a bot sends its passphrase with every request
_passphrases_checked: dict[tuple[int, str], bytes] = {}


def ip_allowlist_parse(entries: Iterable[str]) -> list[str]:
    """Addresses and networks (CIDR) in their canonical form, or ApplicationError naming
    the entry that is neither."""
    parsed = []
    for entry in entries:
        text = str(entry).strip()
        if not text:
            continue
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ApplicationError(
                f"{text!r} is not an IP address or network.",
                code=TradingError.BAD_IP_ALLOWLIST,
                field="ip_allowlist",
            ) from None
        canonical = str(network.network_address) if network.num_addresses == 1 else str(network)
        if canonical not in parsed:
            parsed.append(canonical)
    if len(parsed) > MAX_ALLOWLIST:
        raise ApplicationError(
            f"At most {MAX_ALLOWLIST} addresses or networks.",
            code=TradingError.BAD_IP_ALLOWLIST,
            field="ip_allowlist",
        )
    return parsed


def api_key_create(
    *,
    user: User,
    name: str,
    passphrase: str,
    scopes: Iterable[str] = ("read",),
    ip_allowlist: Iterable[str] = (),
) -> tuple[ApiKey, str]:
    """Creates a signing key for `user`; returns it with its secret, which is stored only
    encrypted and never shown again. Every key may read; "trade" and "withdraw" add scopes.
    The passphrase is the user's own (8 to 32 characters), kept as a password hash."""
    name = name.strip()
    if not name or len(name) > ApiKey._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ApplicationError("Give the key a name of at most 50 characters.", field="name")
    wanted = set(scopes)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ApplicationError(f"Unknown scope {unknown[0]!r}.", field="scopes")
    low, high = PASSPHRASE_LENGTH
    if not low <= len(passphrase) <= high:
        raise ApplicationError(
            f"The passphrase has {low} to {high} characters.",
            code=TradingError.BAD_PASSPHRASE,
            field="passphrase",
        )
    allowlist = ip_allowlist_parse(ip_allowlist)
    secret = secrets.token_hex(16).upper()
    with transaction.atomic():
        # one user's keys are counted under a lock on the user, so two requests cannot
        # both take the last place
        User.objects.select_for_update().filter(pk=user.pk).first()
        if ApiKey.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_KEYS:
            raise Conflict(
                f"At most {MAX_ACTIVE_KEYS} active keys; revoke one first.",
                code=TradingError.TOO_MANY_KEYS,
            )
        api_key = ApiKey.objects.create(
            user=user,
            name=name,
            key=str(uuid.uuid4()),
            secret_encrypted=secret_encrypt(secret),
            passphrase_hash=make_password(passphrase),
            can_trade="trade" in wanted,
            can_withdraw="withdraw" in wanted,
            ip_allowlist=allowlist,
        )
        audit_record(
            actor=user,
            action="api_key.create",
            obj=api_key,
            new={"name": name, "scopes": api_key.scopes, "ip_allowlist": allowlist},
        )
    return api_key, secret


def api_key_revoke(*, user: User, key: str, now: datetime | None = None) -> ApiKey:
    """Revokes one of the user's keys; from the commit on, requests signed with it fail.
    Revoking a revoked key is refused (Conflict), another user's key is not found."""
    now = now or timezone.now()
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().filter(user=user, key=key).first()
        if api_key is None:
            raise NotFound("You have no such API key.")
        if api_key.revoked_at is not None:
            raise Conflict("This key is already revoked.", code=TradingError.KEY_REVOKED)
        api_key.revoked_at = now
        api_key.save(update_fields=["revoked_at", "updated_at"])
        audit_record(actor=user, action="api_key.revoke", obj=api_key, old={"name": api_key.name})
    return api_key


def api_key_mark_used(*, api_key: ApiKey, now: datetime | None = None) -> None:
    """Records that the key signed a request: at most one write per key per minute."""
    now = now or timezone.now()
    last = api_key.last_used_at
    if last is not None and now - last < LAST_USED_GRANULARITY:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def _passphrase_ok(api_key: ApiKey, passphrase: str) -> bool:
    digest = hashlib.sha256(passphrase.encode()).digest()
    seen = _passphrases_checked.get((api_key.pk, api_key.passphrase_hash))
    if seen is not None:
        return hmac.compare_digest(seen, digest)
    if not check_password(passphrase, api_key.passphrase_hash):
        return False
    _passphrases_checked[(api_key.pk, api_key.passphrase_hash)] = digest
    return True


def _address_allowed(api_key: ApiKey, address: str) -> bool:
    if not api_key.ip_allowlist:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(entry, strict=False) for entry in api_key.ip_allowlist)


def api_key_authenticate(*, key: str, passphrase: str, address: str) -> ApiKey:
    """The active key `key` (with its user) if `address` is in its allow-list and
    `passphrase` is the key's; NotAuthenticated naming the first check that fails
    (unknown_key, ip_not_allowed, bad_key_passphrase) otherwise. The caller then proves
    it holds the secret (a signature, or the secret itself) and marks the key used."""
    api_key = api_key_active(key=key)
    if api_key is None:
        raise NotAuthenticated("Invalid API key.", code=TradingError.UNKNOWN_KEY)
    if not _address_allowed(api_key, address):
        raise NotAuthenticated(
            "This address is not in the key's IP allow-list.", code=TradingError.IP_NOT_ALLOWED
        )
    if not _passphrase_ok(api_key, passphrase):
        raise NotAuthenticated(
            "API key passphrase incorrect.", code=TradingError.BAD_KEY_PASSPHRASE
        )
    return api_key


def api_key_secret_require(*, api_key: ApiKey, secret: str) -> None:
    """NotAuthenticated (bad_secret) unless `secret` is the key's: for a caller that holds
    the secret in its own process rather than signing requests with it."""
    if not hmac.compare_digest(secret_decrypt(api_key.secret_encrypted).encode(), secret.encode()):
        raise NotAuthenticated("API key secret incorrect.", code=TradingError.BAD_SECRET)


def api_key_scope_require(*, api_key: ApiKey, scope: str) -> None:
    """PermissionDenied (scope_missing) unless the key holds `scope`."""
    if scope not in api_key.scopes:
        raise PermissionDenied(
            f"This API key has no {scope!r} scope.", code=TradingError.SCOPE_MISSING
        )
