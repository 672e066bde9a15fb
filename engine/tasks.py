"""Celery tasks of the engine service: the shard writer and the time tick.

Each shard has its own queue (`engine.shard.<id>`); run one worker per set of shards with a
thread per shard, as the Procfile's engine process does (`celery -A xip_portal worker -P
threads --concurrency 2 --purge -Q engine.shard.1,engine.shard.2`). A wake-up is
queued only when none is queued or running (a Redis flag), so a stream of submissions
costs one task, not one per command.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import close_old_connections

from engine import models, outcomes
from engine.sequencer import ShardWriter, shard_lock

WAKE_FLAG_MS = 2000
# a batch of fewer commands than this is followed by a pause of ENGINE_BATCH_GATHER_MS
GATHER_BELOW = 256
# how long a writer with an empty inbox waits for more before its task ends
LINGER_SECONDS = 10.0

# the writers this process holds, by shard id (kept between task runs: the engine stays
# in memory; a writer is trusted only while the shard's high-water mark is what it wrote)
_writers: dict[int, ShardWriter] = {}


def shard_queue(shard_id: int) -> str:
    return f"engine.shard.{shard_id}"


def _wake_flag(shard_id: int) -> str:
    """Set while a writer task is queued or running (it keeps refreshing it)."""
    return f"engine:wake:{shard_id}"


def _wake_list(shard_id: int) -> str:
    """Pushed on every commit: a running writer waiting for work pops it."""
    return f"engine:wake-list:{shard_id}"


def shard_wake(shard_id: int) -> None:
    """Make sure a writer will look at the shard's inbox (after a commit): nudge the one
    that runs, or queue a task if none is queued or running."""
    if outcomes.in_process():
        shard_run.apply_async((shard_id,))
        return
    if _wake_nudged(outcomes.client().pipeline(transaction=False), shard_id).execute()[1]:
        shard_run.apply_async((shard_id,), queue=shard_queue(shard_id))


def _hand_over(shard_id: int, redis: Any) -> None:
    """A writer task ending on time queues its successor itself, once it has let go of the
    shard's lock (the successor need not wait for it; an eager one, in the embedded demo,
    runs here and takes it). `shard_wake` would not queue it: the running writer's own
    flag tells it one is running, so the shard would have no writer until the flag
    expired and a later submission queued one (meanwhile every outcome waits: a
    cancellation's answer timed out as "not applied yet")."""
    if redis is None:
        shard_wake(shard_id)
        return
    redis.set(_wake_flag(shard_id), 1, px=WAKE_FLAG_MS)
    shard_run.apply_async((shard_id,), queue=shard_queue(shard_id))


async def shard_wake_async(shard_id: int) -> None:
    """`shard_wake` for a caller on an event loop (the order fast path), through Redis
    (not in process: the embedded demo's eager writer runs where it is called)."""
    pipe = outcomes.async_client().pipeline(transaction=False)
    if (await _wake_nudged(pipe, shard_id).execute())[1]:
        await asyncio.to_thread(shard_run.apply_async, (shard_id,), queue=shard_queue(shard_id))


def _wake_nudged(pipe: Any, shard_id: int) -> Any:
    """The wake-up on a Redis pipeline (blocking or asyncio): nudge a running writer,
    and the flag's answer says whether a task must be queued."""
    pipe.rpush(_wake_list(shard_id), 1)
    pipe.set(_wake_flag(shard_id), 1, nx=True, px=WAKE_FLAG_MS)
    return pipe


def shard_writer(shard: models.Shard) -> ShardWriter:
    """This process's writer of the shard, caught up with the journal (the caller holds
    the shard's lock)."""
    writer = _writers.get(shard.pk)
    if writer is None or writer.high_water != shard.high_water:
        writer = _writers[shard.pk] = ShardWriter.recover(shard)
    return writer


def shard_process(shard_id: int, *, linger: float = 0.0) -> int:
    """Apply the shard's pending commands until none are left (or ENGINE_RUN_SECONDS
    pass: the task then hands over to a fresh one); returns how many. With `linger`, a
    writer whose inbox is empty waits that long for a nudge before it ends (a stream of
    submissions then costs no task per command, and no task start per outcome). The
    caller need not hold the lock: this takes it."""
    done = 0
    handing_over = False
    seconds: float = settings.ENGINE_RUN_SECONDS
    started = time.monotonic()
    redis = None if outcomes.in_process() else outcomes.client()
    gather = settings.ENGINE_BATCH_GATHER_MS / 1000 if redis is not None else 0.0
    with shard_lock(shard_id):
        shard = models.Shard.objects.get(pk=shard_id)
        try:
            writer = shard_writer(shard)
            with writer.overlapping():
                idle_since = time.monotonic()
                while True:
                    if redis is not None:
                        # still running: submitters need not queue another task
                        redis.set(_wake_flag(shard_id), 1, px=WAKE_FLAG_MS)
                        redis.delete(_wake_list(shard_id))
                    applied = writer.run_batch()
                    done += applied
                    if applied and writer.snapshot_due():
                        writer.snapshot()
                    if time.monotonic() - started > seconds:
                        handing_over = True
                        break
                    if applied:
                        idle_since = time.monotonic()
                        if gather and applied < GATHER_BELOW:
                            # a trickle: let the next batch gather more commands, each batch
                            # costing its statements and its commit whatever its size
                            time.sleep(gather)
                        continue
                    left = linger - (time.monotonic() - idle_since)
                    if redis is not None and left > 0:
                        redis.blpop([_wake_list(shard_id)], timeout=min(left, WAKE_FLAG_MS / 2000))
                        continue
                    if redis is not None:
                        # ending: from now on a submitter queues a task; one that committed
                        # before this is seen by the last look at the inbox
                        redis.delete(_wake_flag(shard_id))
                        applied = writer.run_batch()
                        done += applied
                        if applied:
                            idle_since = time.monotonic()
                            continue
                    break
        except Exception:
            # the engine in memory may be ahead of the database: rebuild it next time
            _writers.pop(shard_id, None)
            raise
    if handing_over:
        _hand_over(shard_id, redis)
    return done


@shared_task(name="engine.tasks.shard_run", acks_late=False)
def shard_run(shard_id: int) -> int:
    if outcomes.in_process():  # eager (the demo): the caller's connection, no waiting
        return shard_process(shard_id)
    close_old_connections()
    return shard_process(shard_id, linger=LINGER_SECONDS)


@shared_task(name="engine.tasks.shards_tick")
def shards_tick() -> int:
    """The scheduled time tick: an AdvanceTime per shard, so GTD expiries, funding times
    and market close times fire even when nobody trades."""
    from engine.services import command_submit

    ticked = 0
    for group_id in models.Shard.objects.values_list("risk_group_id", flat=True):
        command_submit(
            risk_group=group_id,
            account=0,
            command={"type": "AdvanceTime", "ts": time.time_ns() // 1_000_000},
        )
        ticked += 1
    return ticked


@shared_task(name="engine.tasks.transfers_advance")
def transfers_advance() -> int:
    """Finish transfers between risk groups left half way (see engine.transfers)."""
    from engine.transfers import transfers_advance as advance

    return advance()


@worker_ready.connect
def shards_wake_on_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that (re)starts looks at the inbox of every shard it serves: commands
    acknowledged while no writer ran (or while one was being killed) wait there."""
    if sender is None:
        return
    for queue in sender.app.amqp.queues.consume_from:
        prefix, _, shard_id = str(queue).rpartition(".")
        if prefix == "engine.shard" and shard_id.isdigit():
            shard_run.apply_async((int(shard_id),), queue=queue)
