"""The web process's garbage collector. A full collection walks every object the process
holds: once the pages and APIs are loaded, about 180,000, which took 50-150 ms on this
machine, and the event loop answers nothing meanwhile (every order acknowledgement waiting
in that process takes the pause). Almost all of them (modules, views, templates, the
instruments held by the order fast path) live as long as the process. So they are frozen
out of the collector's reach (gc.freeze): what is loaded at start-up, and what the first
requests load on first use; later collections walk only what came after."""

import gc
from typing import Any

from django.conf import settings
from django.urls import get_resolver


class FrozenAfterWarmUp:
    """ASGI wrapper: freezes what the process holds at start-up (every view imported), and
    again after its first WEB_GC_FREEZE_AFTER_REQUESTS requests, after one full collection
    (so that only what is alive is kept)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0
        get_resolver().url_patterns  # noqa: B018 - imports every view
        gc.freeze()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.requests < settings.WEB_GC_FREEZE_AFTER_REQUESTS:
            self.requests += 1
            if self.requests == settings.WEB_GC_FREEZE_AFTER_REQUESTS:
                gc.collect()
                gc.freeze()
        await self.app(scope, receive, send)
