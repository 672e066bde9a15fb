"""Benchmark of the market page and its live stream, on the real PostgreSQL and Redis.

    .venv/bin/python bench/market_page.py [--levels L] [--fills F] [--requests N] [--pushes P]

It makes its own database (BENCH_DATABASE, default bench_market_page), lists BTC-USDC in an open
group, and fills its book with L resting levels on each side (default 500) and F trades
(default 1,000) of the viewer's, applied by the shard's writer in this process. Then:
  page   the market page's server time (Django's handler, middleware included, no network)
         for the viewer, p50/p95 over N requests, the part of it spent in the database
         (p50), and its query count;
  push   from a committed engine batch (the moment its change arrives on the shard's Redis
         channel, published right after the commit) to the book event arriving at an SSE
         client of /stream/ served by uvicorn in this process; p50/p99 over P batches, each
         one resting order that adds a level.
The last line is one JSON object with every figure.
"""

import argparse
import http.client
import json
import socket
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_database import bench_database_configure  # noqa: E402

DATABASE = bench_database_configure("bench_market_page")

import django  # noqa: E402

django.setup()

import uvicorn  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from engine import outcomes, tasks  # noqa: E402
from engine.models import Shard  # noqa: E402
from engine.services import BatchItem, command_submit, commands_submit, shard_of  # noqa: E402
from governance.memberships.services import membership_join  # noqa: E402
from governance.proposals.models import ProposalStatus  # noqa: E402
from markets.services import (  # noqa: E402
    market_engine_config,
    market_list_from_xip,
    market_status_change,
)
from tests.markets.factories import (  # noqa: E402
    assets_create,
    open_group_create,
    proposal_make,
    spot_spec,
)
from xip_portal.models import StaffRole, User  # noqa: E402
from xip_portal.services import role_grant  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else 0.0


def setup(levels: int, fills: int) -> tuple[Any, User, Any]:
    """The venue: (group, the viewer, the market's engine units)."""
    call_command("migrate", verbosity=0)
    assets_create()
    group = open_group_create()
    operator = User.objects.create_user(email="operator@bench.test")
    role_grant(
        actor=None, user=operator, role=StaffRole.RISK_GROUP_OPERATOR, risk_group=group, reason="b"
    )
    market = market_list_from_xip(
        proposal=proposal_make(group=group, status=ProposalStatus.FINAL, spec=spot_spec())
    )
    market_status_change(
        actor=operator, market=market, move="schedule", reason="b", launch_at=timezone.now()
    )
    market_status_change(actor=operator, market=market, move="launch", reason="b")
    maker, viewer = (User.objects.create_user(email=f"{n}@bench.test") for n in ("maker", "viewer"))
    for user in (maker, viewer):
        membership_join(user=user, risk_group=group, country_of_residence="GB", accept_terms=True)
        for asset, amount in (("USDC", 10**9 * 10**12), ("BTC", 10**6 * 10**6)):
            command_submit(
                risk_group=group,
                account=user.pk,
                command={
                    "type": "Deposit",
                    "asset": asset,
                    "amount": amount,
                    "external_id": f"{asset}-{user.pk}",
                },
            )
    tasks.shard_process(shard_of(risk_group=group).pk)  # the listing and the deposits
    units = market_engine_config(market)
    size = units.size("0.001")

    def order(account: int, side: str, price: Decimal) -> BatchItem:
        command = {
            "type": "PlaceOrder",
            "market": "BTC-USDC",
            "side": side,
            "price": units.price(price),
            "size": size,
            "order_type": "limit",
            "tif": "gtc",
        }
        return BatchItem(account, command)

    items = [order(maker.pk, "buy", Decimal(50_000 - i)) for i in range(levels)]
    items += [order(maker.pk, "sell", Decimal(70_000 + i)) for i in range(levels)]
    for _ in range(fills):
        items += [
            order(maker.pk, "sell", Decimal(60_000)),
            order(viewer.pk, "buy", Decimal(60_000)),
        ]
    for start in range(0, len(items), 2000):
        commands_submit(risk_group=group, items=items[start : start + 2000])
    tasks.shard_process(shard_of(risk_group=group).pk)
    return group, viewer, units


