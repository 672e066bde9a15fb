"""What every operation of the project's own trading API (/api/v1/) shares: the three ways
to authenticate (session with CSRF, the API token, an API key signed as OKX signs), the
key's scopes, request limits on writes, the `Idempotency-Key` every write carries, and
amounts and prices as decimal strings."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from xip_portal.errors import REASON_HTTP_STATUS, ApplicationError, Conflict
from xip_portal.models import User
from xip_portal.request_limits import BoundedJSONParser
from xip_portal.roles import acting_user

from .errors import TradingError
from .models import ApiKey
from .okx.authentication import KeyScope, OkxSignatureAuthentication
from .okx.openapi import OkxSignatureScheme
from .rate_limits import rate_limit_take
from .selectors import answer_kept
from .services import answer_keep, answer_settle

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,40}")
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    pattern=IDEMPOTENCY_KEY.pattern,
    description=(
        "1 to 40 letters, digits or `_.:-`, new for each write: a repeat of the request with "
        "the same key gets the first answer and changes nothing."
    ),
)
DECIMAL_TEXT = r"^[0-9]{1,30}(\.[0-9]{1,30})?$"


class ApiKeySignature(OkxSignatureAuthentication):
    """An API key's signature (OK-ACCESS-* headers, as /api/v5 checks them); a request
    without OK-ACCESS-KEY is left to the session or the token."""

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:  # type: ignore[override]
        if not request.META.get("HTTP_OK_ACCESS_KEY"):
            return None
        return super().authenticate(request)


class ApiKeySignatureScheme(OkxSignatureScheme):  # type: ignore[no-untyped-call]
    """The same four headers as /api/v5's; a component of their own, as the class differs."""

    target_class = ApiKeySignature
    name = ["apiKeyAccessKey", "apiKeyPassphrase", "apiKeyTimestamp", "apiKeySign"]


class ApiKeyScope(KeyScope):
    """A signed request needs its key's scope; a session or the API token acts with the
    user's own rights."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not isinstance(request.auth, ApiKey):
            return True
        return super().has_permission(request, view)


class DecimalText(serializers.RegexField):
    """An amount, size or price as a decimal string ("0.25"): a JSON number is refused,
    as a float would already have lost digits on its way here."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 61)
        kwargs.setdefault("help_text", 'A decimal string such as "0.25".')
        super().__init__(DECIMAL_TEXT, **kwargs)
        self.error_messages["invalid"] = 'Send a decimal string such as "0.25".'

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


def decimal_text(value: Decimal) -> str:
    """A decimal as the API writes it: no exponent, no trailing zeros."""
    return f"{value.normalize():f}" if value else "0"


class TradingApiView(APIView):
    """The base of /api/v1's trading operations. `key_scope` is what a signed write needs;
    `write_limit` (requests or orders, seconds) is counted per user and operation."""

    authentication_classes = [TokenAuthentication, SessionAuthentication, ApiKeySignature]
    parser_classes = [BoundedJSONParser]  # JSON bodies only: amounts stay strings
    permission_classes = [IsAuthenticated, ApiKeyScope]
    key_scope = "trade"
    write_limit: tuple[int, float] = (60, 2.0)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method not in SAFE_METHODS:
            self.limit_take(request, cost=self.write_cost(request))

    def write_cost(self, request: Request) -> int:
        return 1

    def limit_take(self, request: Request, *, cost: int) -> None:
        if not settings.TRADING_RATE_LIMITS:
            return
        limit, window = self.write_limit
        bucket = f"v1:{type(self).__name__}:{request.user.pk}"
        if not rate_limit_take(bucket=bucket, cost=cost, limit=limit, window=window):
            raise ApplicationError(
                f"Too many requests: at most {limit} per {window:g} s.",
                code=TradingError.RATE_LIMITED,
                http_status=429,
            )

    def idempotent(
        self,
        request: Request,
        write: Callable[[str], Response],
        *,
        refresh: Callable[[Any], Response] | None = None,
    ) -> Response:
        """Runs `write(engine_key)` once per Idempotency-Key: a repeat of the request gets
        the kept answer (a refusal is not kept: nothing was done, a repeat asks again),
        the key on another request is refused. `engine_key` is what the
        write passes to the engine service so its commands are journaled once even when
        the answer was lost.

        A kept 202 (journaled, not applied yet) is not the last word: with `refresh`, a
        repeat answers `refresh(kept body)`, the same command's outcome as the engine has
        it now (201/200, or the engine's refusal), and keeps that once it is final, as
        OKX and Stripe answer a repeat with the same resource as it is now."""
        key = request.headers.get("Idempotency-Key", "")
        if not IDEMPOTENCY_KEY.fullmatch(key):
            raise ApplicationError(
                "Send an Idempotency-Key header of 1 to 40 letters, digits or _.:- "
                "(new for each write).",
                code=TradingError.BAD_IDEMPOTENCY_KEY,
                field="Idempotency-Key",
            )
        user = acting_user(request)
        fingerprint = hashlib.sha256(
            json.dumps(
                [request.method, request.get_full_path(), request.data],
                sort_keys=True,
                separators=(",", ":"),
            ).encode()
        ).hexdigest()
        kept = answer_kept(user=user, key=key)
        if kept is None:
            response = write(f"v1:{key}")
            if not status.is_success(response.status_code):
                return response
            kept = answer_keep(
                user=user,
                key=key,
                fingerprint=fingerprint,
                status=response.status_code,
                body=response.data,
            )
        if kept.fingerprint != fingerprint:
            raise Conflict(
                "This Idempotency-Key was used for another request; use a new key.",
                code=TradingError.IDEMPOTENCY_KEY_REUSED,
                field="Idempotency-Key",
            )
        if kept.status == status.HTTP_202_ACCEPTED and refresh is not None:
            now = refresh(kept.body)
            if now.status_code != status.HTTP_202_ACCEPTED:
                answer_settle(answer=kept, status=now.status_code, body=now.data)
            return now
        return Response(kept.body, status=kept.status)


def receipt_refusal(reason: str) -> ApplicationError:
    """The engine's rejection of a command as the API's error, its reason as the code."""
    return ApplicationError(
        f"The engine refused it: {reason}.",
        code=reason,
        http_status=REASON_HTTP_STATUS.get(reason, 409),  # type: ignore[call-overload]
    )
