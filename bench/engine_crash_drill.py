"""The long crash drill: a real Celery worker is killed with SIGKILL at random points
while orders stream in, and restarted, many times; then every acknowledged command must
have been applied exactly once in one gap-free order, the projections must equal a clean
replay of the journal (each command's events and the snapshot's state hash checked), and a
writer recovering from the latest snapshot must reach the same state hash.

    .venv/bin/python bench/engine_crash_drill.py [--kills K] [--commands N]
                                                 [--snapshot-every S] [--compiled DIR]

Own database (BENCH_DATABASE, default bench_engine_crash_drill). The last line is JSON.
"""

import argparse
import json
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_database import ROOT, bench_database_configure  # noqa: E402

DATABASE = bench_database_configure("bench_engine_crash_drill")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from engine import models  # noqa: E402
from engine.core import MarketConfig, MarketKind  # noqa: E402
from engine.rebuild import shard_verify  # noqa: E402
from engine.sequencer import ShardWriter  # noqa: E402
from engine.services import BatchItem, command_submit, commands_submit, shard_of  # noqa: E402
from engine.worker_process import shard_worker_start  # noqa: E402
from governance.risk_groups.models import RiskGroup  # noqa: E402

SPOT = MarketConfig("BTC-USDC", MarketKind.SPOT, "USDC", base_asset="BTC", taker_fee_bps=5)
ACCOUNTS = 50


def wait_applied(shard_id: int, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while models.Command.objects.filter(shard_id=shard_id, seq__isnull=True).exists():
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not drain the inbox")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--snapshot-every", type=int, default=2_000)
    parser.add_argument("--compiled", metavar="DIR")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    group = RiskGroup.objects.create(name="drill", slug="drill", kind=RiskGroup.Kind.PERMISSIONLESS)
    shard_id = shard_of(risk_group=group).pk
    log = ROOT / "build" / "bench-crash-drill.log"
    log.parent.mkdir(exist_ok=True)
    env = {"ENGINE_SNAPSHOT_EVERY": str(args.snapshot_every)}
    rng = random.Random(11)
    worker = shard_worker_start([shard_id], log=log, extra_env=env)
    acknowledged = 0
    kills = 0
    started = time.perf_counter()
    try:
        command_submit(
            risk_group=group, account=0, command={"type": "AddMarket", "config": SPOT.to_dict()}
        )
        wait_applied(shard_id)
        deposits = [
            BatchItem(
                a,
                {"type": "Deposit", "asset": asset, "amount": 10**12, "external_id": f"{asset}{a}"},
            )
            for a in range(1, ACCOUNTS + 1)
            for asset in ("USDC", "BTC")
        ]
        commands_submit(risk_group=group, items=deposits)
        acknowledged = 1 + len(deposits)
        kill_points = sorted(rng.sample(range(args.commands), args.kills))
        for n in range(args.commands):
            side = rng.choice(("buy", "sell"))
            order = {
                "type": "PlaceOrder",
                "market": "BTC-USDC",
                "side": side,
                "size": rng.randint(1, 50),
                "price": 1_000 + rng.randint(-20, 20),
            }
            if rng.random() < 0.1:
                order["tif"] = "ioc"
            command_submit(
                risk_group=group,
                account=rng.randint(1, ACCOUNTS),
                command=order,
                idempotency_key=f"o{n}",
            )
            acknowledged += 1
            if kill_points and n == kill_points[0]:
                kill_points.pop(0)
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                kills += 1
                worker = shard_worker_start([shard_id], log=log, extra_env=env)
        wait_applied(shard_id)
        time.sleep(3)  # a snapshot child may still be writing
    finally:
        worker.kill()
        worker.wait()
    elapsed = time.perf_counter() - started
    shard = models.Shard.objects.get(pk=shard_id)
    report = shard_verify(shard=shard)
    recovered = ShardWriter.recover(shard).engine.state_hash()
    result = {
        "database": DATABASE,
        "kills": kills,
        "acknowledged": acknowledged,
        "applied": report.commands,
        "fills": models.Fill.objects.filter(shard=shard).count(),
        "snapshot_seq": report.snapshot_seq,
        "snapshot_hash_checked": report.snapshot_hash_checked,
        "projections_equal_replay": True,
        "recovered_hash_matches": recovered == report.state_hash,
        "seconds": round(elapsed, 1),
    }
    ok = result["applied"] == acknowledged and result["recovered_hash_matches"]
    print("drill", "passed" if ok else "FAILED", flush=True)
    print(json.dumps(result, separators=(",", ":")))
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
