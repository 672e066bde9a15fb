"""Telling submitters what the engine did, after the batch that applied their command
committed: Redis pub/sub between processes, in-process listeners in the embedded demo
(eager Celery runs the writer inside the submitting process)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cache
from typing import Any

import redis
from django.conf import settings

# in-process listeners: (shard_id, [(command_id, outcome), ...]) after each committed batch
local_listeners: list[Callable[[int, list[tuple[int, dict[str, Any]]]], None]] = []


def in_process() -> bool:
    return bool(settings.CELERY_TASK_ALWAYS_EAGER)


@cache
def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def client() -> redis.Redis:
    return redis_client(settings.CELERY_BROKER_URL)


def command_channel(command_id: int) -> str:
    return f"engine:outcome:{command_id}"


def shard_channel(shard_id: int) -> str:
    return f"engine:shard:{shard_id}"


def publish(shard_id: int, applied: list[tuple[int, dict[str, Any]]], waiting: set[int]) -> None:
    """After commit: each waited-for command's outcome on its own channel, and the batch's
    command ids and sequence range on the shard's channel (for live pages)."""
    if in_process():
        for listener in list(local_listeners):
            listener(shard_id, applied)
        return
    pipe = client().pipeline(transaction=False)
    for command_id, outcome in applied:
        if command_id in waiting:
            pipe.publish(command_channel(command_id), json.dumps(outcome))
    pipe.publish(shard_channel(shard_id), json.dumps([command_id for command_id, _ in applied]))
    pipe.execute()


def wait(command_id: int, timeout: float, fetch: Callable[[], Any]) -> Any:
    """Wait up to `timeout` seconds for a command's outcome. `fetch()` reads it from the
    database (None while pending); it is called after subscribing, so an outcome published
    in between is not missed."""
    outcome = fetch()
    if outcome is not None or timeout <= 0 or in_process():
        return outcome
    pubsub = client().pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    try:
        pubsub.subscribe(command_channel(command_id))
        outcome = fetch()
        deadline = time.monotonic() + timeout
        while outcome is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            message = pubsub.get_message(timeout=left)
            if message is not None and message["type"] == "message":
                return json.loads(message["data"])
        return outcome
    finally:
        pubsub.close()


def wait_applied(shard_id: int, pending: Callable[[], set[int]], timeout: float) -> bool:
    """Wait up to `timeout` seconds until the commands `pending()` names (read from the
    database, and again after subscribing to the shard's channel) are all applied; True if
    they are."""
    left = pending()
    if not left or in_process():
        return not left
    pubsub = client().pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    try:
        pubsub.subscribe(shard_channel(shard_id))
        left = pending()
        deadline = time.monotonic() + timeout
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            message = pubsub.get_message(timeout=remaining)
            if message is not None and message["type"] == "message":
                left.difference_update(json.loads(message["data"]))
        return True
    finally:
        pubsub.close()
