"""Request limits per API key, counted in fixed windows in Redis so every web process
shares them (in-process counters where there is no Redis: the embedded demo)."""

from __future__ import annotations

import threading
import time
from functools import cache

import redis
from django.conf import settings

_local: dict[str, int] = {}
_local_lock = threading.Lock()


@cache
def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def _redis_url() -> str:
    url = str(settings.TRADING_RATE_LIMIT_URL)
    return url if url.startswith(("redis://", "rediss://", "unix://")) else ""


def rate_limit_take(*, bucket: str, cost: int, limit: int, window: float) -> bool:
    """Counts `cost` requests (or orders) against `bucket`'s limit of `limit` per `window`
    seconds; False when this one would go over it (it is then not counted)."""
    slot = int(time.time() // window)
    key = f"ratelimit:{bucket}:{slot}"
    url = _redis_url()
    if not url:
        with _local_lock:
            for stale in [k for k in _local if not k.endswith(f":{slot}")]:
                del _local[stale]
            used = _local.get(key, 0) + cost
            if used > limit:
                return False
            _local[key] = used
            return True
    client = redis_client(url)
    pipe = client.pipeline(transaction=False)
    pipe.incrby(key, cost)
    pipe.expire(key, max(1, int(window) + 1))
    used = int(pipe.execute()[0])
    if used > limit:
        client.decrby(key, cost)
        return False
    return True
