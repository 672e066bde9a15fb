"""The venue the HTTP benchmarks trade on and the production-style server they trade
through, shared by `http_orders.py`, `load.py` and `faults.py`.

A script calls `bench_configure(name)` before `django.setup()`: its own database, the
benchmark's secret key and API-key vault key, shared with the server it starts
(`production_env`). The signing and percentile functions need no Django, so the locust
users (`load_users.py`) import this module too."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench_database import ROOT, bench_database_configure

PASSPHRASE = "bench-passphrase"  # noqa: S105 - a benchmark's own keys
SECRET_KEY = "bench-" + "x" * 50  # noqa: S105 - shared by the script and its server only
VAULT_KEY = base64.urlsafe_b64encode(b"bench-only-api-key-vault-key-xyz").decode()
SYMBOL = "BTC-USDC"


def bench_configure(default_database: str) -> str:
    """Before django.setup(): a fresh database (bench_database.py) and the secrets the
    server will share, so the API keys and sessions made here are valid there."""
    name: str = bench_database_configure(default_database)
    os.environ["API_KEY_ENCRYPTION_KEYS"] = VAULT_KEY
    os.environ["SECRET_KEY"] = SECRET_KEY
    return name


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of durations in seconds, in milliseconds."""
    ordered = sorted(values)
    return (
        round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2) if ordered else 0.0
    )


def okx_signed_headers(key: str, secret: str, method: str, path: str, body: str) -> dict[str, str]:
    """The headers ccxt's okx class sends: HMAC-SHA256 of timestamp + method + path + body."""
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


@dataclass(frozen=True)
class Trader:
    user_id: int
    key: str
    secret: str


@dataclass(frozen=True)
class Venue:
    group: Any  # the RiskGroup
    shard_id: int
    traders: list[Trader]


def venue_setup(traders: int, *, keyless: int = 0) -> Venue:
    """Migrate, list BTC-USDC live in a permissionless group, and make `traders` members,
    each funded with USDC and BTC (journaled: an engine worker applies the deposits), all
    but the last `keyless` holding a read+trade API key. Passphrases are hashed as
    production hashes them (the test settings' fast hasher is unknown to the server)."""
    from django.conf import global_settings, settings
    from django.contrib.auth.hashers import get_hashers
    from django.core.management import call_command
    from django.utils import timezone

    from engine.services import command_submit, shard_of
    from governance.memberships.services import membership_join
    from governance.proposals.models import ProposalStatus
    from markets.services import market_list_from_xip, market_status_change
    from tests.markets.factories import assets_create, open_group_create, proposal_make, spot_spec
    from trading.services import api_key_create
    from xip_portal.models import StaffRole, User
    from xip_portal.services import role_grant

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
    made = []
    for number in range(traders):
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
        if number >= traders - keyless:
            made.append(Trader(trader.pk, "", ""))
            continue
        api_key, secret = api_key_create(
            user=trader, name="bench", passphrase=PASSPHRASE, scopes=("read", "trade")
        )
        made.append(Trader(trader.pk, api_key.key, secret))
    return Venue(group, shard_of(risk_group=group).pk, made)


def wait_applied(shard_id: int, timeout: float = 120.0) -> None:
    """Until the shard's inbox is empty (every journaled command applied)."""
    from engine import models

    deadline = time.monotonic() + timeout
    while models.Command.objects.filter(shard_id=shard_id, seq__isnull=True).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"the engine worker did not apply shard {shard_id}'s inbox")
        time.sleep(0.05)


def production_env(**overrides: str) -> dict[str, str]:
    """The environment of a server process: production settings on this process's
    database and Redis, the bench's secrets, OKX's request limits off (they would refuse
    one key's 61st order in 2 s)."""
    from django.conf import settings

    from engine.worker_process import database_url

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "xip_portal.settings.production",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "SECURE_COOKIES": "False",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "API_KEY_ENCRYPTION_KEYS": VAULT_KEY,
        "TRADING_RATE_LIMITS": "False",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }


