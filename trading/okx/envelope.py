"""The base of every /api/v5/ view: OKX's envelope `{"code", "msg", "data"}`, refusals
turned into OKX codes through the one table (trading.okx.codes), and OKX's request
limits per key (per address for public endpoints) and instrument."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework import exceptions as drf_exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engine.selectors import account_caught_up
from xip_portal.client_address import client_address
from xip_portal.errors import ApplicationError, NotAuthenticated
from xip_portal.models import User
from xip_portal.request_limits import BoundedJSONParser

from ..errors import TradingError
from ..models import ApiKey
from ..rate_limits import rate_limit_take, rate_limit_take_async
from .authentication import KeyScope, OkxSignatureAuthentication
from .codes import OKX_CODES, PARAMETER_ERROR, okx_code


def okx_ok(data: Sequence[Any]) -> Response:
    return Response({"code": "0", "msg": "", "data": list(data)})


def okx_error_body(code: str, message: str) -> dict[str, Any]:
    """A refusal in OKX's envelope: OKX's code, the project's own code in `msg`."""
    return {"code": okx_code(code).code, "msg": f"{message} ({code})", "data": []}


def okx_refusal(exc: ApplicationError) -> Response:
    return Response(okx_error_body(exc.code, exc.message), status=okx_code(exc.code).http_status)


# set in an ASGI request's scope by the order fast path (trading.okx.fast_path) once it
# took the request's limits, when it then hands the request to Django
LIMITS_TAKEN = "okx_limits_taken"


def limits_taken(request: HttpRequest) -> bool:
    """Whether the order fast path took the request's limits before handing it to Django:
    the mark in its ASGI scope, which Django's ASGI request keeps as `scope` and the WSGI
    environ of a synchronous view's thread (xip_portal.threaded) as `asgi.scope`."""
    scope = getattr(request, "scope", None) or request.META.get("asgi.scope", {})
    return bool(scope.get(LIMITS_TAKEN))


def okx_limit_take(view: type[OkxView], *, who: str, instrument: str, cost: int) -> bool:
    """Takes `cost` from the view's OKX request limit for the key (or address) `who` and
    `instrument`; False if that would exceed it (always True with the limits off)."""
    if not settings.TRADING_RATE_LIMITS:
        return True
    return rate_limit_take(**_okx_limit(view, who, instrument), cost=cost)


async def okx_limit_take_async(
    view: type[OkxView], *, who: str, instrument: str, cost: int
) -> bool:
    """`okx_limit_take` on an event loop (the order fast path)."""
    if not settings.TRADING_RATE_LIMITS:
        return True
    return await rate_limit_take_async(**_okx_limit(view, who, instrument), cost=cost)


def _okx_limit(view: type[OkxView], who: str, instrument: str) -> dict[str, Any]:
    limit, window = view.rate_limit
    return {"bucket": f"okx:{view.__name__}:{who}:{instrument}", "limit": limit, "window": window}


class OkxView(APIView):
    """Public by default; a private view sets `private = True` (and `key_scope`)."""

    private = False
    key_scope = "read"
    # a POST that only journals new orders: it need not wait for the trader's earlier ones
    places_orders = False
    # OKX's documented limit: (requests, seconds), per key (per address when public)
    rate_limit: tuple[int, float] = (20, 2.0)
    throttle_classes: Sequence[type] = ()
    parser_classes = [BoundedJSONParser]  # OKX's bodies are JSON

    def get_authenticators(self) -> list[Any]:
        return [OkxSignatureAuthentication()] if self.private else []

    def get_permissions(self) -> list[Any]:
        return [KeyScope()] if self.private else []

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        instrument = self.instrument_of(request)
        if instrument is not None:
            self.limit_take(request, cost=1, instrument=instrument)
        if self.private and not (self.places_orders and request.method == "POST"):
            # a trader's read, cancel or amend sees their own earlier orders (whose ids
            # were answered at commit) applied
            account_caught_up(account=self.trader(request).pk)

    def trader(self, request: Request) -> User:
        """The signing key's user (a private view runs only for one)."""
        user = request.user
        if not isinstance(user, User):
            raise NotAuthenticated("Sign the request with an API key.")
        return user

    def instrument_of(self, request: Request) -> str | None:
        """The instrument a request is counted against (OKX counts order requests per
        instrument); the view's own bucket otherwise; None for a batch, which its handler
        counts by its orders (OKX's batch limits count orders, not requests)."""
        if request.method == "GET":
            return str(request.query_params.get("instId", ""))
        data = request.data
        return str(data.get("instId", "")) if isinstance(data, dict) else ""

    def limit_take(self, request: Request, *, cost: int, instrument: str = "") -> None:
        if limits_taken(request._request):
            return  # the order fast path counted this request before handing it over
        who = (
            request.auth.key
            if isinstance(request.auth, ApiKey)
            else client_address(request._request)
        )
        if not okx_limit_take(type(self), who=who, instrument=instrument, cost=cost):
            raise ApplicationError("Too Many Requests", code=TradingError.RATE_LIMITED)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ApplicationError):
            return okx_refusal(exc)
        if isinstance(exc, drf_exceptions.APIException):
            status = exc.status_code
            okx = OKX_CODES.get(str(exc.default_code), PARAMETER_ERROR)
            return Response(
                {"code": okx.code, "msg": str(exc.detail), "data": []},
                status=status,
            )
        return super().handle_exception(exc)
