"""Benchmark of the engine service on the real PostgreSQL and Redis with real Celery
worker processes (one per shard queue, run as the Procfile's engine process).

    .venv/bin/python bench/engine_service.py [--commands N] [--rate R] [--seconds S]
                                             [--accounts A] [--orders O] [--submitters K]
                                             [--compiled DIR]

It makes its own database (BENCH_DATABASE, default bench_engine_service), migrates it, and
measures:
  single    commands/s from submission to projections committed, one `command_submit`
            (one commit) per command from this process, and the ack latency p50/p99;
  batched   the same with `commands_submit`, 500 commands per commit;
  drain     one worker applying a full inbox: commands/s through one writer;
  two       two risk groups, two worker processes, both inboxes full: total commands/s;
  latency   submit -> outcome p50/p99 (the outcome seen on the shard's Redis channel,
            published after the batch's commit) and ack p50/p99 at a paced `--rate`, sent
            by `--submitters` processes (one database connection each);
  snapshot  one in-memory shard of A funded accounts and O resting orders: snapshot() and
            state_hash() time, and how long the writer stalls to fork the background
            snapshot;
  recovery  commands/s of a writer recovering from the journal (no snapshot).
The order stream is a spot book of 1,000 accounts: limit orders around the mid, a quarter
of them crossing. The last line is one JSON object with every figure.

With `--compiled DIR` the workers (and the in-process engine) use the mypyc build of the
engine core in DIR (`make engine-core`).
"""

import argparse
import gc
import json
import multiprocessing
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench_database import bench_database_configure  # noqa: E402

DATABASE = bench_database_configure("bench_engine_service")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from order_mix import ACCOUNTS, SPOT, order_stream  # noqa: E402

from engine import models, outcomes  # noqa: E402
from engine.core import (  # noqa: E402
    AddMarket,
    CancelOrder,
    Deposit,
    Engine,
    PlaceOrder,
    Side,
    command_to_dict,
    command_to_record,
    outcome_of,
)
from engine.core.projection import ProjectionState  # noqa: E402
from engine.sequencer import ShardWriter, huge_pages_use, snapshot_store  # noqa: E402
from engine.services import BatchItem, command_submit, commands_submit, shard_of  # noqa: E402
from engine.worker_process import shard_worker_start  # noqa: E402
from governance.risk_groups.models import RiskGroup  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def group_make(name: str) -> RiskGroup:
    group = RiskGroup.objects.create(name=name, slug=name, kind=RiskGroup.Kind.PERMISSIONLESS)
    shard_of(risk_group=group)
    return group


def high_water(shard_id: int) -> int:
    """The shard's high-water mark, asked as cheaply as this process can: the waits below
    ask every millisecond or two while a worker drains, and through the ORM each asking
    took about 0.23 ms of this process's CPU (a tenth of a core at that pace, taken from
    the two cores the worker and PostgreSQL share); a prepared statement on the driver's
    connection takes about 0.02 ms."""
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.execute(
            "SELECT high_water FROM engine_shard WHERE id = %s", [shard_id], prepare=True
        )
        row = cursor.fetchone()
    return int(row[0])


def wait_applied(shard_id: int, count: int, timeout: float = 600.0) -> float:
    """Wait until the shard's high-water mark reaches `count`; the time it did."""
    deadline = time.monotonic() + timeout
    while True:
        high = high_water(shard_id)
        if high >= count:
            return time.perf_counter()
        if time.monotonic() > deadline:
            raise SystemExit(f"shard {shard_id} stuck at {high} of {count}")
        time.sleep(0.002)


def setup_group(group: RiskGroup) -> int:
    """List the market and fund the accounts; the number of commands journaled."""
    items = [BatchItem(0, {"type": "AddMarket", "config": SPOT.to_dict()})]
    commands_submit(risk_group=group, items=items)
    shard = shard_of(risk_group=group)
    wait_applied(shard.pk, 1)
    items = []
    for account in range(1, ACCOUNTS + 1):
        for asset in ("USDC", "BTC"):
            items.append(
                BatchItem(
                    account,
                    {
                        "type": "Deposit",
                        "asset": asset,
                        "amount": 10**15,
                        "external_id": f"{asset}{account}",
                    },
                )
            )
    commands_submit(risk_group=group, items=items)
    wait_applied(shard.pk, 1 + len(items))
    return 1 + len(items)


