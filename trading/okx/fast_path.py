"""The order fast path: `POST /api/v5/trade/order`, `/api/v5/trade/batch-orders`,
`/api/v5/trade/cancel-order` and `/api/v5/trade/cancel-batch-orders` answered on the
ASGI server's event loop, outside Django's request cycle, with one PostgreSQL statement
for the requests of a group commit.

It is the hot path of the exchange, and Django's cycle costs several times what placing or
cancelling an order needs (its middleware, DRF's dispatch, an ORM query per check, one
request at a time per process under ASGI). So for the common case (a key it has seen, a
valid signature, orders every check accepts, orders to cancel that it finds) this ASGI
wrapper answers itself, running the same code as the views for what is not I/O: the
signature (`signature`, `request_timestamp`), the body (`json_loads_bounded`), the order
(`place_command`, `command_checked`), the order named (`order_id_of`), the limits
(`okx_limit_take`), the answer (`receipt_item`, `answer_body`).

What a view would read from the database on every request (the key, its secret, the
user's membership, the instruments, the engine's markets) it keeps in memory, valid at one
version of the order gate (trading.models.OrderGate), which database triggers move in the
same transaction as any change to those tables. The statement that journals requests
(`_journal_sql`, one for several requests of a group commit) inserts each request's
commands only if the gate is still at the version it was checked at, and: orders only if
no client order id among them is open (engine.services.client_order_id_open_sql; one
another process journals meanwhile, the journal's unique index catches: `_group_commit`),
reading the balances for the answer; cancellations only if each names, as
trading.selectors.order_find does, an order of the user in the instrument's market, in the
projection (by its id, whatever its state; by its client order id, open) or placed and not
applied yet (the journal then orders the cancellation after it). A cancellation's answer
waits, as Django's does, for the engine's outcome (up to WAIT_SECONDS), published on the
command's channel and heard with the asyncio Redis client (engine.outcomes.wait_async).

Everything else goes to Django unchanged, with the body it read: a request it does not
recognise, a first request of a key or of a risk group (loaded from Django's own
functions in a worker thread, then served), any refusal and any order to cancel it does
not find, so that every error answer comes from the one place that makes it (told, in
the request's scope, that the request's OKX limits are taken already when the fast path
took them before handing it over).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool
from redis import RedisError

from engine import models as engine
from engine.codec import json_bytes, json_text, json_value
from engine.outcomes import in_process, wait_async
from engine.sequencer import connection_params
from engine.services import (
    CommandReceipt,
    client_order_id_open_sql,
    command_checked,
    orders_covered,
    outcomes_waited,
    shard_of,
)
from engine.tasks import shard_wake, shard_wake_async
from xip_portal.client_address import client_address_of
from xip_portal.errors import ApplicationError, ErrorCode
from xip_portal.request_limits import json_loads_bounded
from xip_portal.request_log import request_id_of, request_log
from xip_portal.views import DATABASE_UNAVAILABLE_MESSAGE, RETRY_AFTER_SECONDS

from ..key_vault import key_secret
from ..models import ApiKey, OrderGate
from ..selectors import order_id_of
from ..services import (
    LAST_USED_GRANULARITY,
    MAX_BATCH,
    WAIT_SECONDS,
    api_key_address_allowed,
    api_key_authenticate,
    api_key_mark_used,
    api_key_scope_require,
    trade_require,
)
from .authentication import request_timestamp, signature
from .envelope import LIMITS_TAKEN, OkxView, okx_error_body, okx_limit_take_async
from .instruments import Instrument, instruments_by_id
from .trade import (
    BatchOrdersView,
    CancelBatchOrdersView,
    CancelOrderView,
    PlaceOrderView,
    answer_body,
    orders_per_instrument,
    place_command,
    receipt_item,
)

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]
Answer = tuple[int, dict[str, Any], int]  # status, envelope, user id

VIEWS: dict[str, type[OkxView]] = {
    "/api/v5/trade/order": PlaceOrderView,
    "/api/v5/trade/batch-orders": BatchOrdersView,
    "/api/v5/trade/cancel-order": CancelOrderView,
    "/api/v5/trade/cancel-batch-orders": CancelBatchOrdersView,
}
# the views whose body is a list of orders, and those that cancel the orders they name
BATCHES = (BatchOrdersView, CancelBatchOrdersView)
CANCELS = (CancelOrderView, CancelBatchOrdersView)
HEADERS = (b"ok-access-key", b"ok-access-passphrase", b"ok-access-timestamp", b"ok-access-sign")
# the headers Django's middleware gives every answer (SecurityMiddleware's among them)
ANSWER_HEADERS = [
    (b"content-type", b"application/json"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


def _journal_sql(commands: str, *, whole: str, waiting: bool, answer: str) -> str:
    """The one statement that journals the commands of several requests, each with its
    own guards. `%(requests)s` is a JSON array of requests, each an object with the
    version of the order gate it was checked at, its `shard`, its `account` and its
    `commands` (as `commands` reads them). `commands` selects, from `requests` (`r`, the
    request's place; `shard`, `account`, `q`: the request), the rows to insert: `r`, `n`
    (their place in the request) and `payload` (as the journal stores it). A request's are
    inserted, in the order of the requests and then of `n`, only if the gate is still at
    the request's version and `whole` holds for it (it reads `requests` and `commands`),
    else none of them is. Answers the gate's version, the ids inserted, the places of the
    requests inserted and, for each of those, `answer` (it reads `a`, the request)."""
    return f"""
WITH gate AS (SELECT version FROM trading_ordergate WHERE id = 1),
requests AS (
    SELECT r, (q->>'shard')::bigint AS shard, (q->>'account')::bigint AS account, q
    FROM jsonb_array_elements(%(requests)s::jsonb) WITH ORDINALITY AS t(q, r)
    WHERE (q->>'version')::bigint = (SELECT version FROM gate)
),
commands AS ({commands}),
accepted AS (SELECT r, shard, account FROM requests WHERE {whole}),
inserted AS (
    INSERT INTO engine_command (shard_id, seq, account, idempotency_key, kind, payload, ts,
                                record, outcome, waiting, created_at)
    SELECT a.shard, NULL, a.account, '', c.payload->>'type', c.payload, NULL, '', NULL,
           {str(waiting).lower()}, now()
    FROM accepted a JOIN commands c USING (r)
    ORDER BY c.r, c.n
    RETURNING id
)
SELECT (SELECT version FROM gate), ARRAY(SELECT id FROM inserted ORDER BY id),
       ARRAY(SELECT r FROM accepted ORDER BY r),
       ARRAY(SELECT {answer} FROM accepted a ORDER BY r)
"""  # noqa: S608 - constants only


# The orders (`commands`: as the journal stores them), unless a client order id among
# them (`ids`) is open; answers the account's free balances.
PLACE_SQL = _journal_sql(
    "SELECT r, n, payload FROM requests, "
    "jsonb_array_elements(q->'commands') WITH ORDINALITY AS c(payload, n)",
    whole="NOT EXISTS (SELECT FROM jsonb_array_elements_text(q->'ids') AS c(id) WHERE "
    + client_order_id_open_sql(
        shard="requests.shard", account="requests.account", client_order_id="c.id"
    )
    + ")",
    waiting=False,
    answer="(SELECT coalesce(jsonb_object_agg(asset, free::text), '{}'::jsonb) "
    "FROM engine_balance WHERE shard_id = a.shard AND account = a.account)",
)

# The cancellations (`commands`: each the order's market and a checked CancelOrder naming
# it by order_id or client_order_id), journaled as Django's path journals them (naming
# the order's id), only if each names an order of the account in that market that is in
# the projection or placed and not applied yet. Like order_find, an order named by its id
# is found whatever its state: one filled or cancelled meanwhile (a market maker's quote
# a taker took first, the common case) is journaled as Django journals it, and the engine
# answers unknown_order (51603). By client order id, only an open or pending order is
# found here: order_find takes the latest carrying it, whatever its state, and an order
# carrying a client order id is placed only while none carrying it is open or pending, so
# one open or pending is the latest; otherwise the request goes to Django. Each branch
# names the conditions of one index (engine_order's (shard, order_id) key, its open client
# order ids, the journal's key, its pending client order ids). The submitter waits: the
# writer publishes the outcomes. Answers the ids of the orders named.
CANCEL_SQL = _journal_sql(
    """
    SELECT requests.r, c.n, ((c.cancel->'command') - 'client_order_id')
                            || jsonb_build_object('order_id', o.id) AS payload
    FROM requests
    CROSS JOIN LATERAL jsonb_array_elements(q->'commands') WITH ORDINALITY AS c(cancel, n)
    CROSS JOIN LATERAL (
        SELECT id FROM (
            SELECT order_id AS id FROM engine_order
            WHERE shard_id = requests.shard
            AND order_id = (c.cancel->'command'->>'order_id')::bigint
            AND account = requests.account AND market_id = c.cancel->>'market'
            UNION ALL
            SELECT order_id FROM engine_order
            WHERE shard_id = requests.shard AND account = requests.account
            AND status = 'open' AND client_order_id <> ''
            AND client_order_id = c.cancel->'command'->>'client_order_id'
            AND market_id = c.cancel->>'market'
            UNION ALL
            SELECT id FROM engine_command
            WHERE id = (c.cancel->'command'->>'order_id')::bigint
            AND shard_id = requests.shard AND account = requests.account AND seq IS NULL
            AND kind = 'PlaceOrder' AND payload->>'market' = c.cancel->>'market'
            UNION ALL
            SELECT id FROM engine_command
            WHERE shard_id = requests.shard AND account = requests.account AND seq IS NULL
            AND kind = 'PlaceOrder' AND payload->>'client_order_id' <> ''
            AND payload->>'client_order_id' = c.cancel->'command'->>'client_order_id'
            AND payload->>'market' = c.cancel->>'market'
        ) AS named
        ORDER BY id DESC
        LIMIT 1
    ) AS o
    """,
    whole="(SELECT count(*) FROM commands c WHERE c.r = requests.r) "
    "= jsonb_array_length(q->'commands')",
    waiting=True,
    answer="(SELECT jsonb_agg((c.payload->>'order_id')::bigint ORDER BY c.n) "
    "FROM commands c WHERE c.r = a.r)",
)


@dataclass
class _Key:
    """A key that signed a request here: the key (with its user), its secret, its
    passphrase's digest, and the risk groups it may trade in, each with the time its
    membership ends (None: it does not)."""

    api_key: ApiKey
    secret: str
    passphrase: bytes
    memberships: dict[int, datetime | None] = field(default_factory=dict)
    marked_at: datetime | None = None  # when this process last recorded the key's use


@dataclass
class _Gate:
    """What the fast path holds in memory, all read at one version of the order gate."""

    version: int
    instruments: dict[str, Instrument]
    keys: dict[str, _Key] = field(default_factory=dict)
    shards: dict[int, engine.Shard] = field(default_factory=dict)  # by risk group
    markets: dict[int, dict[str, engine.MarketView]] = field(default_factory=dict)  # by shard


_gate: _Gate | None = None
_pool: tuple[asyncio.AbstractEventLoop, AsyncConnectionPool] | None = None


def fast_path_enabled() -> bool:
    return bool(settings.ORDER_FAST_PATH) and _on_postgresql()


@cache
def _on_postgresql() -> bool:
    # once per process, not a lookup in the connection handler's asgiref Local on every
    # request: the default database's engine does not change while the process runs
    return connections["default"].vendor == "postgresql"


class OrderFastPath:
    """The ASGI application in front of Django's (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        view = VIEWS.get(scope.get("path", "")) if scope["type"] == "http" else None
        if view is None or scope["method"] != "POST" or not fast_path_enabled():
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        body, complete = await _body_read(receive)
        answer = None
        prepared = None
        if complete:
            try:
                prepared = await _prepared(scope, headers, body, view)
            except Exception:
                # nothing is written before the journal's statement: Django answers
                logger.exception("order fast path: a request went to Django after an error")
        if prepared is not None:
            try:
                answer = await _journaled(prepared)
            except psycopg.Error:
                # the statement may have committed: never fall back to Django (it would
                # journal the orders again); 503, as Django answers it
                logger.exception("order fast path: the database did not answer")
                error = okx_error_body(ErrorCode.SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE_MESSAGE)
                answer = (503, error, prepared.held.api_key.user_id)
        if answer is None:
            await self.app(scope, _receive_again(body, complete, receive), send)
            return
        status, envelope, user = answer
        request_id = request_id_of(headers.get(b"x-request-id", b"").decode("latin-1"))
        content = json_bytes(envelope)
        extra = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())] if status == 503 else []
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    *ANSWER_HEADERS,
                    *extra,
                    (b"content-length", str(len(content)).encode()),
                    (b"x-request-id", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})
        request_log(
            request_id=request_id,
            method="POST",
            path=scope["path"],
            status=status,
            started=started,
            user=user,
        )


