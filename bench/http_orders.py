"""Orders through the OKX v5-compatible HTTP API on the production server setup: gunicorn
with 2 workers of 16 threads (production settings), PostgreSQL, Redis, one real engine worker
(Celery, -P solo) for the risk group's shard, and a load generator beside them that signs
every request as ccxt's okx class does (HMAC-SHA256, OK-ACCESS-* headers).

    .venv/bin/python bench/http_orders.py [--seconds S] [--connections C] [--rate R]

It makes its own database (BENCH_DATABASE, default bench_http_orders), lists BTC-USDC in a
permissionless group, funds 50 traders with an API key each, and measures:
  single    orders/s through `trade/order`, one order per request, C connections at full
            speed; ack = the HTTP answer (the order journaled, its ordId known: the traders
            are funded, so no order waits for the engine); applied_per_s counts until the
            engine worker has applied every answered order;
  batched   orders/s through `trade/batch-orders`, 20 orders per request;
  paced     ack p50/p99 of single orders at a paced R orders/s (default 1000, or what
            `single` reached if less).
Errors are answers that are not HTTP 200 with code "0". OKX's request limits are off
(TRADING_RATE_LIMITS=False), as they would refuse one key's 61st order in 2 s. The last
line is one JSON object with every figure.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_database import bench_database_configure  # noqa: E402

DATABASE = bench_database_configure("bench_http_orders")
VAULT_KEY = base64.urlsafe_b64encode(b"bench-only-api-key-vault-key-xyz").decode()
os.environ["API_KEY_ENCRYPTION_KEYS"] = VAULT_KEY

import aiohttp  # noqa: E402
import django  # noqa: E402

django.setup()

from django.conf import global_settings, settings  # noqa: E402
from django.contrib.auth.hashers import get_hashers  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from engine import models  # noqa: E402
from engine.services import command_submit, shard_of  # noqa: E402
from engine.worker_process import database_url, shard_worker_start  # noqa: E402
from governance.memberships.services import membership_join  # noqa: E402
from governance.proposals.models import ProposalStatus  # noqa: E402
from markets.services import market_list_from_xip, market_status_change  # noqa: E402
from tests.markets.factories import (  # noqa: E402
    assets_create,
    open_group_create,
    proposal_make,
    spot_spec,
)
from trading.services import api_key_create  # noqa: E402
from xip_portal.models import StaffRole, User  # noqa: E402
from xip_portal.services import role_grant  # noqa: E402

TRADERS = 50
PASSPHRASE = "bench-passphrase"  # noqa: S105 - a benchmark's own keys
PORT = 8765
BATCH = 20
THREADS = 16


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return (
        round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2) if ordered else 0.0
    )


def setup() -> tuple[list[tuple[str, str]], int]:
    """The venue; ([(key, secret)], shard id). Passphrases are hashed as production
    hashes them (the test settings' fast hasher is unknown to the server)."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    get_hashers.cache_clear()  # type: ignore[attr-defined]  # functools.cache, untyped in the stubs
    call_command("migrate", verbosity=0)
    assets_create()
    group = open_group_create()
    operator = User.objects.create_user(email="operator@bench.test")
    role_grant(
        actor=None,
        user=operator,
        role=StaffRole.RISK_GROUP_OPERATOR,
        risk_group=group,
        reason="bench",
    )
    market = market_list_from_xip(
        proposal=proposal_make(group=group, status=ProposalStatus.FINAL, spec=spot_spec())
    )
    market_status_change(
        actor=operator, market=market, move="schedule", reason="bench", launch_at=timezone.now()
    )
    market_status_change(actor=operator, market=market, move="launch", reason="bench")
    shard = shard_of(risk_group=group)
    keys = []
    for number in range(TRADERS):
        trader = User.objects.create_user(email=f"trader{number}@bench.test")
        membership_join(user=trader, risk_group=group, country_of_residence="GB", accept_terms=True)
        for asset, amount in (("USDC", 10**9 * 10**12), ("BTC", 10**6 * 10**6)):
            command_submit(
                risk_group=group,
                account=trader.pk,
                command={
                    "type": "Deposit",
                    "asset": asset,
                    "amount": amount,
                    "external_id": f"{asset}{trader.pk}",
                },
            )
        api_key, secret = api_key_create(
            user=trader, name="bench", passphrase=PASSPHRASE, scopes=("read", "trade")
        )
        keys.append((api_key.key, secret))
    return keys, shard.pk


def wait_applied(shard_id: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while models.Command.objects.filter(shard_id=shard_id, seq__isnull=True).exists():
        if time.monotonic() > deadline:
            raise SystemExit("the engine worker did not apply the set-up")
        time.sleep(0.05)


def signed(key: str, secret: str, method: str, path: str, body: str) -> dict[str, str]:
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    digest = hmac.new(
        secret.encode(), f"{stamp}{method}{path}{body}".encode(), hashlib.sha256
    ).digest()
    return {
        "OK-ACCESS-KEY": key,
        "OK-ACCESS-SIGN": base64.b64encode(digest).decode(),
        "OK-ACCESS-TIMESTAMP": stamp,
        "OK-ACCESS-PASSPHRASE": PASSPHRASE,
        "Content-Type": "application/json",
    }


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
    keys: list[tuple[str, str]],
    shard_id: int,
    *,
    seconds: float,
    connections: int,
    batch: bool,
    rate: float = 0.0,
) -> dict[str, float | str]:
    base = f"http://127.0.0.1:{PORT}"
    path = "/api/v5/trade/batch-orders" if batch else "/api/v5/trade/order"
    per_request = BATCH if batch else 1
    latencies: list[float] = []
    errors = 0
    first_error: list[str] = []
    orders_done = 0
    deadline = time.monotonic() + seconds
    interval = connections / rate if rate else 0.0

    async def client(index: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors, orders_done
        rng = random.Random(index)
        key, secret = keys[index % len(keys)]
        next_at = time.monotonic() + rng.random() * interval
        while time.monotonic() < deadline:
            if interval:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += interval
            payload = [order(rng) for _ in range(BATCH)] if batch else order(rng)
            body = json.dumps(payload)
            started = time.perf_counter()
            try:
                async with session.post(
                    base + path, data=body, headers=signed(key, secret, "POST", path, body)
                ) as answer:
                    text = await answer.text()
                    good = answer.status == 200 and json.loads(text).get("code") == "0"
            except (TimeoutError, aiohttp.ClientError, ValueError) as error:
                text, good = repr(error), False
            if not good and not first_error:
                first_error.append(text[:300])
            latencies.append(time.perf_counter() - started)
            if good:
                orders_done += per_request
            else:
                errors += 1

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(i, session) for i in range(connections)))
    elapsed = time.perf_counter() - started
    await asyncio.to_thread(wait_applied, shard_id)
    applied = time.perf_counter() - started
    return {
        "orders_per_s": round(orders_done / elapsed, 1),
        "applied_per_s": round(orders_done / applied, 1),
        "requests": len(latencies),
        "errors": errors,
        "ack_p50_ms": percentile(latencies, 0.5),
        "ack_p99_ms": percentile(latencies, 0.99),
        **({"first_error": first_error[0]} if first_error else {}),
    }


