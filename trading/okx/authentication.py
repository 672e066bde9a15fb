"""Requests signed as OKX v5 signs them: OK-ACCESS-KEY, OK-ACCESS-PASSPHRASE,
OK-ACCESS-TIMESTAMP (ISO-8601 UTC with milliseconds) and OK-ACCESS-SIGN, the Base64 of
HMAC-SHA256 under the key's secret over timestamp + method + request path (with its query
string) + body. Every refusal happens here, before a view runs: nothing is journaled."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from xip_portal.client_address import client_address
from xip_portal.errors import NotAuthenticated
from xip_portal.models import User

from ..errors import TradingError
from ..key_vault import key_secret
from ..models import ApiKey
from ..services import api_key_authenticate, api_key_mark_used, api_key_scope_require

MAX_SKEW = timedelta(seconds=30)
HEADERS = ("OK-ACCESS-KEY", "OK-ACCESS-PASSPHRASE", "OK-ACCESS-TIMESTAMP", "OK-ACCESS-SIGN")


def signature(secret: str, prehash: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), prehash, hashlib.sha256).digest()).decode()


def request_timestamp(text: str, *, now: datetime) -> datetime:
    """The request's OK-ACCESS-TIMESTAMP, refused if malformed or more than 30 s away."""
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        raise NotAuthenticated(
            "OK-ACCESS-TIMESTAMP is not an ISO-8601 UTC time.", code=TradingError.BAD_TIMESTAMP
        )
    if abs(now - stamp.astimezone(UTC)) > MAX_SKEW:
        raise NotAuthenticated(
            "Timestamp request expired: more than 30 s from the server's clock.",
            code=TradingError.TIMESTAMP_EXPIRED,
        )
    return stamp


class OkxSignatureAuthentication(BaseAuthentication):
    """Authenticates the key's user; `request.auth` is the ApiKey."""

    def authenticate(self, request: Request) -> tuple[User, ApiKey]:
        meta = request.META
        values = [meta.get("HTTP_" + name.replace("-", "_"), "") for name in HEADERS]
        for name, value in zip(HEADERS, values, strict=True):
            if not value:
                raise NotAuthenticated(
                    f'Request header "{name}" can not be empty.',
                    code=TradingError.MISSING_CREDENTIALS,
                )
        key, passphrase, timestamp, signed = values
        request_timestamp(timestamp, now=timezone.now())
        api_key = api_key_authenticate(
            key=key, passphrase=passphrase, address=client_address(request._request)
        )
        django_request = request._request
        prehash = (timestamp + django_request.method + django_request.get_full_path()).encode()
        secret = key_secret(key_id=api_key.pk, secret_encrypted=api_key.secret_encrypted)
        expected = signature(secret, prehash + request.body)
        if not hmac.compare_digest(expected.encode(), signed.encode()):
            raise NotAuthenticated("Invalid signature.", code=TradingError.BAD_SIGNATURE)
        api_key_mark_used(api_key=api_key)
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return "OK-ACCESS-SIGN"


class KeyScope(BasePermission):
    """A read (GET) needs the "read" scope; a write needs the view's `key_scope` ("trade"
    for orders)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        wanted = "read" if request.method == "GET" else getattr(view, "key_scope", "read")
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            raise NotAuthenticated("Sign the request with an API key.")
        api_key_scope_require(api_key=api_key, scope=wanted)
        return True