async def _lifespan(receive: Receive, send: Send) -> None:
    """The server's start and stop (Django's handler takes no lifespan): at the stop,
    the pool's connections close."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await fast_path_close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _body_read(receive: Receive) -> tuple[bytes, bool]:
    """The request's body, and whether it is all of it (a body over Django's limit is
    left for Django to refuse)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return b"".join(chunks), False


def _receive_again(body: bytes, complete: bool, receive: Receive) -> Receive:
    """Django's `receive`: the body read so far, then the connection's own messages."""
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return again


@dataclass
class _Prepared:
    """A request every check accepted, ready to journal: its orders (or the orders it
    cancels) as sent, and as its statement takes them (`_orders_checked`,
    `_cancels_checked`)."""

    gate: _Gate
    held: _Key
    view: type[OkxView]
    orders: list[dict[str, Any]]
    shard: engine.Shard
    payloads: list[dict[str, Any]]


async def _prepared(
    scope: Scope, headers: dict[bytes, bytes], body: bytes, view: type[OkxView]
) -> _Prepared | None:
    """The request checked as the view checks it; None for Django to answer."""
    try:
        key, passphrase, stamp, signed = (headers[name].decode("ascii") for name in HEADERS)
        text = body.decode()
    except (KeyError, UnicodeDecodeError):
        return None
    if not (key and passphrase and stamp and signed) or scope.get("query_string"):
        return None
    try:
        request_timestamp(stamp, now=timezone.now())
        data = json_loads_bounded(text, where="request body")
    except ApplicationError:
        return None
    client = scope.get("client") or ("", 0)
    address = client_address_of(
        str(client[0]), headers.get(b"x-forwarded-for", b"").decode("latin-1")
    )
    gate = _gate
    held = gate.keys.get(key) if gate is not None else None
    digest = hashlib.sha256(passphrase.encode()).digest()
    if gate is None or held is None or not hmac.compare_digest(held.passphrase, digest):
        gate = await _in_thread(_key_load, key, passphrase, address)
        if gate is None:
            return None
        held = gate.keys[key]
    if not api_key_address_allowed(held.api_key, address):
        return None
    prehash = f"{stamp}POST{scope['path']}".encode() + body
    if not hmac.compare_digest(signature(held.secret, prehash).encode(), signed.encode()):
        return None
    orders = data if view in BATCHES else [data]
    if not isinstance(orders, list) or not 0 < len(orders) <= MAX_BATCH:
        return None
    if not all(isinstance(order, dict) for order in orders):
        return None
    checks = _cancels_checked if view in CANCELS else _orders_checked
    checked = await checks(gate, held, orders)
    if checked is None or not await _limits_take(view, held.api_key.key, orders):
        return None
    # from here on, should Django answer after all, it must not count the request again
    scope[LIMITS_TAKEN] = True
    return _Prepared(gate, held, view, orders, *checked)


