"""A request id for every request, and one JSON log line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("xip_portal.request")

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestLogMiddleware:
    """Takes the caller's X-Request-ID when it is well formed (so a trace spans services),
    otherwise makes one; returns it in the response and logs the request when it ends."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_of(request.headers.get("X-Request-ID", ""))
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        user = getattr(request, "user", None)
        request_log(
            request_id=request_id,
            method=str(request.method),
            path=request.path,
            status=response.status_code,
            started=started,
            user=user.pk if user is not None and user.is_authenticated else None,
        )
        return response


def request_id_of(supplied: str) -> str:
    """The caller's X-Request-ID when it is well formed, a new one otherwise."""
    return supplied if _SAFE_REQUEST_ID.match(supplied) else uuid.uuid4().hex


def request_log(
    *, request_id: str, method: str, path: str, status: int, started: float, user: int | None
) -> None:
    """The one log line of a request (`started`: its time.perf_counter())."""
    logger.info(
        "request",
        extra={
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "user": user,
        },
    )
