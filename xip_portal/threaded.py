"""Synchronous views on a pool of threads that live as long as the web process.

Django's ASGI handler runs a synchronous view on a thread made for that one request
(asgiref's ThreadSensitiveContext): the event loop starts the thread, waits until it runs,
and joins it when the request ends. With the synchronous middleware, a request also goes
from that thread to the loop and back twice. Each step waits for the loop, and the loop
waits for the thread's start and join, which need the interpreter lock that the busy page
threads hold. Under load (the market page and portfolio beside 1,000 orders/s) the loop was
blocked in those starts and joins for about a third of its time.

So every view that is not a coroutine goes through Django's WSGI handler, on a fixed pool
of WEB_THREADS threads (a2wsgi), with the same middleware. The asynchronous views (the live
streams, which hold their response open) stay on Django's ASGI handler."""

import asyncio
from functools import lru_cache
from typing import Any

from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.urls import Resolver404, resolve


class SyncViewsInThreads:
    """ASGI wrapper of Django's ASGI application (`app`): HTTP requests for synchronous
    views go to Django's WSGI handler on WEB_THREADS threads."""

    def __init__(self, app: Any) -> None:
        self.app = app
        # (a WSGI response is iterable: Django's stubs name its type, not the protocol)
        handler: Any = get_wsgi_application()
        self.threaded = WSGIMiddleware(handler, workers=settings.WEB_THREADS)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not view_is_async(scope["path"]):
            await self.threaded(scope, receive, send)
        else:
            await self.app(scope, receive, send)


@lru_cache(maxsize=4096)
def view_is_async(path: str) -> bool:
    """Whether the view of `path` is a coroutine function (a path naming no view: no, its
    404 page is synchronous)."""
    try:
        view = resolve(path).func
    except Resolver404:
        return False
    return asyncio.iscoroutinefunction(view)