async def _journaled(prepared: _Prepared) -> Answer | None:
    """(status, envelope, user id) once the request's commands are journaled; None for
    Django to answer if nothing was."""
    if prepared.view in CANCELS:
        return await _cancels_journaled(prepared)
    return await _orders_journaled(prepared)


async def _committed(
    prepared: _Prepared, sql: str, fields: dict[str, Any]
) -> tuple[list[int], Any] | None:
    """The ids of the request's commands, journaled by `sql` (a `_journal_sql`, taking
    the request with `fields`), and the statement's answer for it, once committed (the
    group commit then wakes the shard's writer); None if nothing was journaled."""
    gate, held, shard = prepared.gate, prepared.held, prepared.shard
    version, ids, answer = await _journal(
        sql,
        {"version": gate.version, "shard": shard.pk, "account": held.api_key.user_id, **fields},
    )
    if len(ids) != len(prepared.payloads):
        if version != gate.version:
            _gate_drop(gate)
        return None
    now = timezone.now()
    if held.marked_at is None or now - held.marked_at >= LAST_USED_GRANULARITY:
        held.marked_at = now
        asyncio.get_running_loop().run_in_executor(None, _closing, _mark_used, held.api_key)
    return ids, answer


async def _orders_journaled(prepared: _Prepared) -> Answer | None:
    """The orders' answer once journaled; None if they were not (the gate moved, or a
    client order id is open)."""
    shard, payloads = prepared.shard, prepared.payloads
    account = prepared.held.api_key.user_id
    client_ids = [p["client_order_id"] for p in payloads if "client_order_id" in p]
    committed = await _committed(prepared, PLACE_SQL, {"commands": payloads, "ids": client_ids})
    if committed is None:
        return None
    ids, free = committed
    receipts = [CommandReceipt.of(command_id, "PlaceOrder", None) for command_id in ids]
    balances = {asset: int(amount) for asset, amount in free.items()}
    covered = orders_covered(shard, account, payloads, prepared.gate.markets[shard.pk], balances)
    wanted = {
        receipt.command_id: "PlaceOrder"
        for receipt, ok in zip(receipts, covered, strict=True)
        if not ok
    }
    if wanted:
        receipts = await _in_thread(outcomes_waited, shard.pk, receipts, wanted, WAIT_SECONDS)
    items = [
        receipt_item(data, receipt, done="Order placed")
        for data, receipt in zip(prepared.orders, receipts, strict=True)
    ]
    return 200, answer_body(items), account


