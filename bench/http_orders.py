"""Orders through the OKX v5-compatible HTTP API on the production server setup: the
Procfile's uvicorn (2 workers, production settings with their database connection pool),
PostgreSQL, Redis, one real engine worker (Celery, as the Procfile runs it) for the risk
group's shard, and a load generator beside them that signs every request as ccxt's okx
class does (HMAC-SHA256, OK-ACCESS-* headers).

    .venv/bin/python bench/http_orders.py [--seconds S] [--connections C] [--rate R] \
        [--server uvicorn] [--server gunicorn] [--compiled DIR]

Each `--server` is measured in turn on the same venue and engine worker (default: uvicorn
alone; gunicorn is 2 workers of 16 threads, WSGI, for comparison). With `--compiled DIR`
the engine worker runs the mypyc build of the core in DIR, as the Procfile's stack does.

It makes its own database (BENCH_DATABASE, default bench_http_orders), lists BTC-USDC in a
permissionless group, funds 50 traders with an API key each, and measures:
  single    orders/s through `trade/order`, one order per request, C connections at full
            speed; ack = the HTTP answer (the order journaled, its ordId known: the traders
            are funded, so no order waits for the engine); applied_per_s counts until the
            engine worker has applied every answered order;
  batched   orders/s through `trade/batch-orders`, 20 orders per request;
  paced     ack p50/p99 of single orders at a paced R orders/s (default 1000, or what
            `single` reached if less); due_p99_ms: the p99 from the time each request was
            due on its connection, which also counts the wait of those a slow answer held
            back (each connection sends one request at a time).
Errors are answers that are not HTTP 200 with code "0". OKX's request limits are off
(TRADING_RATE_LIMITS=False), as they would refuse one key's 61st order in 2 s. The last
line is one JSON object with every figure, per server, and the machine's load average
before and after (the machine may be shared). Each phase also says where the CPU went, in
ms per order from its first request until the engine applied its last order
(`cpu_ms_per_order`): the web server's processes, the engine worker, the load generator,
PostgreSQL (its own processes and the sessions on the bench's database) and the rest of the
machine (`other`: what else runs there, other databases' sessions included; a process
that ended during the phase is not counted).
"""

import argparse
import asyncio
import functools
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from venue import bench_configure  # noqa: E402

DATABASE = bench_configure("bench_http_orders")

import aiohttp  # noqa: E402
import django  # noqa: E402

django.setup()

from venue import (  # noqa: E402
    Trader,
    cpu_sample,
    cpu_used,
    keys_warm,
    okx_signed_headers,
    percentile,
    venue_setup,
    wait_applied,
    web_server_start,
)

from engine.worker_process import shard_worker_start  # noqa: E402

TRADERS = 50
PORT = 8765
BATCH = 20
THREADS = 16


def order(rng: random.Random) -> dict[str, str]:
    side = rng.choice(("buy", "sell"))
    # around a mid of 100: a quarter of the orders cross the spread
    offset = rng.randint(1, 300) / 100
    price = 100 - offset if side == "buy" else 100 + offset
    if rng.random() < 0.25:
        price = 100 + offset if side == "buy" else 100 - offset
    return {
        "instId": "BTC-USDC",
        "tdMode": "cash",
        "side": side,
        "ordType": "limit",
        "sz": "0.001",
        "px": f"{price:.2f}",
    }


