"""Server time of the trader pages and the push latency of their live stream, on the real
PostgreSQL and Redis (issue 13's figures):

    .venv/bin/python bench/pages.py [--levels L] [--fills F] [--requests N] [--pushes P]

It makes its own database (BENCH_DATABASE, default bench_pages). In an open group it lists
BTC-USDC with L resting levels on each side (default 500) and F trades (default 1,000) of one
viewer; in a regulated group the 48-team World Cup market and a single-match market, which
the market maker quotes on 3 levels while a trader takes F/10 fills and rests 50 orders.
Every command is applied by the shard's writer in this process. Then:
  market     /markets/BTC-USDC/ for the viewer (goal: p95 <= 50 ms), its queries
  portfolio  /portfolio/ for the viewer (F fills; goal: p95 <= 50 ms)
  world_cup  /world-cup/ for the World Cup trader (48 teams, the holdings column)
             each the server time through Django's handler (middleware included, no
             network), p50/p95/max over N requests after 10 to warm up, the database's
             share of the p50, and the process's CPU time per request (p50);
  push       from a committed engine batch (the moment its change arrives on the shard's
             Redis channel, published right after the commit) to the book event arriving at
             an SSE client of /stream/ served by uvicorn in this process (goal: p99 <= 100
             ms); p50/p99 over P batches, each one resting order that adds a level.
The last line is one JSON object with every figure.
"""

import argparse
import http.client
import json
import os
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

DATABASE = bench_database_configure("bench_pages")
# one connection for the whole run, as a server keeps them: the figures are the pages'
os.environ.setdefault("CONN_MAX_AGE", "600")

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
from governance.proposals.demo import WORLD_CUP_TEAMS  # noqa: E402
from governance.proposals.models import ProposalStatus  # noqa: E402
from markets.services import (  # noqa: E402
    market_engine_config,
    market_list_from_xip,
    market_status_change,
)
from tests.markets.factories import (  # noqa: E402
    assets_create,
    engine_deposit,
    member_create,
    open_group_create,
    prediction_spec,
    proposal_make,
    regulated_group_create,
    spot_spec,
)
from trading.market_maker import MarketMaker  # noqa: E402
from xip_portal.models import StaffRole, User  # noqa: E402
from xip_portal.services import role_grant  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else 0.0


def spot_venue(levels: int, fills: int) -> tuple[Any, User, Any]:
    """BTC-USDC's deep book and the viewer's fills: (group, the viewer, the market's units)."""
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


def world_cup(fills: int) -> User:
    """The World Cup market and a single-match market quoted by the market maker, and a
    trader with `fills` fills and 50 resting orders; the trader."""
    group = regulated_group_create()
    operator = member_create(group)
    role_grant(
        actor=None, user=operator, role=StaffRole.RISK_GROUP_OPERATOR, risk_group=group, reason="b"
    )
    markets = []
    for spec in (
        prediction_spec(outcomes=WORLD_CUP_TEAMS, tick="0.001"),
        {
            **prediction_spec(symbol="WC26-MEX-OPENER", name="Mexico win the opening match"),
            "outcomes": [],
        },
    ):
        market = market_list_from_xip(
            proposal=proposal_make(group=group, status=ProposalStatus.FINAL, spec=spec)
        )
        market_status_change(
            actor=operator, market=market, move="schedule", reason="b", launch_at=timezone.now()
        )
        market_status_change(actor=operator, market=market, move="launch", reason="b")
        markets.append(market)
    shard = shard_of(risk_group=group)
    tasks.shard_process(shard.pk)
    maker, trader = member_create(group), member_create(group)
    engine_deposit(group=group, user=maker, amount=Decimal(10_000_000))
    engine_deposit(group=group, user=trader, amount=Decimal(1_000_000))
    quoting = MarketMaker(maker=maker, levels=3, seed=1)
    listed = market_engine_config(markets[0])
    done = 0
    while done < fills:
        quoting.cycle()
        tasks.shard_process(shard.pk)
        for team in WORLD_CUP_TEAMS[: min(48, fills - done)]:
            command_submit(
                risk_group=group,
                account=trader.pk,
                command={
                    "type": "PlaceOrder",
                    "market": f"WC26-WINNER:{team}",
                    "side": "buy",
                    "size": listed.size("1"),
                    "order_type": "market",
                    "tif": "ioc",
                },
            )
            done += 1
        tasks.shard_process(shard.pk)
    for index in range(50):
        command_submit(
            risk_group=group,
            account=trader.pk,
            command={
                "type": "PlaceOrder",
                "market": f"WC26-WINNER:{WORLD_CUP_TEAMS[index % 48]}",
                "side": "buy",
                "size": listed.size("1"),
                "price": listed.price("0.001"),
            },
        )
    tasks.shard_process(shard.pk)
    return trader


def bench_page(user: User, path: str, requests: int) -> dict[str, Any]:
    """The page's server time for `user`: p50/p95/max (ms), the database's share of the p50,
    the p50 of the process's CPU time (what a web process spends, whatever else the machine
    runs) and the query count."""
    client = Client()
    client.force_login(user)
    for _ in range(10):  # warm: the registry's tradables, templates
        client.get(path)
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    times, in_sql, cpu = [], [], []
    for _ in range(requests):
        with CaptureQueriesContext(connection) as each:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        in_sql.append(sum(float(query["time"]) for query in each.captured_queries) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    return {
        "p50_ms": percentile(times, 0.5),
        "p95_ms": percentile(times, 0.95),
        "max_ms": percentile(times, 1.0),
        # the database's share: on a busy shared machine most of the time is waiting here
        "sql_p50_ms": percentile(in_sql, 0.5),
        "cpu_p50_ms": percentile(cpu, 0.5),
        "queries": len(queries.captured_queries),
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
    call_command("migrate", verbosity=0)
    assets_create()
    group, viewer, units = spot_venue(args.levels, args.fills)
    trader = world_cup(args.fills // 10)
    figures: dict[str, Any] = {
        "database": DATABASE,
        "levels_per_side": args.levels,
        "fills": args.fills,
        "cpus": os.cpu_count(),
    }
    for name, user, path in (
        ("market", viewer, "/markets/BTC-USDC/"),
        ("portfolio", viewer, "/portfolio/"),
        ("world_cup", trader, "/world-cup/"),
    ):
        page = figures[name] = bench_page(user, path, args.requests)
        print(
            f"{name:<10} p50 {page['p50_ms']:7.2f} ms  p95 {page['p95_ms']:7.2f} ms  "
            f"max {page['max_ms']:7.2f} ms  ({page['sql_p50_ms']} ms of the p50 in "
            f"{page['queries']} queries; CPU p50 {page['cpu_p50_ms']:.1f} ms)"
        )
    figures |= bench_push(group, viewer, units, args.pushes)
    print(f"push       p50 {figures['push_p50_ms']} ms, p99 {figures['push_p99_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