async def _cancels_journaled(prepared: _Prepared) -> Answer | None:
    """The cancellations' answer once journaled, from the engine's outcomes as Django's
    path waits for them (up to WAIT_SECONDS; "not applied yet" for those still pending);
    None if they were not (the gate moved, or an order named is not one the statement
    finds)."""
    committed = await _committed(prepared, CANCEL_SQL, {"commands": prepared.payloads})
    if committed is None:
        return None
    ids, order_ids = committed
    try:
        outcomes = await wait_async(ids, WAIT_SECONDS, lambda: _outcomes_read(ids))
    except RedisError:
        # journaled all the same: the answer says so, each not applied yet
        logger.exception("order fast path: waiting for the outcomes of %s failed", ids)
        outcomes = {}
    items = [
        receipt_item(
            data,
            CommandReceipt.of(command_id, "CancelOrder", outcomes.get(command_id)),
            done="Order cancelled",
            order_id=order_id,
        )
        for data, command_id, order_id in zip(prepared.orders, ids, order_ids, strict=True)
    ]
    return 200, answer_body(items), prepared.held.api_key.user_id


async def _outcomes_read(ids: list[int]) -> dict[int, Any]:
    """The outcomes the journal holds of the commands `ids` (those applied), by id."""
    pool = await _connection_pool()
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id, outcome FROM engine_command WHERE id = ANY(%s) AND outcome IS NOT NULL",
            [ids],
        )
        # stored as the text the writer wrote (engine.models.JSONTextField)
        return {command_id: json_value(outcome) for command_id, outcome in await cursor.fetchall()}


