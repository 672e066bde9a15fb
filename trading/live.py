"""Live pages: one Server-Sent Events endpoint, `/stream/?topic=book:BTC-USDC&topic=...`,
pushing what each committed engine batch changed to the pages that show it.

A topic has a name and a key (`book:BTC-USDC`); rooms register theirs (`topic_register`).
A page lists the topics it shows on its `sse-connect` URL and htmx's SSE extension swaps
each event into the element whose `sse-swap` names it. An event carries the whole current
state of what it shows (a rendered fragment, or JSON for a chart), never a delta: a page
that lost its stream reconnects and gets every topic's state again at once, so it catches
up by construction.

How a change reaches a page: the engine's writer announces each committed batch on its
shard's channel (engine.outcomes: the markets and accounts its events touched), over Redis,
or in memory in the embedded demo, where the writer runs in this process. Each event loop
serving streams has one `Hub`, which listens once for all its streams and wakes those whose
topics the change touched; a woken stream renders those topics again. A public topic's
render is shared by every stream of the process that wants it after the same change. A
private topic (`orders:BTC-USDC`) is the viewer's own: rendered for the stream's user, and
woken only by changes that touched the user's account.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis.asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, StreamingHttpResponse

from engine import outcomes
from xip_portal.errors import ApplicationError, NotAuthenticated, NotFound
from xip_portal.models import User

logger = logging.getLogger(__name__)

MAX_TOPICS = 24
MAX_KEY = 400  # a registry list's query (markets.pages.REGISTRY_LIVE_QUERY)
# a comment this often keeps proxies from closing an idle stream and finds dead clients
KEEPALIVE_SECONDS = 15.0
# how long the browser waits before it reconnects a stream that broke (ms)
RETRY_MS = 1000
REDIS_RETRY_SECONDS = 1.0

Viewer = User | None
Events = list[tuple[str, str]]


@dataclass(frozen=True)
class Topic:
    """`render(key, viewer)`: the topic's whole current state as SSE events (name, data);
    it reads the database (run in a thread) and raises NotFound for a key that names
    nothing. `touched(change)`: the keys of this topic an engine change touches (None:
    every change touches every key). A private topic is rendered for the stream's own
    user (`viewer`), never for anyone else, and only changes of the user's account wake it."""

    name: str
    render: Callable[[str, Viewer], Events]
    touched: Callable[[dict[str, Any]], Iterable[str]] | None = None
    private: bool = False


TOPICS: dict[str, Topic] = {}


def topic_register(topic: Topic) -> None:
    TOPICS[topic.name] = topic


@dataclass(frozen=True)
class Subscription:
    topic: Topic
    key: str


def subscriptions_parse(values: list[str], viewer: Viewer) -> list[Subscription]:
    """The `topic` parameters of a stream request, or ApplicationError naming the bad one."""
    if not values:
        raise ApplicationError("Name the topics to follow (topic=name:key).", field="topic")
    if len(values) > MAX_TOPICS:
        raise ApplicationError(f"At most {MAX_TOPICS} topics in one stream.", field="topic")
    found: list[Subscription] = []
    for value in values:
        name, _, key = value.partition(":")
        topic = TOPICS.get(name)
        if topic is None:
            raise NotFound(f"There is no topic {name[:40]!r}.", field="topic")
        if len(key) > MAX_KEY or "\n" in key:
            raise ApplicationError(f"The key of topic {name!r} is too long.", field="topic")
        if topic.private and viewer is None:
            raise NotAuthenticated(f"Log in to follow {name!r}.", field="topic")
        subscription = Subscription(topic, key)
        if subscription not in found:
            found.append(subscription)
    return found


def sse_event(name: str, data: str) -> str:
    """One Server-Sent Event (multi-line data as several data lines)."""
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {name}\n{lines}\n"


def json_data(value: Any) -> str:
    """An event's data as compact JSON (for what scripts read, such as charts)."""
    return json.dumps(value, separators=(",", ":"))


def _render(subscriptions: Iterable[Subscription], viewer: Viewer) -> str:
    """The topics' events. Outside any request (a stream renders long after its request
    began), so it looks after the database connection as a request would."""
    close_old_connections()
    try:
        return "".join(
            sse_event(name, data)
            for subscription in subscriptions
            for name, data in subscription.topic.render(subscription.key, viewer)
        )
    finally:
        close_old_connections()


