"""The whole stack under load (issue 16): market makers quoting and takers trading through
the signed OKX v5-compatible API, and signed-in visitors reading the market page and their
portfolio, all at once, for a sustained period, driven by locust (users in `load_users.py`).

    .venv/bin/python bench/load.py [--seconds 60] [--makers 10] [--takers 10] [--visitors 10]
                                   [--rate 1050] [--page-rate 2] [--compiled DIR]

The stack is the production one on this machine: uvicorn with 2 workers (the Procfile's web
process) under production settings, PostgreSQL, Redis, and a real engine worker (Celery,
as the Procfile runs it) for the risk group's shard, in its own database (BENCH_DATABASE, default
bench_load; set-up shared with the other HTTP benches in `venue.py`). Makers and takers
together are asked for `--rate` orders/s (each user paced at its share; a user whose
answers come slower just goes as fast as they come), each visitor for `--page-rate`
pages/s. OKX's request limits are off, as in `http_orders.py`.

It prints orders/s sustained (acknowledged orders over the run, and the slowest 5 s of
it), order ack p50/p99 (the signed request's answer: the order journaled, durable), the
rate at which the engine applied them, page p50/p95, every error, the CPU each part of the
stack used (PostgreSQL: its own processes and its sessions on the bench's database; other:
the rest of the machine), and the goal (1,000 orders/s, 0 errors, ack p99 <= 50 ms, page
p95 <= 100 ms). The last line is one JSON object with every figure.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from venue import bench_configure  # noqa: E402

DATABASE = bench_configure("bench_load")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from venue import (  # noqa: E402
    SYMBOL,
    cpu_sample,
    cpu_used,
    keys_warm,
    percentile,
    venue_setup,
    wait_applied,
    web_server_start,
)

from engine.worker_process import shard_worker_start  # noqa: E402
from xip_portal.models import User  # noqa: E402

GOAL = {"orders_per_s": 1000, "errors": 0, "ack_p99_ms": 50, "page_p95_ms": 100}
PAGES = (f"/markets/{SYMBOL}/", "/portfolio/")
WINDOW = 5  # seconds: the slowest such stretch of the run is reported


def session_cookie(user_id: int) -> str:
    """A signed-in session of the user, as the Cookie header a browser would send."""
    client = Client()
    client.force_login(User.objects.get(pk=user_id))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def pages_warm(port: int, cookies: list[str]) -> None:
    """Each page a few times on fresh connections, so every web process has loaded its
    templates and code before anything is measured."""

    def read(path_and_cookie: tuple[str, str]) -> None:
        path, cookie = path_and_cookie
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
        request.add_header("Cookie", cookie)
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - our server
            answer.read()

    visits = [(path, cookie) for path in PAGES for cookie in cookies[:1] * 6]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(read, visits))


def figures(samples: dict[str, list[list[Any]]], seconds: float) -> dict[str, Any]:
    """The run's figures from every request's (time sent, seconds, ok, orders carried)."""
    singles, batches = samples.get("order", []), samples.get("batch", [])
    orders = singles + batches
    pages = samples.get("page market", []) + samples.get("page portfolio", [])
    every = [sample for named in samples.values() for sample in named]
    start = min((at for at, _, _, _ in every), default=0.0)
    windows = [0] * max(1, int(seconds) // WINDOW)
    for at, _, ok, count in orders:
        slot = int((at - start) // WINDOW)
        if ok and slot < len(windows):
            windows[slot] += count
    acknowledged = sum(count for _, _, ok, count in orders if ok)

    def p(named: list[list[Any]], q: float) -> float:
        milliseconds: float = percentile([s for _, s, _, _ in named], q)
        return milliseconds

    return {
        "orders_acknowledged": acknowledged,
        "orders_per_s": round(acknowledged / seconds, 1),
        "orders_per_s_slowest_5s": round(min(windows) / WINDOW, 1),
        "order_requests": len(orders),
        "ack_p50_ms": p(orders, 0.5),
        "ack_p99_ms": p(orders, 0.99),
        "single_ack_p99_ms": p(singles, 0.99),
        "batch_ack_p99_ms": p(batches, 0.99),
        "cancels": sum(count for _, _, _, count in samples.get("cancel", [])),
        "cancel_p99_ms": p(samples.get("cancel", []), 0.99),
        "pages": len(pages),
        "pages_per_s": round(len(pages) / seconds, 1),
        "page_p50_ms": p(pages, 0.5),
        "page_p95_ms": p(pages, 0.95),
        "market_page_p95_ms": p(samples.get("page market", []), 0.95),
        "portfolio_p95_ms": p(samples.get("page portfolio", []), 0.95),
        "errors": sum(1 for _, _, ok, _ in every if not ok),
    }


def locust_start(
    port: int, seconds: int, users: int, work: Path, results: Path
) -> subprocess.Popen[bytes]:
    """locust, headless, running the plan in `work` for `seconds`; every request's outcome
    and latency go to `results` when it stops."""
    return subprocess.Popen(  # noqa: S603 - a fixed command line
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(BENCH / "load_users.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds}s",
            "--stop-timeout",
            "5",
            "--host",
            f"http://127.0.0.1:{port}",
            "--only-summary",
            "--loglevel",
            "ERROR",
        ],
        env={**os.environ, "LOAD_PLAN": str(work / "plan.json"), "LOAD_RESULTS": str(results)},
        stdout=subprocess.DEVNULL,
        stderr=(work / "locust.log").open("ab"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument(
        "--warm-up",
        type=int,
        default=10,
        help="seconds of the same load before the measured run, then ANALYZE (0: none)",
    )
    parser.add_argument("--makers", type=int, default=10)
    parser.add_argument("--takers", type=int, default=10)
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument(
        "--rate",
        type=float,
        default=1050.0,
        help="orders/s asked in all (Poisson arrivals: 5%% over the goal, so that a stack "
        "keeping up is not counted under it by chance)",
    )
    parser.add_argument(
        "--taker-share", type=float, default=0.2, help="the takers' share of --rate"
    )
    parser.add_argument(
        "--maker-batch",
        type=int,
        default=20,
        choices=range(1, 21),
        metavar="1..20",
        help="quotes a maker posts (and cancels) per request",
    )
    parser.add_argument("--page-rate", type=float, default=2.0, help="pages/s per visitor")
    parser.add_argument(
        "--server",
        choices=("uvicorn", "gunicorn"),
        default="uvicorn",
        help="the Procfile's ASGI server, or gunicorn's threaded WSGI workers for comparison",
    )
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--compiled", metavar="DIR", help="the compiled engine core")
    args = parser.parse_args()
    traders = args.makers + args.takers + args.visitors
    venue = venue_setup(traders, keyless=args.visitors)
    makers = venue.traders[: args.makers]
    takers = venue.traders[args.makers : args.makers + args.takers]
    visitors = venue.traders[args.makers + args.takers :]
    work = Path(tempfile.mkdtemp(prefix=f"{DATABASE}-"))
    plan = {
        "makers": [(t.key, t.secret) for t in makers],
        "takers": [(t.key, t.secret) for t in takers],
        "visitors": [session_cookie(t.user_id) for t in visitors],
        "maker_batch": args.maker_batch,
        "maker_rounds_per_user": args.rate
        * (1 - args.taker_share)
        / args.maker_batch
        / max(1, args.makers),
        "taker_orders_per_user": args.rate * args.taker_share / max(1, args.takers),
        "page_rate_per_user": args.page_rate,
    }
    (work / "plan.json").write_text(json.dumps(plan))
    worker = shard_worker_start([venue.shard_id], log=work / "worker.log")
    server = web_server_start(port=args.port, server=args.server, workers=2)
    try:
        wait_applied(venue.shard_id)
        keys_warm(args.port, makers + takers)
        pages_warm(args.port, plan["visitors"])
        if args.warm_up:
            locust_start(args.port, args.warm_up, traders, work, work / "warm-up.json").wait()
            wait_applied(venue.shard_id, timeout=600)
            # what autovacuum does within a live database's first minutes (this machine's
            # PostgreSQL runs with it off): without statistics PostgreSQL plans the
            # journal's and projections' statements as for empty tables (bench/README.md)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        roots = {"web": server.pid, "engine_worker": worker.pid}
        before = cpu_sample(roots, DATABASE)
        started = time.perf_counter()
        locust = locust_start(args.port, args.seconds, traders, work, work / "results.json")
        roots["load_generator"] = locust.pid
        used = cpu_sample(roots, DATABASE)
        while locust.poll() is None:  # the CPU of the whole run, sampled before it exits
            used = cpu_sample(roots, DATABASE)
            time.sleep(0.5)
        ran = time.perf_counter() - started
        wait_applied(venue.shard_id, timeout=600)
        applied = time.perf_counter() - started
        load_average = os.getloadavg()[0]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
        worker.kill()
        worker.wait()
    results = json.loads((work / "results.json").read_text())
    result = figures(results["samples"], args.seconds)
    result["applied_per_s"] = round(result["orders_acknowledged"] / applied, 1)
    result["cpu_cores_used"] = {
        name: round(seconds / ran, 2) for name, seconds in cpu_used(roots, before, used).items()
    }
    result["load_average"] = round(load_average, 1)
    result["first_errors"] = results["first_errors"]
    result["goal_met"] = (
        result["orders_per_s"] >= GOAL["orders_per_s"]
        and result["errors"] == GOAL["errors"]
        and result["ack_p99_ms"] <= GOAL["ack_p99_ms"]
        and result["page_p95_ms"] <= GOAL["page_p95_ms"]
    )
    print(
        f"orders   {result['orders_per_s']}/s sustained over {args.seconds} s "
        f"(slowest {WINDOW} s: {result['orders_per_s_slowest_5s']}/s), "
        f"ack p50 {result['ack_p50_ms']} ms p99 {result['ack_p99_ms']} ms "
        f"(single {result['single_ack_p99_ms']}, batch {result['batch_ack_p99_ms']}); "
        f"applied {result['applied_per_s']}/s"
    )
    print(f"cancels  {result['cancels']}, request p99 {result['cancel_p99_ms']} ms")
    print(
        f"pages    {result['pages_per_s']}/s, p50 {result['page_p50_ms']} ms "
        f"p95 {result['page_p95_ms']} ms"
    )
    print(f"errors   {result['errors']} {result['first_errors']}")
    print(f"cpu      {result['cpu_cores_used']} cores (load average {result['load_average']})")
    print(f"goal     {'met' if result['goal_met'] else 'not met'} {GOAL}")
    print(
        json.dumps(
            {
                "bench": "load",
                "database": DATABASE,
                "server": args.server,
                "seconds": args.seconds,
                "maker_batch": args.maker_batch,
                "taker_share": args.taker_share,
                "goal": GOAL,
                **result,
            }
        )
    )


if __name__ == "__main__":
    main()
