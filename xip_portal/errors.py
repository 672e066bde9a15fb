"""One application error with a stable code, mapped here, and only here, to API responses
(JSON `{code, message, fields}`) and to pages (a message and the status).

Each room declares its codes in its errors.py (a StrEnum); the codes every room shares are
ErrorCode below. A refusal's HTTP status is that of its kind (the ApplicationError subclass
that carries the code: invalid 400, not authenticated 401, not allowed 403, not found 404,
conflict with the current state 409); the engine core's reason codes map to statuses in
REASON_HTTP_STATUS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from engine.core.reasons import Reason


class ErrorCode(StrEnum):
    """The codes every room shares. Each room declares its own in its errors.py."""

    INVALID_REQUEST = "invalid_request"
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    CONFLICT = "conflict"
    NOT_AUTHENTICATED = "not_authenticated"
    TWO_FACTOR_REQUIRED = "two_factor_required"
    ROLE_REQUIRED = "role_required"
    REASON_REQUIRED = "reason_required"
    NOT_EDITABLE = "not_editable"
    ILLEGAL_TRANSITION = "illegal_transition"
    INVALID_SPEC = "invalid_spec"
    INVALID = "invalid"
    INVALID_CHARACTERS = "invalid_characters"
    BAD_REQUEST = "bad_request"
    SERVER_ERROR = "server_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    USER_NOT_FOUND = "user_not_found"
    INSTITUTION_EXISTS = "institution_exists"
    ALREADY_MEMBER = "already_member"
    NOT_INSTITUTION_MEMBER = "not_institution_member"
    # Request limits (xip_portal/request_limits.py) and bounded values (bounded_values.py).
    PARSE_ERROR = "parse_error"
    JSON_TOO_DEEP = "json_too_deep"
    REQUEST_TOO_LARGE = "request_too_large"
    INVALID_NUMBER = "invalid_number"
    OUT_OF_RANGE = "out_of_range"
    TOO_MANY_DECIMAL_PLACES = "too_many_decimal_places"
    INVALID_TIME = "invalid_time"


class ApplicationError(Exception):
    """A refusal the user can act on. `code` is stable (clients branch on it), `message` is
    for people, `fields` maps an input field to what is wrong with it (`field=` names the
    one field the message is about)."""

    code: str = ErrorCode.INVALID_REQUEST
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        fields: dict[str, list[str]] | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.fields = fields or ({field: [message]} if field else {})

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class NotFound(ApplicationError):
    code: str = ErrorCode.NOT_FOUND
    http_status = 404


class PermissionDenied(ApplicationError):
    code: str = ErrorCode.PERMISSION_DENIED
    http_status = 403


class NotAuthenticated(PermissionDenied):
    code: str = ErrorCode.NOT_AUTHENTICATED
    http_status = 401


class RequestTooLarge(ApplicationError):
    code = ErrorCode.REQUEST_TOO_LARGE
    http_status = 413


class Conflict(ApplicationError):
    code: str = ErrorCode.CONFLICT
    http_status = 409


# The engine core's reason codes as an HTTP status, for the API that submits a command and
# reports the engine's refusal (the reason is the error's code, shown as is).
REASON_HTTP_STATUS: dict[Reason, int] = {
    **dict.fromkeys(
        [
            Reason.BAD_TICK,
            Reason.BAD_LOT,
            Reason.BELOW_MIN_SIZE,
            Reason.BAD_SIZE,
            Reason.BAD_PRICE,
            Reason.BAD_OUTCOME,
            Reason.BAD_EXPIRY,
            Reason.BAD_AMOUNT,
            Reason.BAD_MARKET_CONFIG,
            Reason.REDUCE_ONLY_NOT_PERP,
        ],
        400,
    ),
    Reason.NOT_ORDER_OWNER: 403,
    **dict.fromkeys([Reason.UNKNOWN_MARKET, Reason.UNKNOWN_ACCOUNT, Reason.UNKNOWN_ORDER], 404),
    **dict.fromkeys(
        [
            Reason.PRICE_OUT_OF_BAND,
            Reason.MARKET_HALTED,
            Reason.MARKET_CLOSED,
            Reason.NO_LIQUIDITY,
            Reason.POST_ONLY_WOULD_CROSS,
            Reason.FOK_NOT_FILLABLE,
            Reason.REDUCE_ONLY_WOULD_INCREASE,
            Reason.DUPLICATE_CLIENT_ORDER_ID,
            Reason.DUPLICATE_ORDER_ID,
            Reason.NO_MARK_PRICE,
            Reason.INSUFFICIENT_BALANCE,
            Reason.INSUFFICIENT_MARGIN,
            Reason.DUPLICATE_EXTERNAL_ID,
            Reason.DUPLICATE_TRANSFER_ID,
            Reason.MARKET_EXISTS,
            Reason.BAD_MARKET_STATE,
            Reason.RESOLUTION_NOT_PROPOSED,
            Reason.DISPUTE_WINDOW_OPEN,
            Reason.DISPUTE_WINDOW_OVER,
        ],
        409,
    ),
}
# Why a resting order left the book: events, never a refusal of a request.
ORDER_END_REASONS = frozenset(
    {
        Reason.CANCELLED_BY_TRADER,
        Reason.SELF_TRADE_PREVENTED,
        Reason.IOC_REMAINDER,
        Reason.EXPIRED,
        Reason.LIQUIDATION,
        Reason.MARKET_STOPPED,
        Reason.AMEND_REPLACED,
    }
)


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def error_body(
    code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {"code": code, "message": message, "fields": fields or {}}


# An API under its own path prefix that answers errors in another shape (the trading
# room's OKX v5-compatible /api/v5/): (prefix, body of (code, message)), registered by it.
_api_error_bodies: list[tuple[str, Callable[[str, str], dict[str, Any]]]] = []


def api_error_body_register(prefix: str, body: Callable[[str, str], dict[str, Any]]) -> None:
    _api_error_bodies.append((prefix, body))


def api_error_response(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    fields: dict[str, list[str]] | None = None,
) -> JsonResponse:
    """An error of an API request, in the shape its API answers errors."""
    for prefix, body in _api_error_bodies:
        if request.path.startswith(prefix):
            return JsonResponse(body(code, message), status=status)
    return JsonResponse(error_body(code, message, fields), status=status)


def error_response(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    """The error as the caller reads it: JSON under /api/, the error page elsewhere."""
    if is_api_request(request):
        return api_error_response(request, status, code, message)
    context = {"title": message, "message": "", "code": code}
    return render(request, "error.html", context, status=status)


def _drf_fields(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(name): [str(item) for item in (value if isinstance(value, list) else [value])]
            for name, value in detail.items()
        }
    return {"non_field_errors": [str(item) for item in detail]} if isinstance(detail, list) else {}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error an API client sees has the same shape."""
    # Imported here: rest_framework.views loads the default parser, which imports this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if not isinstance(exc, drf_exceptions.APIException):
        return response
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = _drf_fields(exc.detail)
        message = "The request has invalid fields: " + ", ".join(sorted(fields)) + "."
        response.data = error_body(ErrorCode.INVALID, message, fields)
    else:
        detail = exc.detail
        message = str(detail.get("detail", detail) if isinstance(detail, dict) else detail)
        response.data = error_body(exc.default_code, message)
    return response


