"""Values kept while what they are made of has not changed: in Django's cache (Redis when
several processes serve), or in the memory of this process."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.core.cache import cache

T = TypeVar("T")


def cache_key(prefix: str, name: str) -> str:
    """The key of `name` under `prefix`: a digest, so that any text (a market's id, say)
    makes a key every cache backend takes."""
    return f"{prefix}:{hashlib.blake2b(name.encode(), digest_size=16).hexdigest()}"


def kept_while(key: str, mark: Hashable, make: Callable[[], T], seconds: int) -> T:
    """`make()`, kept under `key` for up to `seconds` and given again while `mark` (read by
    the caller from what the value is made of, before it is made) is the same."""
    cached = cache.get(key)
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == mark:
        return cached[1]  # type: ignore[no-any-return]
    value = make()
    cache.set(key, (mark, value), seconds)
    return value


# key -> (mark, value); bounded by the callers' keys (one per registry market, say)
_in_process: dict[str, tuple[Hashable, Any]] = {}


def kept_in_process(key: str, mark: Hashable, make: Callable[[], T]) -> T:
    """`make()`, kept in this process under `key` and given again while `mark` (read by the
    caller before it is made) is the same: for what every request reads, which would cost
    more to fetch from a shared cache and unpickle than to check. The value is shared by
    every request of the process: never one viewer's data, and never changed once made."""
    kept = _in_process.get(key)
    if kept is not None and kept[0] == mark:
        return kept[1]  # type: ignore[no-any-return]
    value = make()
    _in_process[key] = (mark, value)
    return value