async def _orders_checked(
    gate: _Gate, held: _Key, orders: list[dict[str, Any]]
) -> tuple[engine.Shard, list[dict[str, Any]]] | None:
    """The orders as the journal stores them, all in one risk group the key's user may
    trade in, every check passed; None if any is refused or the group is new here."""
    commands = []
    try:
        for data in orders:
            instrument = gate.instruments.get(str(data.get("instId") or ""))
            if instrument is None:
                return None
            commands.append((instrument, place_command(instrument, data)))
    except ApplicationError:
        return None
    groups = {instrument.tradable.risk_group_id for instrument, _ in commands}
    if len(groups) != 1:
        return None
    group_id = groups.pop()
    if group_id not in held.memberships:
        if not await _in_thread(_membership_load, gate, held, commands[0][0]):
            return None
    ends = held.memberships[group_id]
    if ends is not None and ends <= timezone.now():
        return None
    shard = gate.shards[group_id]
    markets = gate.markets[shard.pk]
    payloads = []
    try:
        for _, command in commands:
            if command["market"] not in markets:
                return None
            payloads.append(
                command_checked(
                    shard,
                    held.api_key.user_id,
                    command,
                    markets,
                    client_order_id_open_check=False,
                )
            )
    except ApplicationError:
        return None
    client_ids = [p["client_order_id"] for p in payloads if "client_order_id" in p]
    if len(set(client_ids)) != len(client_ids):
        return None
    return shard, payloads


