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

    loaded_at_start = [["a module's object"]]
    with override_settings(WEB_GC_FREEZE_AFTER_REQUESTS=3):
        wrapper = FrozenAfterWarmUp(app)
        loaded_on_first_use = [["a template's node"]]
        requests(2)
        reached_before_warm_up = (reached(loaded_at_start), reached(loaded_on_first_use))
        requests(1)
        made_after_warm_up = [["a request's object"]]
        requests(5)

    assert reached_before_warm_up == (False, True)
    assert not reached(loaded_on_first_use)
    assert reached(made_after_warm_up)  # not frozen: the freeze came once
    assert answered == ["/"] * 8


def reached(thing: object) -> bool:
    """Whether the collector walks `thing` (a frozen object is in no generation)."""
    return any(held is thing for held in gc.get_objects())
