"""Celery tasks of the engine service: the shard writer and the time tick.

Each shard has its own queue (`engine.shard.<id>`); run one worker per set of shards,
e.g. `celery -A xip_portal worker -P solo -Q engine.shard.1,engine.shard.2`. A wake-up is
queued only when none is queued or running (a Redis flag), so a stream of submissions
costs one task, not one per command.
"""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.db import close_old_connections

from engine import models, outcomes
from engine.sequencer import ShardWriter, shard_lock

WAKE_FLAG_MS = 2000
# a task run hands over to a fresh task after this long, so time limits never cut a batch
RUN_SECONDS = 60.0

# the writers this process holds, by shard id (kept between task runs: the engine stays
# in memory; a writer is trusted only while the shard's high-water mark is what it wrote)
_writers: dict[int, ShardWriter] = {}


def shard_queue(shard_id: int) -> str:
    return f"engine.shard.{shard_id}"


def _wake_flag(shard_id: int) -> str:
    return f"engine:wake:{shard_id}"


def shard_wake(shard_id: int) -> None:
    """Make sure a writer will look at the shard's inbox (after a commit)."""
    if outcomes.in_process():
        shard_run.apply_async((shard_id,))
        return
    if outcomes.client().set(_wake_flag(shard_id), 1, nx=True, px=WAKE_FLAG_MS):
        shard_run.apply_async((shard_id,), queue=shard_queue(shard_id))


def shard_writer(shard: models.Shard) -> ShardWriter:
    """This process's writer of the shard, caught up with the journal (the caller holds
    the shard's lock)."""
    writer = _writers.get(shard.pk)
    if writer is None or writer.high_water != shard.high_water:
        writer = _writers[shard.pk] = ShardWriter.recover(shard)
    return writer


def shard_process(shard_id: int, *, seconds: float = RUN_SECONDS) -> int:
    """Apply the shard's pending commands until none are left (or `seconds` pass);
    returns how many. The caller need not hold the lock: this takes it."""
    done = 0
    started = time.monotonic()
    with shard_lock(shard_id):
        shard = models.Shard.objects.get(pk=shard_id)
        try:
            writer = shard_writer(shard)
            while True:
                if not outcomes.in_process():
                    outcomes.client().delete(_wake_flag(shard_id))
                applied = writer.run_batch()
                done += len(applied)
                if applied and writer.snapshot_due():
                    writer.snapshot()
                if not applied:
                    break
                if time.monotonic() - started > seconds:
                    shard_wake(shard_id)
                    break
        except Exception:
            # the engine in memory may be ahead of the database: rebuild it next time
            _writers.pop(shard_id, None)
            raise
    return done


@shared_task(name="engine.tasks.shard_run", acks_late=False)
def shard_run(shard_id: int) -> int:
    if not outcomes.in_process():  # eager (the demo): this is the caller's connection
        close_old_connections()
    return shard_process(shard_id)


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