async def _cancels_checked(
    gate: _Gate, held: _Key, orders: list[dict[str, Any]]
) -> tuple[engine.Shard, list[dict[str, Any]]] | None:
    """The orders to cancel as CANCEL_SQL takes them (each its engine market and a
    checked CancelOrder naming it), all in one risk group; None if any is named otherwise
    than the statement can look up. A former member may still cancel: no membership."""
    named = []
    for data in orders:
        instrument = gate.instruments.get(str(data.get("instId") or ""))
        command = _cancel_command(data)
        if instrument is None or command is None:
            return None
        named.append((instrument, command))
    groups = {instrument.tradable.risk_group_id for instrument, _ in named}
    if len(groups) != 1:
        return None
    group_id = groups.pop()
    if group_id not in gate.shards:
        await _in_thread(_shard_load, gate, named[0][0])
    shard = gate.shards[group_id]
    try:
        return shard, [
            {
                "market": instrument.tradable.engine_market,
                "command": command_checked(shard, held.api_key.user_id, command, {}),
            }
            for instrument, command in named
        ]
    except ApplicationError:
        return None


def _cancel_command(data: dict[str, Any]) -> dict[str, Any] | None:
    """The CancelOrder naming the order as trading.selectors.order_find reads `ordId`
    (first) or `clOrdId`; None if it would refuse them or they are not text or numbers."""
    order_id, client_order_id = data.get("ordId"), data.get("clOrdId")
    for value in (order_id, client_order_id):
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            return None
    try:
        if order_id:
            return {"type": "CancelOrder", "order_id": order_id_of(order_id)}
    except ApplicationError:
        return None
    if client_order_id:
        return {"type": "CancelOrder", "client_order_id": str(client_order_id)}
    return None


async def _limits_take(view: type[OkxView], key: str, orders: list[dict[str, Any]]) -> bool:
    """OKX's request limits, as the views take them: per instrument, one for a request
    naming one order, one per order for a batch (up to the first over its limit)."""
    for inst_id, count in orders_per_instrument(orders).items():
        if not await okx_limit_take_async(view, who=key, instrument=inst_id, cost=count):
            return False
    return True


# ---------------------------------------------------------------------------- loading


def _gate_current() -> _Gate:
    """The gate at the database's version: the one held, or a new one if it moved."""
    global _gate
    # a row made again (a test database emptied) must not come back at a version held
    # before: it starts at the clock's nanoseconds
    version = OrderGate.objects.get_or_create(pk=1, defaults={"version": time.time_ns()})[0].version
    gate = _gate
    if gate is None or gate.version != version:
        gate = _gate = _Gate(version, dict(instruments_by_id()))
    return gate


def _gate_drop(gate: _Gate) -> None:
    global _gate
    if _gate is gate:
        _gate = None


def _key_load(key: str, passphrase: str, address: str) -> _Gate | None:
    """The gate holding `key`, checked as the views check it; None if any check fails."""
    gate = _gate_current()
    try:
        api_key = api_key_authenticate(key=key, passphrase=passphrase, address=address)
        api_key_scope_require(api_key=api_key, scope="trade")
    except ApplicationError:
        return None
    secret = key_secret(key_id=api_key.pk, secret_encrypted=api_key.secret_encrypted)
    digest = hashlib.sha256(passphrase.encode()).digest()
    gate.keys[key] = _Key(api_key, secret, digest)
    return gate


def _membership_load(gate: _Gate, held: _Key, instrument: Instrument) -> bool:
    """Whether the key's user may trade in the instrument's risk group (noted in `held`,
    with the shard and its markets in `gate`)."""
    tradable = instrument.tradable
    try:
        membership = trade_require(user=held.api_key.user, risk_group=tradable.market.risk_group)
    except ApplicationError:
        return False
    _shard_load(gate, instrument)
    held.memberships[tradable.risk_group_id] = membership.valid_until
    return True