async def warm(keys: list[tuple[str, str]]) -> None:
    """Signed reads with every key, two at a time, so both web processes see each key."""
    path = "/api/v5/account/balance"

    async def reads(session: aiohttp.ClientSession, part: list[tuple[str, str]]) -> None:
        for key, secret in part * 3:
            headers = signed(key, secret, "GET", path, "")
            async with session.get(f"http://127.0.0.1:{PORT}{path}", headers=headers) as answer:
                await answer.read()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(reads(session, keys[::2]), reads(session, keys[1::2]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    global PORT
    PORT = args.port
    keys, shard_id = setup()
    log = Path(tempfile.gettempdir()) / f"{DATABASE}-worker.log"
    worker = shard_worker_start([shard_id], log=log)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "xip_portal.settings.production",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": "bench-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "API_KEY_ENCRYPTION_KEYS": VAULT_KEY,
        "TRADING_RATE_LIMITS": "False",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(  # noqa: S603 - a fixed command line
        [
            sys.executable,
            "-m",
            "gunicorn",
            "xip_portal.wsgi",
            "-w",
            "2",
            # a request mostly waits on PostgreSQL and Redis round trips: threads let the
            # waits of one process overlap
            "-k",
            "gthread",
            "--threads",
            str(THREADS),
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_applied(shard_id)
        time.sleep(3)  # gunicorn's workers start
        # each web process checks a key's passphrase hash once (PBKDF2, slow on purpose)
        # and then remembers it: warm every key in both processes before measuring
        asyncio.run(warm(keys))
        results: dict[str, dict[str, float | str]] = {}
        results["single"] = asyncio.run(
            run(keys, shard_id, seconds=args.seconds, connections=args.connections, batch=False)
        )
        results["batched"] = asyncio.run(
            run(keys, shard_id, seconds=args.seconds, connections=args.connections, batch=True)
        )
        reached = float(results["single"]["orders_per_s"])
        pace = min(args.rate, reached * 0.9) or args.rate
        results["paced"] = {
            "rate": round(pace, 1),
            **asyncio.run(
                run(
                    keys,
                    shard_id,
                    seconds=args.seconds,
                    connections=args.connections,
                    batch=False,
                    rate=pace,
                )
            ),
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
        worker.kill()
        worker.wait()
    for name, figures in results.items():
        print(f"{name:8} {figures}")
    print(json.dumps({"bench": "http_orders", "database": DATABASE, **results}))


if __name__ == "__main__":
    main()