def bench_single(group: RiskGroup, done: int, count: int, rng: random.Random) -> dict[str, Any]:
    shard_id = shard_of(risk_group=group).pk
    acks = []
    stream = order_stream(rng, count)
    start = time.perf_counter()
    for item in stream:
        t0 = time.perf_counter()
        command_submit(risk_group=group, account=item.account, command=item.command)
        acks.append(time.perf_counter() - t0)
    end = wait_applied(shard_id, done + count)
    return {
        "commands_per_s": round(count / (end - start)),
        "ack_p50_ms": ms(percentile(acks, 0.5)),
        "ack_p99_ms": ms(percentile(acks, 0.99)),
    }


def bench_batched(
    group: RiskGroup, done: int, count: int, rng: random.Random, size: int = 500
) -> dict[str, Any]:
    shard_id = shard_of(risk_group=group).pk
    stream = order_stream(rng, count)
    start = time.perf_counter()
    for i in range(0, count, size):
        commands_submit(risk_group=group, items=stream[i : i + size])
    end = wait_applied(shard_id, done + count)
    return {"commands_per_s": round(count / (end - start)), "batch": size}


def drain_rate(shard_ids: list[int], starts: list[int], count: int) -> int:
    """Commands/s of workers applying full inboxes, timed from the first batch they commit
    (their start and recovery left out) to the last."""
    firsts = []
    for shard_id, start in zip(shard_ids, starts, strict=True):
        while True:
            high = high_water(shard_id)
            if high > start:
                firsts.append((time.perf_counter(), high - start))
                break
            time.sleep(0.001)
    begin = min(t for t, _ in firsts)
    already = sum(n for _, n in firsts)
    end = max(wait_applied(s, start + count) for s, start in zip(shard_ids, starts, strict=True))
    return round((count * len(shard_ids) - already) / (end - begin))


def fill_inbox(group: RiskGroup, count: int, rng: random.Random) -> None:
    """Journal `count` orders with no worker running (the wake-ups are dropped)."""
    stream = order_stream(rng, count)
    for i in range(0, count, 2000):
        commands_submit(risk_group=group, items=stream[i : i + 2000])


# the paced stream, set before the submitter processes fork (they inherit it)
_paced: list[BatchItem] = []


def _submit_share(
    group_id: int, rate: float, start: float, offset: int, step: int
) -> list[tuple[int, float, float]]:
    """In a submitter process: every step-th command of the paced stream from `offset`, each
    at its time on the shared schedule (perf_counter is the system's monotonic clock, the
    same in every process); (command id, sent at, ack seconds) of each."""
    sent = []
    for n in range(offset, len(_paced), step):
        item = _paced[n]
        pause = start + n / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        t0 = time.perf_counter()
        receipt = command_submit(risk_group=group_id, account=item.account, command=item.command)
        sent.append((receipt.command_id, t0, time.perf_counter() - t0))
    connection.close()
    return sent