def _shard_load(gate: _Gate, instrument: Instrument) -> None:
    """The shard of the instrument's risk group and its markets, noted in `gate`."""
    tradable = instrument.tradable
    shard = shard_of(risk_group=tradable.risk_group_id)
    gate.markets.setdefault(
        shard.pk, {m.market_id: m for m in engine.MarketView.objects.filter(shard=shard)}
    )
    gate.shards[tradable.risk_group_id] = shard


# ------------------------------------------------------------------- group commit

# the most requests one transaction journals
GROUP_MAX = 64
# how a statement fails when another transaction journaled one of its client order ids:
# at the unique index, or, two groups each waiting for the other's (their ids in other
# orders), in the deadlock PostgreSQL breaks by failing one
CLIENT_ORDER_ID_RACES = (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected)

# requests waiting for the next group commit: (their statement, the request as the
# statement takes it, its row)
_waiting: list[tuple[str, dict[str, Any], asyncio.Future[tuple[Any, ...]]]] = []
_committing = False


async def _journal(sql: str, request: dict[str, Any]) -> tuple[Any, ...]:
    """The row of one request journaled by `sql` (a `_journal_sql`): the gate's version,
    the ids inserted and the statement's answer for it (None if nothing was inserted).
    The requests that arrive while a commit is under way are committed together in the
    next transaction: one WAL flush and one wake-up of each shard's writer for the group
    instead of one per request (a request's answer still waits for the commit of its own
    commands)."""
    global _committing
    future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
    _waiting.append((sql, request, future))
    if not _committing:
        # marked here, not when the task starts: requests arriving before it runs would
        # each start one, and a second task finding nothing to commit cleared the mark
        # while the first still committed, so that a third committed beside it (two
        # transactions, neither seeing the other's client order ids)
        _committing = True
        _background(_groups_commit())
    return await future


async def _groups_commit() -> None:
    """Commits the waiting requests group after group, until none is left (one task at
    a time: `_committing` is set when it is started)."""
    global _committing
    try:
        while _waiting:
            group = _waiting[:GROUP_MAX]
            del _waiting[:GROUP_MAX]
            try:
                rows = await _group_commit([(sql, request) for sql, request, _ in group])
            except Exception as error:
                for _, _, future in group:
                    if not future.done():
                        future.set_exception(error)
                continue
            given: set[int] = set()  # the shards given commands: their writers, once each
            for (_, request, future), row in zip(group, rows, strict=True):
                if row[1]:
                    given.add(request["shard"])
                if not future.done():
                    future.set_result(row)
            for shard_id in given:
                _background(_wake(shard_id))
    finally:
        _committing = False


async def _group_commit(group: list[tuple[str, dict[str, Any]]]) -> list[tuple[Any, ...]]:
    """The requests' rows, journaled in one transaction (`_statements_commit`). Each
    request keeps its own guards, so each inserts or not alone.

    A request's check cannot see an order with one of its client order ids that another
    process journaled and had not committed when the statement started: the journal's
    unique index of pending client order ids then fails the statement once the other
    commits, and nothing of the group is written. Each request is then journaled alone:
    the one beaten inserts nothing and goes to Django, which refuses it as it refuses any
    open client order id. (Not ON CONFLICT DO NOTHING: a batch would keep those of its
    orders that did not conflict, and taking them back would cost every group a second
    round trip.)"""
    try:
        return await _statements_commit(_statements(group))
    except CLIENT_ORDER_ID_RACES:
        rows = []
        for sql, request in group:
            try:
                rows += await _statements_commit([(sql, [request])])
            except CLIENT_ORDER_ID_RACES:
                rows.append((request["version"], [], None))
        return rows


async def _statements_commit(
    statements: list[tuple[str, list[dict[str, Any]]]],
) -> list[tuple[Any, ...]]:
    """The requests' rows, journaled in one transaction: one statement for each run of
    requests of one statement (`_statements`); several are pipelined (BEGIN, each,
    COMMIT in one round trip)."""
    pool = await _connection_pool()
    async with pool.connection() as conn:
        if len(statements) == 1:
            # a statement alone commits alone (the connection is in autocommit)
            sql, requests = statements[0]
            cursors = [await conn.execute(sql, {"requests": json_text(requests)})]
        else:
            async with conn.pipeline():
                async with conn.transaction():
                    cursors = [
                        await conn.execute(sql, {"requests": json_text(requests)})
                        for sql, requests in statements
                    ]
        rows = [row for cursor in cursors if (row := await cursor.fetchone()) is not None]
    return [
        request_row
        for (_, requests), row in zip(statements, rows, strict=True)
        for request_row in _request_rows(requests, row)
    ]


