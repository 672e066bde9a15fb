"""Redis clients shared by the process: one blocking client per URL, and one asyncio
client per URL and event loop (an asyncio client's connections belong to one loop)."""

from __future__ import annotations

import asyncio
import weakref
from functools import cache

import redis
import redis.asyncio

_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, redis.asyncio.Redis]
] = weakref.WeakKeyDictionary()


@cache
def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def async_redis_client(url: str) -> redis.asyncio.Redis:
    """The asyncio client of `url` for the running event loop."""
    held = _async_clients.setdefault(asyncio.get_running_loop(), {})
    if url not in held:
        held[url] = redis.asyncio.Redis.from_url(url)
    return held[url]