class ApplicationErrorMiddleware:
    """Pages: an ApplicationError that escapes a view becomes the error page with its
    message and status (forms catch it earlier to show errors beside the fields)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, ApplicationError):
            return None
        if is_api_request(request):
            return api_error_response(request, exc.http_status, exc.code, exc.message, exc.fields)
        return render(
            request,
            "error.html",
            {"title": "That did not work", "message": exc.message, "code": exc.code},
            status=exc.http_status,
        )


@contextmanager
def errors_as_messages(request: HttpRequest) -> Iterator[None]:
    """Pages whose action redirects back: a refusal becomes an error message on the page the
    user returns to (code after the failing call in the block is skipped). "Not found" still
    answers 404."""
    try:
        yield
    except ApplicationError as exc:
        if exc.http_status == 404:
            raise
        messages.error(request, exc.message)


def form_add_application_error(form: Any, exc: ApplicationError) -> None:
    """Shows an ApplicationError on a Django form: each field's problem beside the field,
    the rest at the top of the form. Refusals (not logged in, not allowed, not found) are
    not about the input: they propagate to the error page."""
    if exc.http_status in (401, 403, 404):
        raise exc
    for name, field_messages in exc.fields.items():
        for message in field_messages:
            form.add_error(name if name in form.fields else None, message)
    if not exc.fields:
        form.add_error(None, exc.message)