async def run(
    traders: list[Trader],
    shard_id: int,
    *,
    seconds: float,
    connections: int,
    batch: bool,
    roots: dict[str, int],
    rate: float = 0.0,
) -> dict[str, Any]:
    base = f"http://127.0.0.1:{PORT}"
    path = "/api/v5/trade/batch-orders" if batch else "/api/v5/trade/order"
    per_request = BATCH if batch else 1
    latencies: list[float] = []
    # paced: from the time each request was due, so that a stall also counts against the
    # requests it held back on the same connection, not only the one it slowed
    late: list[float] = []
    errors = 0
    first_error: list[str] = []
    orders_done = 0
    deadline = time.monotonic() + seconds
    interval = connections / rate if rate else 0.0

    async def client(index: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors, orders_done
        rng = random.Random(index)
        trader = traders[index % len(traders)]
        next_at = time.monotonic() + rng.random() * interval
        while time.monotonic() < deadline:
            due = next_at
            if interval:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += interval
            payload = [order(rng) for _ in range(BATCH)] if batch else order(rng)
            body = json.dumps(payload)
            started = time.perf_counter()
            try:
                async with session.post(
                    base + path,
                    data=body,
                    headers=okx_signed_headers(trader.key, trader.secret, "POST", path, body),
                ) as answer:
                    text = await answer.text()
                    good = answer.status == 200 and json.loads(text).get("code") == "0"
            except (TimeoutError, aiohttp.ClientError, ValueError) as error:
                text, good = repr(error), False
            if not good and not first_error:
                first_error.append(text[:300])
            latencies.append(time.perf_counter() - started)
            late.append(time.monotonic() - due)
            if good:
                orders_done += per_request
            else:
                errors += 1

    cpu_before = cpu_sample(roots, DATABASE)
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(i, session) for i in range(connections)))
    elapsed = time.perf_counter() - started
    await asyncio.to_thread(wait_applied, shard_id)
    applied = time.perf_counter() - started
    cpu = cpu_used(roots, cpu_before, cpu_sample(roots, DATABASE))
    return {
        "orders_per_s": round(orders_done / elapsed, 1),
        "applied_per_s": round(orders_done / applied, 1),
        "requests": len(latencies),
        "errors": errors,
        "ack_p50_ms": percentile(latencies, 0.5),
        "ack_p99_ms": percentile(latencies, 0.99),
        **({"due_p99_ms": percentile(late, 0.99)} if rate else {}),
        "cpu_ms_per_order": {
            role: round(1000 * seconds / max(orders_done, 1), 3) for role, seconds in cpu.items()
        },
        **({"first_error": first_error[0]} if first_error else {}),
    }


def measure(
    traders: list[Trader], shard_id: int, args: argparse.Namespace, roots: dict[str, int]
) -> dict[str, dict[str, Any]]:
    """The three phases against the server listening on PORT."""
    phase = functools.partial(
        run, traders, shard_id, seconds=args.seconds, connections=args.connections, roots=roots
    )
    results: dict[str, dict[str, Any]] = {}
    for name, batch in (("single", False), ("batched", True)):
        results[name] = asyncio.run(phase(batch=batch))
    reached = float(results["single"]["orders_per_s"])
    pace = min(args.rate, reached * 0.9) or args.rate
    results["paced"] = {"rate": round(pace, 1), **asyncio.run(phase(batch=False, rate=pace))}
    return results


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--compiled", metavar="DIR", help="the compiled engine core")
    parser.add_argument(
        "--server",
        action="append",
        choices=("uvicorn", "gunicorn"),
        help="the web server to measure; repeat to compare (default: uvicorn)",
    )
    args = parser.parse_args()
    global PORT
    PORT = args.port
    servers = list(dict.fromkeys(args.server or ["uvicorn"]))
    venue = venue_setup(TRADERS)
    shard_id = venue.shard_id
    log = Path(tempfile.gettempdir()) / f"{DATABASE}-worker.log"
    worker = shard_worker_start([shard_id], log=log)
    load_before = load_average()
    results: dict[str, dict[str, dict[str, Any]]] = {}
    try:
        wait_applied(shard_id)
        for name in servers:
            server = web_server_start(port=PORT, server=name, threads=THREADS)
            try:
                keys_warm(PORT, venue.traders)
                roots = {"web": server.pid, "engine": worker.pid, "load_generator": os.getpid()}
                results[name] = measure(venue.traders, shard_id, args, roots)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait()
    finally:
        worker.kill()
        worker.wait()
    load_after = load_average()
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}")
    for name, phases in results.items():
        for phase, figures in phases.items():
            print(f"{name:8} {phase:8} {figures}")
    print(
        json.dumps(
            {
                "bench": "http_orders",
                "database": DATABASE,
                "load_average": {"before": load_before, "after": load_after},
                **results,
            }
        )
    )


if __name__ == "__main__":
    main()