def bench_latency(
    group: RiskGroup, done: int, rate: float, seconds: float, rng: random.Random, processes: int
) -> dict[str, Any]:
    shard_id = shard_of(risk_group=group).pk
    count = int(rate * seconds)
    _paced[:] = order_stream(rng, count)
    seen: dict[int, float] = {}
    pubsub = outcomes.client().pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    pubsub.subscribe(outcomes.shard_channel(shard_id))
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():
            message = pubsub.get_message(timeout=0.1)
            if message and message["type"] == "message":
                now = time.perf_counter()
                for command_id in json.loads(message["data"])["commands"]:
                    seen[command_id] = now

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    connection.close()  # each submitter process opens its own
    start = time.perf_counter() + 1.0  # the processes are up by then
    shares = [(group.pk, rate, start, k, processes) for k in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        sent = [row for share in pool.starmap(_submit_share, shares) for row in share]
    achieved = count / (max(t0 + ack for _, t0, ack in sent) - start)
    wait_applied(shard_id, done + count)
    time.sleep(0.3)
    stop.set()
    listener.join()
    pubsub.close()
    acks = [ack for _, _, ack in sent]
    latencies = [seen[c] - t0 for c, t0, _ in sent if c in seen]
    return {
        "rate_target": rate,
        "submitter_processes": processes,
        "rate_achieved": round(achieved),
        "ack_p50_ms": ms(percentile(acks, 0.5)),
        "ack_p99_ms": ms(percentile(acks, 0.99)),
        "outcome_p50_ms": ms(percentile(latencies, 0.5)),
        "outcome_p99_ms": ms(percentile(latencies, 0.99)),
        "outcomes_seen": len(latencies),
    }


def at_size_stream(accounts: int, orders: int, rng: random.Random) -> list[Any]:
    """The issue's shard: the market, `accounts` funded accounts, `orders` resting orders
    (one lot each, spread over 5,000 ticks each side of the mid so none crosses)."""
    commands: list[Any] = [AddMarket(SPOT, ts=1)]
    for account in range(1, accounts + 1):
        commands.append(Deposit(account, "USDC", 10**15, f"u{account}", ts=1))
        commands.append(Deposit(account, "BTC", 10**15, f"b{account}", ts=1))
    for n in range(orders):
        side = Side.BUY if n % 2 else Side.SELL
        price = (
            10_000 - rng.randint(1, 5_000) if side is Side.BUY else 10_001 + rng.randint(0, 5_000)
        )
        commands.append(
            PlaceOrder(rng.randint(1, accounts), "BTC-USDC", side, 1, price=price, ts=2)
        )
    return commands


def trading_stream(accounts: int, count: int, rng: random.Random) -> list[Any]:
    """What follows a snapshot: the service bench's order mix (a quarter crossing) with a
    cancel of a recent order every tenth command."""
    commands: list[Any] = []
    for n, item in enumerate(order_stream(rng, count)):
        ts = 3 + n // 1000
        if n % 10 == 9:
            commands.append(CancelOrder(rng.randint(1, accounts), rng.randint(1, n), ts=ts))
            continue
        command = item.command
        commands.append(
            PlaceOrder(
                rng.randint(1, accounts),
                "BTC-USDC",
                Side(command["side"]),
                command["size"],
                price=command["price"],
                ts=ts,
            )
        )
    return commands


def journal_copy(shard_id: int, engine: Engine, commands: list[Any], first_seq: int) -> None:
    """Apply `commands` to `engine` and journal them as sequenced rows, each with the
    record and outcome its writer would have written (COPY, as fast as the server takes
    it; the worker's own batches are measured by `drain`)."""
    columns = (
        "shard_id, seq, account, idempotency_key, kind, payload, ts, record, outcome, "
        "waiting, created_at"
    )
    with connection.cursor() as wrapper:
        with wrapper.cursor.copy(f"COPY engine_command ({columns}) FROM STDIN") as copy:
            for seq, command in enumerate(commands, first_seq):
                events = engine.apply(command)
                payload = command_to_dict(command)
                copy.write_row(
                    (
                        shard_id,
                        seq,
                        payload.get("account", 0),
                        "",
                        payload["type"],
                        json.dumps(payload),
                        command.ts,
                        json.dumps(command_to_record(command), separators=(",", ":")),
                        json.dumps(outcome_of(events)),
                        False,
                        "now",
                    )
                )


def bench_at_size(accounts: int, orders: int, after: int) -> dict[str, Any]:
    """The issue's shard (`accounts` funded, `orders` resting) in the database: its
    snapshot (serialise, hash, store; the writer's stall to fork it), then `after` more
    commands journaled; then a recovery as a worker starting up does it (restore the
    snapshot, replay the journal after it), timed in its parts."""
    rng = random.Random(3)
    group = group_make("bench-at-size")
    shard = shard_of(risk_group=group)
    engine = Engine(str(group.pk), collateral="USDC")
    setup = at_size_stream(accounts, orders, rng)
    journal_copy(shard.pk, engine, setup, 1)
    t0 = time.perf_counter()
    data = engine.snapshot()
    t1 = time.perf_counter()
    engine.state_hash()
    t2 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    t3 = time.perf_counter()
    os.waitpid(pid, 0)
    models.Shard.objects.filter(pk=shard.pk).update(high_water=len(setup))
    t4 = time.perf_counter()
    snapshot_store(shard.pk, len(setup), data)
    t5 = time.perf_counter()
    resting = len(engine.orders)
    journal_copy(shard.pk, engine, trading_stream(accounts, after, rng), len(setup) + 1)
    models.Shard.objects.filter(pk=shard.pk).update(high_water=len(setup) + after)
    expected = engine.state_hash()
    del engine, data
    shard.refresh_from_db()
    gc.collect()
    t6 = time.perf_counter()
    stored = models.Snapshot.objects.get(shard=shard, seq=len(setup))
    writer = ShardWriter(shard)
    writer.snapshot_restore(stored)
    t7 = time.perf_counter()
    cpu = time.process_time()
    replayed = writer.replay_engine(until=shard.high_water)
    cpu = time.process_time() - cpu
    t8 = time.perf_counter()
    ProjectionState.of_engine(writer.engine)
    t9 = time.perf_counter()
    return {
        "accounts": accounts,
        "resting_orders": resting,
        "snapshot_s": round(t1 - t0, 3),
        "snapshot_mb": round(len(stored.data) / 1e6, 1),
        "state_hash_s": round(t2 - t1, 3),
        "fork_stall_ms": ms(t3 - t2),
        "snapshot_store_s": round(t5 - t4, 3),
        "recovery_restore_s": round(t7 - t6, 3),
        "recovery_replayed": replayed,
        "recovery_replay_s": round(t8 - t7, 3),
        "recovery_replay_commands_per_s": round(replayed / (t8 - t7)),
        "recovery_replay_commands_per_cpu_s": round(replayed / cpu),
        "recovery_projection_state_s": round(t9 - t8, 3),
        "recovery_s": round(t9 - t6, 3),
        "recovered_hash_matches": writer.engine.state_hash() == expected,
        "huge_pages": huge_pages_use(),
    }


def bench_recovery(group: RiskGroup) -> dict[str, Any]:
    """A writer recovering the service bench's shard from its journal alone (no
    snapshot)."""
    shard = shard_of(risk_group=group)
    shard.refresh_from_db()
    models.Snapshot.objects.filter(shard=shard).delete()
    t0 = time.perf_counter()
    writer = ShardWriter.recover(shard)
    elapsed = time.perf_counter() - t0
    return {
        "commands": writer.high_water,
        "seconds": round(elapsed, 3),
        "commands_per_s": round(writer.high_water / elapsed),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=1_000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument(
        "--after", type=int, default=300_000, help="commands journaled after the snapshot"
    )
    parser.add_argument(
        "--only", choices=("service", "at_size"), help="one part: the workers, or the shard"
    )
    # four hold 1,000/s on this 2-core machine (a submission takes about 1.2 ms; three
    # fall behind at times); every process more only adds contention for the cores, which
    # the outcome's latency pays (eight: p99 94 ms where four give 39-45 ms)
    parser.add_argument("--submitters", type=int, default=4, help="processes at --rate")
    parser.add_argument("--compiled", metavar="DIR")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    rng = random.Random(2026)
    log = ROOT / "build" / "bench-engine-service.log"
    log.parent.mkdir(exist_ok=True)
    results: dict[str, Any] = {"database": DATABASE, "compiled": bool(args.compiled)}

    if args.only != "at_size":
        bench_service(args, results, rng, log)
    if args.only != "service":
        results["at_size"] = bench_at_size(args.accounts, args.orders, args.after)
        print("at size", results["at_size"], flush=True)
    connection.close()
    print(json.dumps(results, separators=(",", ":")))


def bench_service(
    args: argparse.Namespace, results: dict[str, Any], rng: random.Random, log: Path
) -> None:
    one = group_make("bench-one")
    two = group_make("bench-two")
    shard_one, shard_two = shard_of(risk_group=one).pk, shard_of(risk_group=two).pk
    workers = [shard_worker_start([shard_one], log=log)]
    try:
        done = setup_group(one)
        results["single"] = bench_single(one, done, args.commands // 4, rng)
        done += args.commands // 4
        print("single", results["single"], flush=True)
        results["batched"] = bench_batched(one, done, args.commands, rng)
        done += args.commands
        print("batched", results["batched"], flush=True)
        results["latency"] = bench_latency(one, done, args.rate, args.seconds, rng, args.submitters)
        done += int(args.rate * args.seconds)
        print("latency", results["latency"], flush=True)
        workers[0].kill()
        workers[0].wait()
        fill_inbox(one, args.commands, rng)
        workers = [shard_worker_start([shard_one], log=log)]
        results["drain"] = {"commands_per_s": drain_rate([shard_one], [done], args.commands)}
        done += args.commands
        print("drain (one worker)", results["drain"], flush=True)
        # two groups on two workers
        workers.append(shard_worker_start([shard_two], log=log))
        done_two = setup_group(two)
        for worker in workers:
            worker.kill()
            worker.wait()
        fill_inbox(one, args.commands, rng)
        fill_inbox(two, args.commands, rng)
        workers = [
            shard_worker_start([shard_one], log=log),
            shard_worker_start([shard_two], log=log),
        ]
        rate = drain_rate([shard_one, shard_two], [done, done_two], args.commands)
        done += args.commands
        results["two_groups"] = {"commands_per_s": rate}
        print("two groups, two workers", results["two_groups"], flush=True)
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    results["recovery"] = bench_recovery(one)
    print("recovery", results["recovery"], flush=True)


if __name__ == "__main__":
    main()