class Stream:
    """One open stream: its subscriptions and which of them changed since it last sent."""

    def __init__(self, hub: Hub, subscriptions: list[Subscription], viewer: Viewer) -> None:
        self.hub = hub
        self.subscriptions = subscriptions
        self.viewer = viewer
        self.changed: set[Subscription] = set()
        self.generation = 0
        self.woken = asyncio.Event()

    def notice(self, change: dict[str, Any], generation: int) -> None:
        touched = False
        for subscription in self.subscriptions:
            if subscription.topic.private and (
                self.viewer is None or self.viewer.pk not in change["accounts"]
            ):
                continue
            touched_keys = subscription.topic.touched
            if touched_keys is None or subscription.key in touched_keys(change):
                self.changed.add(subscription)
                touched = True
        if touched:
            self.generation = generation
            self.woken.set()

    async def events(self, first: str) -> AsyncIterator[str]:
        """The stream's body: the state of every topic, then what changes, until the client
        goes (Django cancels this when it disconnects)."""
        try:
            yield f"retry: {RETRY_MS}\n\n{first}"
            while True:
                try:
                    await asyncio.wait_for(self.woken.wait(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                self.woken.clear()
                changed, self.changed = self.changed, set()
                parts = [await self.hub.render(s, self.viewer, self.generation) for s in changed]
                yield "".join(parts)
        finally:
            self.hub.streams.discard(self)


class Hub:
    """The streams of one event loop and the one subscription to engine changes they share."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.streams: set[Stream] = set()
        self.generation = 0  # changes seen so far
        # public renders by subscription: (generation they reflect, the rendering)
        self.renders: dict[Subscription, tuple[int, asyncio.Future[str]]] = {}
        self.listening = False
        self.listener: asyncio.Task[None] | None = None  # held: a task nobody holds may go
        self.subscribed = asyncio.Event()

    async def listen(self) -> None:
        """Take engine changes (started once): on return, no later change is missed."""
        if not self.listening:
            self.listening = True
            if outcomes.in_process():
                outcomes.local_listeners.append(self.from_thread)
                self.subscribed.set()
            else:
                self.listener = self.loop.create_task(self.from_redis())
        await self.subscribed.wait()

    def from_thread(self, change: dict[str, Any]) -> None:
        """An in-process listener: the writer calls it in its own thread after commit."""
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.dispatch, change)

    async def from_redis(self) -> None:
        while True:
            client = redis.asyncio.Redis.from_url(settings.CELERY_BROKER_URL)
            try:
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                await pubsub.psubscribe(outcomes.shard_channels())
                self.subscribed.set()
                async for message in pubsub.listen():
                    if message["type"] == "pmessage":
                        self.dispatch(json.loads(message["data"]))
            except (redis.RedisError, OSError):
                logger.warning("live streams lost Redis; reconnecting", exc_info=True)
                await asyncio.sleep(REDIS_RETRY_SECONDS)
                # what changed meanwhile is unknown: every stream renders everything again
                self.dispatch_all()
            finally:
                await client.aclose()

    def dispatch(self, change: dict[str, Any]) -> None:
        self.generation += 1
        for stream in list(self.streams):
            stream.notice(change, self.generation)

    def dispatch_all(self) -> None:
        self.generation += 1
        for stream in list(self.streams):
            stream.changed.update(stream.subscriptions)
            stream.generation = self.generation
            stream.woken.set()

    async def render(self, subscription: Subscription, viewer: Viewer, generation: int) -> str:
        if subscription.topic.private:
            return await sync_to_async(_render)([subscription], viewer)
        cached = self.renders.get(subscription)
        if cached is None or cached[0] < generation:
            future = asyncio.ensure_future(sync_to_async(_render)([subscription], None))
            cached = self.renders[subscription] = (generation, future)
            if len(self.renders) > 4 * MAX_TOPICS * max(len(self.streams), 1):
                self._forget_unfollowed()
        try:
            return await asyncio.shield(cached[1])
        except NotFound:
            return ""  # what the topic named is gone (a delisted market): nothing to show

    def _forget_unfollowed(self) -> None:
        followed = {s for stream in self.streams for s in stream.subscriptions}
        for subscription in list(self.renders):
            if subscription not in followed:
                del self.renders[subscription]


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


async def hub_of_this_loop() -> Hub:
    """This event loop's hub, listening to engine changes."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(loop)
    await hub.listen()
    return hub


async def stream(request: HttpRequest) -> StreamingHttpResponse:
    """GET /stream/?topic=name:key&topic=...: the topics' state now, then on every change.
    Unknown topics, a private topic without a login or a key naming nothing are refused
    before the stream opens."""
    user = await request.auser()
    viewer = user if isinstance(user, User) else None
    subscriptions = subscriptions_parse(request.GET.getlist("topic"), viewer)
    hub = await hub_of_this_loop()
    # subscribe before reading, so a change committed meanwhile is sent after this state
    live = Stream(hub, subscriptions, viewer)
    hub.streams.add(live)
    try:
        first = await sync_to_async(_render)(subscriptions, viewer)
    except BaseException:
        hub.streams.discard(live)
        raise
    response = StreamingHttpResponse(live.events(first), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must not hold events back
    return response
