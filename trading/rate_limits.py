"""Request limits per API key, counted in fixed windows in Redis so every web process
shares them (in-process counters where there is no Redis: the embedded demo)."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings

from xip_portal.redis_clients import async_redis_client, redis_client

_local: dict[str, int] = {}
_local_lock = threading.Lock()


def _redis_url() -> str:
    url = str(settings.TRADING_RATE_LIMIT_URL)
    return url if url.startswith(("redis://", "rediss://", "unix://")) else ""


def rate_limit_take(*, bucket: str, cost: int, limit: int, window: float) -> bool:
    """Counts `cost` requests (or orders) against `bucket`'s limit of `limit` per `window`
    seconds; False when this one would go over it (it is then not counted)."""
    key = _window_key(bucket, window)
    url = _redis_url()
    if not url:
        return _local_take(key, cost, limit)
    client = redis_client(url)
    used = int(_counted(client.pipeline(transaction=False), key, cost, window).execute()[0])
    if used > limit:
        client.decrby(key, cost)
        return False
    return True


async def rate_limit_take_async(*, bucket: str, cost: int, limit: int, window: float) -> bool:
    """`rate_limit_take` for a caller on an event loop (the order fast path), with the
    asyncio client: the loop goes on serving while Redis answers."""
    key = _window_key(bucket, window)
    url = _redis_url()
    if not url:
        return _local_take(key, cost, limit)
    client = async_redis_client(url)
    used = int((await _counted(client.pipeline(transaction=False), key, cost, window).execute())[0])
    if used > limit:
        await client.decrby(key, cost)
        return False
    return True


def _window_key(bucket: str, window: float) -> str:
    return f"ratelimit:{bucket}:{int(time.time() // window)}"


def _counted(pipe: Any, key: str, cost: int, window: float) -> Any:
    """The count on a Redis pipeline (blocking or asyncio); its first answer is the
    window's count with this one."""
    pipe.incrby(key, cost)
    pipe.expire(key, max(1, int(window) + 1))
    return pipe


def _local_take(key: str, cost: int, limit: int) -> bool:
    slot = key.rpartition(":")[2]
    with _local_lock:
        for stale in [k for k in _local if not k.endswith(f":{slot}")]:
            del _local[stale]
        used = _local.get(key, 0) + cost
        if used > limit:
            return False
        _local[key] = used
        return True