def bench_page(viewer: User, requests: int) -> dict[str, Any]:
    client = Client()
    client.force_login(viewer)
    client.get("/markets/BTC-USDC/")  # warm: the registry's tradables, templates
    with CaptureQueriesContext(connection) as queries:
        client.get("/markets/BTC-USDC/")
    times, in_sql = [], []
    for _ in range(requests):
        with CaptureQueriesContext(connection) as each:
            started = time.perf_counter()
            response = client.get("/markets/BTC-USDC/")
            times.append((time.perf_counter() - started) * 1000)
        in_sql.append(sum(float(query["time"]) for query in each.captured_queries) * 1000)
        assert response.status_code == 200  # noqa: S101
    return {
        "page_p50_ms": percentile(times, 0.5),
        "page_p95_ms": percentile(times, 0.95),
        # the database's share: on a busy shared machine most of the time is waiting here
        "page_sql_p50_ms": percentile(in_sql, 0.5),
        "page_queries": len(queries.captured_queries),
    }


def bench_push(group: Any, viewer: User, units: Any, pushes: int) -> dict[str, Any]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            "xip_portal.asgi:application", lifespan="off", access_log=False, log_level="warning"
        )
    )
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    committed: dict[int, float] = {}
    pubsub = outcomes.client().pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    pubsub.subscribe(outcomes.shard_channel(shard_of(risk_group=group).pk))

    def listen() -> None:
        while True:
            message = pubsub.get_message(timeout=1.0)
            if message and message["type"] == "message":
                committed[json.loads(message["data"])["seq"]] = time.perf_counter()

    threading.Thread(target=listen, daemon=True).start()
    stream = http.client.HTTPConnection(f"127.0.0.1:{sock.getsockname()[1]}", timeout=30)
    stream.request("GET", "/stream/?topic=market:BTC-USDC")
    body = stream.getresponse().fp
    arrived: list[tuple[float, str]] = []
    lock = threading.Condition()

    def read() -> None:
        name = ""
        data: list[str] = []
        while True:
            try:
                line = body.readline().decode().rstrip("\n")
            except (OSError, ValueError):  # the server stopped at the end
                return
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif not line and name:
                if name == "book":
                    with lock:
                        arrived.append((time.perf_counter(), "\n".join(data)))
                        lock.notify_all()
                name, data = "", []

    threading.Thread(target=read, daemon=True).start()
    shard_id = shard_of(risk_group=group).pk
    latencies = []
    for i in range(pushes):
        price = Decimal(55_000) + Decimal(i) / 100
        command_submit(
            risk_group=group,
            account=viewer.pk,
            command={
                "type": "PlaceOrder",
                "market": "BTC-USDC",
                "side": "buy",
                "price": units.price(price),
                "size": units.size("0.001"),
                "order_type": "limit",
                "tif": "gtc",
            },
        )
        applied = tasks.shard_process(shard_id)
        seq = Shard.objects.values_list("high_water", flat=True).get(pk=shard_id)
        wanted = f"{price.normalize():f}"
        deadline = time.perf_counter() + 10
        with lock:
            while not any(wanted in data for _, data in arrived):
                lock.wait(max(deadline - time.perf_counter(), 0.01))
                if time.perf_counter() > deadline:
                    break
            seen = next((at for at, data in arrived if wanted in data), None)
            arrived.clear()
        while seq not in committed and time.perf_counter() < deadline:
            time.sleep(0.001)
        if applied and seen is not None and seq in committed:
            latencies.append((seen - committed[seq]) * 1000)
    server.should_exit = True
    return {
        "push_p50_ms": percentile(latencies, 0.5),
        "push_p99_ms": percentile(latencies, 0.99),
        "push_samples": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", type=int, default=500)
    parser.add_argument("--fills", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--pushes", type=int, default=200)
    args = parser.parse_args()
    assert not settings.CELERY_TASK_ALWAYS_EAGER  # noqa: S101 - the production path (Redis)
    group, viewer, units = setup(args.levels, args.fills)
    figures: dict[str, Any] = {"levels_per_side": args.levels, "fills": args.fills}
    figures |= bench_page(viewer, args.requests)
    print(
        f"market page: p50 {figures['page_p50_ms']} ms, p95 {figures['page_p95_ms']} ms "
        f"({figures['page_sql_p50_ms']} ms of the p50 in {figures['page_queries']} queries)"
    )
    figures |= bench_push(group, viewer, units, args.pushes)
    print(f"push: p50 {figures['push_p50_ms']} ms, p99 {figures['push_p99_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
