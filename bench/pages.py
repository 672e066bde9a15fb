"""Server time of the trader pages, through Django's test client on PostgreSQL (no network,
no browser: the view, its queries and the template):

    .venv/bin/python bench/pages.py [--requests N] [--fills F]

It makes its own database (BENCH_DATABASE, default bench_pages), lists the 48-team World Cup
market and a single-match market in a regulated group, lets the market maker quote every
team on 3 levels, and has one trader take F fills (default 1,000) and rest 50 orders. Then
it times N requests (default 200, after 10 to warm up) of:
  portfolio   /portfolio/ for that trader (goal: p95 <= 50 ms)
  world_cup   /world-cup/ for that trader (48 teams, the holdings column)
and prints p50/p95/max in ms (the query counts are the tests': constant in the number of
orders and fills). The last line is one JSON object with every figure.
"""

import argparse
import json
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_database import bench_database_configure  # noqa: E402

DATABASE = bench_database_configure("bench_pages")
# one connection for the whole run, as a server keeps them: the figures are the pages'
os.environ.setdefault("CONN_MAX_AGE", "600")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from engine.services import command_submit, shard_of  # noqa: E402
from engine.tasks import shard_process  # noqa: E402
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
    prediction_spec,
    proposal_make,
    regulated_group_create,
)
from trading.market_maker import MarketMaker  # noqa: E402
from xip_portal.models import StaffRole, User  # noqa: E402
from xip_portal.services import role_grant  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def world(fills: int) -> User:
    call_command("migrate", verbosity=0)
    assets_create()
    group = regulated_group_create()
    operator = member_create(group)
    role_grant(
        actor=None,
        user=operator,
        role=StaffRole.RISK_GROUP_OPERATOR,
        risk_group=group,
        reason="bench",
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
    shard_process(shard.pk)
    maker, trader = member_create(group), member_create(group)
    engine_deposit(group=group, user=maker, amount=Decimal(10_000_000))
    engine_deposit(group=group, user=trader, amount=Decimal(1_000_000))
    quoting = MarketMaker(maker=maker, levels=3, seed=1)
    listed = market_engine_config(markets[0])
    done = 0
    while done < fills:
        quoting.cycle()
        shard_process(shard.pk)
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
        shard_process(shard.pk)
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
    shard_process(shard.pk)
    return trader


def answered(response: object) -> None:
    status = getattr(response, "status_code", 0)
    if status != 200:
        raise SystemExit(f"the page answered {status}")


def timed(client: Client, path: str, requests: int) -> dict[str, float]:
    for _ in range(10):
        answered(client.get(path))
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        answered(response)
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "max_ms": round(max(times), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--fills", type=int, default=1000)
    args = parser.parse_args()
    from engine.models import Fill, Order

    trader = world(args.fills)
    taken = Fill.objects.filter(taker_account=trader.pk).count()
    resting = Order.objects.filter(account=trader.pk, status="open").count()
    client = Client()
    client.force_login(trader)
    results = {"database": DATABASE, "fills": taken, "open_orders": resting, "cpus": os.cpu_count()}
    for name, path in (("portfolio", "/portfolio/"), ("world_cup", "/world-cup/")):
        figures = timed(client, path, args.requests)
        results[name] = figures
        print(
            f"{name:<10} p50 {figures['p50_ms']:7.2f} ms  p95 {figures['p95_ms']:7.2f} ms  "
            f"max {figures['max_ms']:7.2f} ms"
        )
    print(f"trader: {taken} fills, {resting} open orders")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
