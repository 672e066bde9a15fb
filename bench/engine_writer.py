"""The shard writer's own CPU per command, in one process: no Celery worker, no Redis.

    .venv/bin/python bench/engine_writer.py [--commands N] [--runs R] [--compiled DIR]
                                            [--profile FILE]

It makes its own database (BENCH_DATABASE, default bench_engine_writer), lists the service
bench's spot market, funds its 1,000 accounts, then R times journals N orders of the service
bench's mix (`order_mix.order_stream`) and drains them with `ShardWriter.run_batch`
as a worker does (batches of ENGINE_BATCH_SIZE, each committed on a second thread while
the next is applied). It reports the writer thread's CPU (`time.thread_time`) per command:
the inbox read and decode, the engine, the projection fold and rows, the journal's JSON,
everything but the commit's own thread; and the process's CPU (with the commit thread's),
the wall time and the garbage collector's time (wall, in either thread) per command. The
writer is recovered after the setup, as a worker starting then would be (its engine frozen
out of the collector's reach). The median of the runs is the figure; the last line is
JSON. `--profile FILE` writes a cProfile of the last run's writer thread.
"""

import argparse
import cProfile
import gc
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_database import bench_database_configure  # noqa: E402

DATABASE = bench_database_configure("bench_engine_writer")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from order_mix import ACCOUNTS, SPOT, order_stream  # noqa: E402

import engine.services  # noqa: E402
from engine import models  # noqa: E402
from engine.sequencer import ShardWriter  # noqa: E402
from engine.services import BatchItem, commands_submit, shard_of  # noqa: E402
from governance.risk_groups.models import RiskGroup  # noqa: E402


def journal(group: RiskGroup, items: list[BatchItem]) -> None:
    for i in range(0, len(items), 2000):
        commands_submit(risk_group=group, items=items[i : i + 2000])


class CollectorClock:
    """The time the garbage collector takes (in whichever thread it runs)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0  # generation 2 collections
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._start
        self.full += info["generation"] == 2


def drain(
    writer: ShardWriter, profile: cProfile.Profile | None = None
) -> tuple[int, float, float, float]:
    """Apply the inbox; (commands, the writer thread's CPU seconds, the process's CPU
    seconds, wall seconds)."""
    done = 0
    wall, process = time.perf_counter(), time.process_time()
    with writer.overlapping():
        cpu = time.thread_time()
        if profile is not None:
            profile.enable()
        while applied := writer.run_batch():
            done += applied
        if profile is not None:
            profile.disable()
        cpu = time.thread_time() - cpu
    return done, cpu, time.process_time() - process, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compiled", metavar="DIR")
    parser.add_argument("--profile", metavar="FILE")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    # nobody consumes the wake-ups here: the writer is driven in this process
    engine.services._wake = lambda shard_id: None
    rng = random.Random(2026)
    group = RiskGroup.objects.create(
        name="bench-writer", slug="bench-writer", kind=RiskGroup.Kind.PERMISSIONLESS
    )
    shard = shard_of(risk_group=group)
    journal(group, [BatchItem(0, {"type": "AddMarket", "config": SPOT.to_dict()})])
    journal(
        group,
        [
            BatchItem(
                account,
                {
                    "type": "Deposit",
                    "asset": asset,
                    "amount": 10**15,
                    "external_id": f"{asset}{account}",
                },
            )
            for account in range(1, ACCOUNTS + 1)
            for asset in ("USDC", "BTC")
        ],
    )
    drain(ShardWriter.recover(models.Shard.objects.get(pk=shard.pk)))
    # as a worker started now: the setup's objects frozen out of the collector's reach
    writer = ShardWriter.recover(models.Shard.objects.get(pk=shard.pk))
    collector = CollectorClock()
    per_command, process_per_command, wall_per_command, gc_per_command = [], [], [], []
    for run in range(args.runs):
        journal(group, order_stream(rng, args.commands))
        profile = cProfile.Profile() if args.profile and run == args.runs - 1 else None
        collected, full = collector.seconds, collector.full
        done, cpu, process, wall = drain(writer, profile)
        per_command.append(cpu / done * 1e6)
        process_per_command.append(process / done * 1e6)
        wall_per_command.append(wall / done * 1e6)
        gc_per_command.append((collector.seconds - collected) / done * 1e6)
        print(
            f"run {run}: {done} commands, µs each: writer CPU {per_command[-1]:.1f}, "
            f"process CPU {process_per_command[-1]:.1f}, wall {wall_per_command[-1]:.1f}, "
            f"collector {gc_per_command[-1]:.1f} ({collector.full - full} full collections)",
            flush=True,
        )
        if profile is not None:
            profile.dump_stats(args.profile)
    connection.close()
    result = {
        "database": DATABASE,
        "compiled": bool(args.compiled),
        "commands": args.commands,
        "runs": [round(us, 1) for us in per_command],
        "writer_cpu_us_per_command": round(statistics.median(per_command), 1),
        "process_cpu_us_per_command": round(statistics.median(process_per_command), 1),
        "wall_us_per_command": round(statistics.median(wall_per_command), 1),
        "collector_us_per_command": round(statistics.median(gc_per_command), 1),
    }
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()
