"""Telling submitters and live pages what the engine did, after the batch that applied their
command committed: Redis pub/sub between processes, in-process listeners in the embedded demo
(eager Celery runs the writer inside the submitting process).

Each committed batch is announced once on its shard's channel as a `change`: the shard, the
batch's last sequence number, its command ids, and the markets and accounts its events
touched. Live pages (trading.live) re-read what a change touched; nothing else is sent."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio
from django.conf import settings
from django.db import connection

from engine.codec import json_bytes, json_value
from xip_portal.redis_clients import async_redis_client, redis_client

# in-process listeners: the change of each committed batch (see `change_of`)
local_listeners: list[Callable[[dict[str, Any]], None]] = []


def in_process() -> bool:
    return bool(settings.CELERY_TASK_ALWAYS_EAGER)


def client() -> redis.Redis:
    return redis_client(settings.CELERY_BROKER_URL)


def async_client() -> redis.asyncio.Redis:
    """The broker's Redis for the running event loop."""
    return async_redis_client(settings.CELERY_BROKER_URL)


def _channels() -> str:
    """Channel names start with the database's name: Redis pub/sub ignores the database
    number, and two deployments (or test runs) on one Redis must not hear each other's
    commands, whose ids and shard ids coincide."""
    return f"{connection.settings_dict['NAME']}:engine:"


def command_channel(command_id: int) -> str:
    return f"{_channels()}outcome:{command_id}"


def shard_channel(shard_id: int) -> str:
    return f"{_channels()}shard:{shard_id}"


def shard_channels() -> str:
    """The pattern of every shard's channel."""
    return f"{_channels()}shard:*"


def change_of(
    shard_id: int, seq: int, command_ids: list[int], markets: set[str], accounts: set[int]
) -> dict[str, Any]:
    """What a committed batch touched: {"shard", "seq" (its last), "commands" (ids),
    "markets" and "accounts" (sorted) its events named (`engine.core.keys_named`)}."""
    return {
        "shard": shard_id,
        "seq": seq,
        "commands": command_ids,
        "markets": sorted(markets),
        "accounts": sorted(accounts),
    }


def publish(shard_id: int, change: dict[str, Any], waited: list[tuple[int, str]]) -> None:
    """After commit: the outcomes waited for (command id, outcome JSON), each on its
    command's channel, and the batch's change (`change_of`) on the shard's channel (for
    live pages)."""
    if in_process():
        for listener in list(local_listeners):
            listener(change)
        return
    pipe = client().pipeline(transaction=False)
    for command_id, outcome in waited:
        pipe.publish(command_channel(command_id), outcome)
    pipe.publish(shard_channel(shard_id), json_bytes(change))
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
                return json_value(message["data"])
        return outcome
    finally:
        pubsub.close()


async def wait_async(
    command_ids: list[int], timeout: float, fetch: Callable[[], Awaitable[dict[int, Any]]]
) -> dict[int, Any]:
    """`wait` on an event loop (the asyncio client), for several commands at once: their
    outcomes known within `timeout` seconds, by command id. `fetch()` reads those the
    database holds; it is called after subscribing, so an outcome published in between is
    not missed."""
    if timeout <= 0 or in_process():
        return await fetch()
    channels = {command_channel(command_id).encode(): command_id for command_id in command_ids}
    pubsub = async_client().pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(*channels)
        outcomes = await fetch()
        deadline = time.monotonic() + timeout
        while len(outcomes) < len(channels):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if message is not None and message["type"] == "message":
                outcomes[channels[message["channel"]]] = json_value(message["data"])
        return outcomes
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]


def wait_applied(shard_id: int, pending: Callable[[], set[int]], timeout: float) -> bool:
    """Wait up to `timeout` seconds until the commands `pending()` names (read from the
    database, and again after subscribing to the shard's channel) are all applied, as the
    changes announced on the shard's channel say (`change_of`); True if they are."""
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
                left.difference_update(json_value(message["data"])["commands"])
        return True
    finally:
        pubsub.close()
