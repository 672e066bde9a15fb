"""Faults under load (issue 16): signed orders stream through the OKX v5-compatible API
while, one after the other, the engine worker is killed with SIGKILL and restarted, the web
workers are restarted, Redis is restarted, PostgreSQL is restarted and the chain node is
unreachable for a while; settlement batches are cut and committed after each fault.

    .venv/bin/python bench/faults.py [--faults engine,web,redis,postgres,chain]
                                     [--stream-seconds 5] [--outage 60]

Nothing shared is touched: the script starts its own PostgreSQL cluster (initdb in a temp
folder, run as the `postgres` system user when this is root), its own Redis and its own
anvil, each on a free port, and stops them at the end. `--outage` is how long the chain
node stays unreachable (stopped with SIGSTOP: connections hang, as with a lost network).
The engine's time tick runs every second, as beat runs it in production: a wake-up lost with
Redis (a command acknowledged while Redis was down) is picked up by the next tick's.

Afterwards it checks: every acknowledged order was applied exactly once, no fill is
duplicated, the projections equal a clean replay of the journal (engine.rebuild.shard_verify,
which also checks the events account for the engine's money and the snapshot's state hash),
the engine's invariants hold (collateral conserved), settlement batches were committed again
after the chain came back, and every root on the chain is reproduced by a replay of the
journal (journal_verify). The last line is JSON; the exit status is 1 if a check failed.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from venue import (  # noqa: E402
    SYMBOL,
    bench_configure,
    keys_warm,
    okx_signed_headers,
    venue_setup,
    wait_applied,
    web_server_start,
)

FAULTS = ("engine", "web", "redis", "postgres", "chain")
ROOT = BENCH.parent
ANVIL = next((ROOT / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_port(port: int, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start on port {port}") from None
            time.sleep(0.1)


class PrivatePostgres:
    """A throwaway cluster in `folder`, as the `postgres` user when run as root (initdb
    refuses root), without fsync: what is measured is recovery, not the disk."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        folder.mkdir()
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")

    def run(self, *command: str) -> None:
        line = [str(self.bin / command[0]), *command[1:]]
        if os.geteuid() == 0:
            line = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(map(repr, line))]
        subprocess.run(line, check=True, stdout=subprocess.DEVNULL)  # noqa: S603

    def start(self) -> None:
        data = self.folder / "data"
        if not data.exists():
            self.run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-p {self.port} -k {self.folder} -c fsync=off -c max_connections=200"
        log = str(self.folder / "log")
        self.run("pg_ctl", "-D", str(data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_port(self.port, "redis")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class TimeTick(threading.Thread):
    """Beat's `engine-time-tick`: an AdvanceTime per shard every second, through faults."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.running = True
        self.start()

    def run(self) -> None:
        from django.db import connection

        from engine.tasks import shards_tick

        while self.running:
            try:
                shards_tick()
            except Exception:  # noqa: BLE001 - PostgreSQL may be down: tick again later
                connection.close()
            time.sleep(1.0)


class OrderStream:
    """Signed orders, one at a time per trader, in threads; the ids of the acknowledged."""

    def __init__(self, port: int, traders: list[Any]) -> None:
        self.port, self.traders = port, traders
        self.acknowledged: list[int] = []
        self.refused: Counter[str] = Counter()  # why an order was not acknowledged
        self.running = True
        self.threads = [
            threading.Thread(target=self.send, args=(t, n)) for n, t in enumerate(traders)
        ]
        for thread in self.threads:
            thread.start()

    def send(self, trader: Any, number: int) -> None:
        path = "/api/v5/trade/order"
        count = 0
        while self.running:
            count += 1
            side = ("buy", "sell")[(count + number) % 2]
            # even traders quote around 100, odd ones cross the spread: fills all along
            price = 100 + (0.5 if side == "buy" else -0.5) * (1 if number % 2 else -1)
            body = json.dumps(
                {
                    "instId": SYMBOL,
                    "tdMode": "cash",
                    "side": side,
                    "ordType": "limit",
                    "sz": "0.001",
                    "px": f"{price:.2f}",
                }
            )
            headers = okx_signed_headers(trader.key, trader.secret, "POST", path, body)
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.port}{path}", data=body.encode(), headers=headers
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                    item = json.loads(answer.read())["data"][0]
                if item["sCode"] == "0":
                    self.acknowledged.append(int(item["ordId"]))
                    continue
                self.refused[f"sCode {item['sCode']}"] += 1
            except urllib.error.HTTPError as error:
                self.refused[f"HTTP {error.code}"] += 1
                time.sleep(0.2)
            except (OSError, ValueError, KeyError, IndexError) as error:
                self.refused[type(error).__name__] += 1
                time.sleep(0.2)  # the server is down or restarting

    def stop(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faults", default=",".join(FAULTS), help="comma-separated, in turn")
    parser.add_argument("--stream-seconds", type=float, default=5.0)
    parser.add_argument("--outage", type=float, default=60.0, help="chain node down, seconds")
    parser.add_argument("--traders", type=int, default=4)
    args = parser.parse_args()
    faults = [fault for fault in args.faults.split(",") if fault]
    unknown = set(faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults {sorted(unknown)}; choose from {FAULTS}")
    work = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    work.chmod(0o755)  # the cluster's own user reaches its folder
    postgres, redis = PrivatePostgres(work / "postgres"), PrivateRedis()
    anvil_port = free_port()
    # anvil's own binary (the npm wrapper would leave it running when stopped)
    anvil = subprocess.Popen(  # noqa: S603 - a fixed command line
        [str(ANVIL), "--port", str(anvil_port), "--silent"], stdout=subprocess.DEVNULL
    )
    try:
        postgres.start()
        redis.start()
        wait_port(anvil_port, "anvil")
        result = run(args, faults, work, postgres, redis, anvil, anvil_port)
    finally:
        anvil.send_signal(signal.SIGCONT)
        anvil.terminate()
        redis.stop()
        if (work / "postgres" / "data" / "postmaster.pid").exists():
            postgres.stop()
    ok = all(result["checks"].values())
    print("faults", "passed" if ok else "FAILED", result["checks"], flush=True)
    print(json.dumps(result, separators=(",", ":")))
    if not ok:
        raise SystemExit(1)


def run(
    args: argparse.Namespace,
    faults: list[str],
    work: Path,
    postgres: PrivatePostgres,
    redis: PrivateRedis,
    anvil: subprocess.Popen[bytes],
    anvil_port: int,
) -> dict[str, Any]:
    from eth_account import Account
    from web3.types import RPCEndpoint

    operator, settler = Account.create(), Account.create()
    os.environ.update(
        DATABASE_URL=postgres.url,
        CELERY_BROKER_URL=redis.url,
        CHAIN_RPC_URL=f"http://127.0.0.1:{anvil_port}",
        CHAIN_OPERATOR_KEY=operator.key.hex(),
        CHAIN_SETTLER_KEY=settler.key.hex(),
    )
    bench_configure("bench_faults")
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count

    from engine import models
    from engine.chain.deployment import chain_deploy
    from engine.chain.journal_verify import journal_verify
    from engine.chain.provider import chain_web3
    from engine.chain.settlement import settlement_run
    from engine.rebuild import shard_verify
    from engine.sequencer import ShardWriter
    from engine.worker_process import shard_worker_start

    for sender in (operator, settler):
        chain_web3().provider.make_request(
            RPCEndpoint("anvil_setBalance"), [sender.address, hex(10**21)]
        )
    venue = venue_setup(args.traders)
    deployment = chain_deploy()
    log = work / "worker.log"
    worker = shard_worker_start([venue.shard_id], log=log)
    web_port = free_port()
    server = web_server_start(port=web_port)
    settled: dict[str, Any] = {}

    def settle(after: str) -> None:
        try:
            settled[after] = len(settlement_run(deployment=deployment))
        except Exception as error:  # noqa: BLE001 - the chain may be down: record it
            settled[after] = f"failed: {type(error).__name__}"
            connection.close()  # a broken connection is dropped, the next one is fresh

    try:
        wait_applied(venue.shard_id)
        keys_warm(web_port, venue.traders)
        settle("start")
        tick = TimeTick()
        stream = OrderStream(web_port, venue.traders)
        for fault in faults:
            time.sleep(args.stream_seconds)
            if fault == "engine":
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                worker = shard_worker_start([venue.shard_id], log=log)
            elif fault == "web":
                server.terminate()
                server.wait()
                server = web_server_start(port=web_port)
            elif fault == "redis":
                redis.stop()
                time.sleep(1)
                redis.start()
            elif fault == "postgres":
                connection.close()
                postgres.stop()
                time.sleep(1)
                postgres.start()
            elif fault == "chain":
                anvil.send_signal(signal.SIGSTOP)
                settle("chain down")
                time.sleep(args.outage)
                anvil.send_signal(signal.SIGCONT)
            time.sleep(args.stream_seconds)
            connection.close()
            settle(fault)
        stream.stop()
        wait_applied(venue.shard_id, timeout=300)
        tick.running = False
        tick.join()
        time.sleep(2)  # a snapshot child may still be writing
        settle("end")
    finally:
        server.terminate()
        server.wait()
        worker.kill()
        worker.wait()
    shard = models.Shard.objects.get(pk=venue.shard_id)
    acknowledged = set(stream.acknowledged)
    applied = models.Command.objects.filter(pk__in=acknowledged, seq__isnull=False).count()
    duplicated_fills = (
        models.Fill.objects.filter(shard=shard)
        .values("seq", "index")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    report = shard_verify(shard=shard)
    shard.refresh_from_db()
    recovered = ShardWriter.recover(shard).engine
    recovered.check_invariants()
    roots = journal_verify(deployment=deployment, risk_group_id=venue.group.pk)
    after_chain = [name for name in settled if name in ("chain", "end")]
    return {
        "bench": "faults",
        "faults": faults,
        "acknowledged": len(acknowledged),
        "not_acknowledged": dict(stream.refused),
        "applied": applied,
        "commands": report.commands,
        "fills": models.Fill.objects.filter(shard=shard).count(),
        "settlement": settled,
        "batches_on_chain": len(roots),
        "checks": {
            "every_acknowledged_order_applied_once": applied == len(acknowledged)
            and len(acknowledged) == len(stream.acknowledged),
            "no_fill_duplicated": duplicated_fills == 0,
            "projections_equal_replay": True,  # shard_verify raises otherwise
            "balances_conserve": True,  # check_invariants raises otherwise
            "recovered_state_hash_matches": recovered.state_hash() == report.state_hash,
            "settlement_resumed": all(isinstance(settled[name], int) for name in after_chain),
            "roots_verify": bool(roots) and all(check.reproduced for check in roots),
        },
    }


if __name__ == "__main__":
    main()