def _statements(group: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The group's requests as statements, in their order: a run of requests of one
    statement is one statement, but for a request naming a client order id that one
    before it in the run names: a statement does not see the rows it inserts, and that
    request's check must see the other's order, as it would in a statement of its own."""
    statements: list[tuple[str, list[dict[str, Any]]]] = []
    named: set[tuple[int, int, str]] = set()
    for sql, request in group:
        ids = {(request["shard"], request["account"], i) for i in request.get("ids", ())}
        if statements and statements[-1][0] == sql and not ids & named:
            statements[-1][1].append(request)
        else:
            statements.append((sql, [request]))
            named = set()
        named |= ids
    return statements


def _request_rows(requests: list[dict[str, Any]], row: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Each request's row of a statement's row: the gate's version, the ids of its
    commands (inserted in the order of the requests, so in order of id) and its answer."""
    version, ids, accepted, answers = row
    answered = dict(zip(accepted, answers, strict=True))
    rows = []
    start = 0
    for place, request in enumerate(requests, start=1):
        if place in answered:
            end = start + len(request["commands"])
            rows.append((version, ids[start:end], answered[place]))
            start = end
        else:
            rows.append((version, [], None))
    return rows


# shards whose wake-up is under way in this process -> whether another was asked for
_waking: dict[int, bool] = {}
_tasks: set[asyncio.Task[None]] = set()


def _background(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run after the answer, holding a reference until done (the loop holds only weak ones)."""
    task = asyncio.get_running_loop().create_task(coroutine)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _wake(shard_id: int) -> None:
    """Wake the shard's writer after a commit. Coalesced: while one wake-up is under way,
    the commits meanwhile ask for one more, sent once it is done (so each commit is
    followed by a wake-up that started after it)."""
    if shard_id in _waking:
        _waking[shard_id] = True
        return
    _waking[shard_id] = False
    try:
        while True:
            try:
                if in_process():
                    await _in_thread(shard_wake, shard_id)
                else:
                    await shard_wake_async(shard_id)
            except Exception:
                # robust, as the views' on_commit wake-up: the orders are journaled; the
                # next submission or the shard's time tick wakes the writer
                logger.exception("order fast path: waking shard %s failed", shard_id)
            if not _waking[shard_id]:
                break
            _waking[shard_id] = False
    finally:
        del _waking[shard_id]


def _mark_used(api_key: ApiKey) -> None:
    try:
        api_key_mark_used(api_key=api_key)
    except Exception:
        logger.exception("order fast path: recording key %s's use failed", api_key.pk)


def _closing(function: Callable[..., Any], *args: Any) -> Any:
    """Django code off the event loop, in a worker thread: its connection goes back
    (to the pool) when it returns."""
    try:
        return function(*args)
    finally:
        connection.close()


async def _in_thread(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(_closing, function, *args)


async def _connection_pool() -> AsyncConnectionPool:
    """This event loop's pool of autocommit connections to the default database."""
    global _pool
    loop = asyncio.get_running_loop()
    if _pool is not None and _pool[0] is loop:
        return _pool[1]
    conninfo = make_conninfo("", **connection_params(connections["default"].settings_dict))
    pool = AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=settings.ORDER_FAST_PATH_CONNECTIONS,
        kwargs={"autocommit": True},
        open=False,
    )
    await pool.open()
    if _pool is not None and _pool[0] is loop:  # another request made one meanwhile
        await pool.close()
        return _pool[1]
    _pool = (loop, pool)
    return pool


async def fast_path_close() -> None:
    """Finishes this event loop's wake-ups and closes its pool (a server shutting down, a
    test ending)."""
    global _pool
    await asyncio.gather(*_tasks)
    if _pool is not None and _pool[0] is asyncio.get_running_loop():
        pool, _pool = _pool[1], None
        await pool.close()
