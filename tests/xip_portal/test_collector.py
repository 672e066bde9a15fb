"""The web process's garbage collector (xip_portal.collector): what the process holds after
start-up and after its first requests is frozen out of the collector's reach, so a full
collection no longer stops the event loop for every object a loaded process holds."""

import asyncio
import gc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import override_settings

from xip_portal.collector import FrozenAfterWarmUp


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_what_the_process_holds_is_frozen_at_start_and_after_its_first_requests() -> None:
    answered: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        answered.append(scope["path"])

    def requests(count: int) -> None:
        """`count` requests on an event loop of their own (in a thread: a browser test
        may have left one running in this one)."""

        async def sent() -> None:
            for _ in range(count):
                await wrapper({"type": "http", "path": "/"}, None, None)

        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, sent()).result()

    with override_settings(WEB_GC_FREEZE_AFTER_REQUESTS=3):
        wrapper = FrozenAfterWarmUp(app)
        at_start = gc.get_freeze_count()
        loaded_on_first_use = [[index] for index in range(1000)]
        requests(2)
        assert gc.get_freeze_count() == at_start > 0
        requests(1)
        after_warm_up = gc.get_freeze_count()
        requests(5)

    assert after_warm_up >= at_start + len(loaded_on_first_use)
    assert gc.get_freeze_count() <= after_warm_up  # frozen once (what dies leaves)
    assert answered == ["/"] * 8