def web_server_start(
    *, port: int, server: str = "uvicorn", workers: int = 2, threads: int = 16, **env: str
) -> subprocess.Popen[bytes]:
    """The web server as production runs it, with production_env(**env): `uvicorn` (the
    Procfile's ASGI server, `workers` processes) or `gunicorn` (WSGI, `workers` processes
    of `threads` threads). Returns once it accepts connections."""
    if server == "uvicorn":
        command = ["xip_portal.web_server", "--workers", str(workers)]
        command += ["--host", "127.0.0.1", "--port", str(port)]
    else:
        # a request mostly waits on PostgreSQL and Redis round trips: threads let the
        # waits of one process overlap
        command = ["gunicorn", "xip_portal.wsgi", "-w", str(workers), "-k", "gthread"]
        command += ["--threads", str(threads), "-b", f"127.0.0.1:{port}"]
        command += ["--log-level", "warning"]
    environment = production_env(**env)
    # production serves the static files' hashed names from the manifest collectstatic
    # writes (slow: it compresses every file; made once, `make test` refreshes it)
    if not (ROOT / "staticfiles" / "staticfiles.json").exists():
        subprocess.run(  # noqa: S603 - a fixed command line
            [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
            cwd=ROOT,
            env=environment,
            check=True,
        )
    process = subprocess.Popen(  # noqa: S603 - a fixed command line
        [sys.executable, "-m", *command], cwd=ROOT, env=environment
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the {server} server did not start on port {port}") from None
            time.sleep(0.2)


def keys_warm(port: int, traders: list[Trader], *, workers: int = 2) -> None:
    """Signed reads with every key, on fresh connections, several times: each web process
    checks a key's passphrase hash once (PBKDF2, slow on purpose) and then remembers it, so
    every process should have seen every key before anything is measured."""
    path = "/api/v5/account/balance"

    def read(trader: Trader) -> None:
        for attempt in range(3):
            headers = okx_signed_headers(trader.key, trader.secret, "GET", path, "")
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                    answer.read()
                    return
            except urllib.error.HTTPError as refused:
                # on a busy machine a request may wait behind the hashing longer than the
                # signature's 30 s: sign it again
                if refused.code != 401 or attempt == 2:
                    raise

    # which process accepts a connection is up to the kernel: with 4 connections a key per
    # process, a run found a few (key, process) pairs never warmed, each then hashing for
    # 0.3-0.7 s of CPU inside the first measured phase (0.1 ms of web CPU per order and
    # more); with 8 per process the chance of one left is negligible, and a warm key's read
    # costs little
    with ThreadPoolExecutor(max_workers=2 * workers) as pool:
        list(pool.map(read, traders * (8 * workers)))


def cpu_sample(roots: dict[str, int], database: str) -> dict[tuple[int, int], tuple[str, float]]:
    """Each process's role and CPU seconds so far, by (pid, start time: a pid used again is
    another process): the processes under each root pid (the root and its descendants);
    `postgres` for PostgreSQL's own processes (WAL writer, checkpointer, ...) and its
    sessions on `database`; `other` for the rest, other databases' sessions included
    (Linux /proc). `cpu_used` takes two."""
    ticks = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    used: dict[int, tuple[int, float]] = {}
    names: dict[int, str] = {}
    commands: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        name, fields = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()
        pid = int(entry)
        try:
            with open(f"/proc/{entry}/cmdline") as command:
                commands[pid] = command.read().replace("\0", " ")
        except OSError:
            commands[pid] = ""
        parent[pid], names[pid] = int(fields[1]), name
        used[pid] = int(fields[19]), (int(fields[11]) + int(fields[12])) / ticks
    owners = {pid: role for role, pid in roots.items()}
    sample = {}
    for pid, (started, seconds) in used.items():
        role, walk = "other", pid
        if names[pid] == "postgres":
            # a session's title names its database: "postgres: 15/main: user db host(port) ..."
            title = commands[pid].split()
            if len(title) < 5 or title[3] == database:
                role = "postgres"
        else:
            while walk > 1:
                if walk in owners:
                    role = owners[walk]
                    break
                walk = parent.get(walk, 1)
        sample[pid, started] = role, seconds
    return sample


def cpu_used(
    roots: dict[str, int],
    before: dict[tuple[int, int], tuple[str, float]],
    after: dict[tuple[int, int], tuple[str, float]],
) -> dict[str, float]:
    """CPU seconds each role used between two `cpu_sample`s, summed process by process
    (roles as `after` has them). A process that ended meanwhile is not counted (its last
    figures are gone with it), so read `after` while the measured processes live; summing
    each sample's totals instead made `other` negative whenever a process of another
    session (a test worker) ended between the two."""
    totals = dict.fromkeys([*roots, "postgres", "other"], 0.0)
    for process, (role, seconds) in after.items():
        totals[role] += seconds - before.get(process, (role, 0.0))[1]
    return totals
