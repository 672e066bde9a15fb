"""The single writer of a shard: it keeps the shard's `Engine` in memory, takes pending
commands from the inbox in batches, gives them sequence numbers, applies them, and commits
their sequence numbers, outcomes, projections and the shard's high-water mark in ONE
transaction per batch. Outcomes are published after the commit.

Exactly one writer per shard: the caller holds the shard's lock (`shard_lock`) while it
uses a `ShardWriter`. If a batch fails to commit, the in-memory engine is ahead of the
database: the writer is dropped and the next one catches up from the snapshot and the
journal, and takes the uncommitted commands again.
"""

from __future__ import annotations

import gc
import importlib
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction

from engine import models, outcomes
from engine.chain.settlement import settlement_queue_if_due
from engine.codec import json_text, json_value
from engine.core import (
    Engine,
    command_from_dict,
    command_from_record,
    command_to_record,
    keys_named,
    outcome_of,
)
from engine.core.projection import ProjectionBatch, ProjectionRows, ProjectionState
from engine.projections import (
    binding_cursor,
    pipelined,
    prepared,
    projection_rows_store,
    rows_written,
    unnest_rows,
)

# the collector's thresholds in a process that writes a shard (see ShardWriter.recover)
WRITER_GC_THRESHOLDS = (50_000, 20, 100)

# advisory lock namespace for shards (the second key is the shard id)
LOCK_NAMESPACE = 0x0E05

_local_locks: dict[int, threading.Lock] = {}
_local_locks_guard = threading.Lock()


class ShardBusy(Exception):
    """Another writer holds the shard."""


@contextmanager
def shard_lock(shard_id: int, *, wait: bool = True) -> Iterator[None]:
    """Hold the shard's single-writer lock: a PostgreSQL session advisory lock (released
    by the server if the process dies), or a process-local lock on other databases (the
    embedded demo runs one process)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, shard_id])
            else:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, shard_id])
                if not cursor.fetchone()[0]:
                    raise ShardBusy(shard_id)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, shard_id])
        return
    with _local_locks_guard:
        lock = _local_locks.setdefault(shard_id, threading.Lock())
    if not lock.acquire(blocking=wait):
        raise ShardBusy(shard_id)
    try:
        yield
    finally:
        lock.release()


@dataclass
class Applied:
    """A command as the journal records it: its sequence number and time, its record
    (`command_to_record`) and its outcome, as JSON text (encoded once, for the journal and
    for the submitter)."""

    command_id: int
    seq: int
    ts: int
    record: str
    outcome: str


@dataclass
class SequencedBatch:
    """A batch applied by the writer, with everything its commit writes: nothing in it
    changes when the engine moves on."""

    shard_id: int
    risk_group_id: int
    previous: int  # the high-water mark the batch follows
    applied: list[Applied]
    projections: ProjectionRows
    # what is published after the commit: the batch's change, and the outcomes waited for
    change: dict[str, Any]
    waited: list[tuple[int, str]]

    def commit(self) -> None:
        """In ONE transaction (on this thread's connection): the journal, the projections
        and the high-water mark, if it is still `previous` (else another writer moved the
        shard); then publish the outcomes."""
        seq = self.applied[-1].seq
        with transaction.atomic():
            with pipelined(self.applied):
                journaled = _journal_write(self.shard_id, self.applied)
                projection_rows_store(self.projections)
                advanced = _high_water_move(self.shard_id, self.previous, seq)
            if journaled() != len(self.applied):
                raise RuntimeError(f"shard {self.shard_id}: journal rows already sequenced")
            if advanced() != 1:
                raise RuntimeError(f"shard {self.shard_id} was advanced by another writer")
        outcomes.publish(self.shard_id, self.change, self.waited)
        settlement_queue_if_due(risk_group_id=self.risk_group_id, high_water=seq)


class BatchCommitter:
    """Commits a writer's batches one at a time, in order, on a thread with its own
    database connection, so the writer applies the next batch meanwhile. At most one batch
    is committing: `submit` waits for the one before."""

    def __init__(self, shard_id: int) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"shard-{shard_id}-commit")
        self._committing: Future[None] | None = None
        # the command ids of the batch committing (still pending in the inbox until then)
        self.ids: frozenset[int] = frozenset()

    def submit(self, batch: SequencedBatch) -> None:
        self.wait()
        self.ids = frozenset(a.command_id for a in batch.applied)
        self._committing = self._pool.submit(batch.commit)

    def wait(self) -> None:
        committing, self._committing = self._committing, None
        self.ids = frozenset()
        if committing is not None:
            committing.result()

    def close(self) -> None:
        """Wait for the last commit, then close the thread's connection and the thread."""
        try:
            self.wait()
        finally:
            self._pool.submit(connections.close_all).result()
            self._pool.shutdown()


# A demo seed plays a few days of trading before the present: while set, the writer stamps
# commands with this time (ms) instead of the wall clock. Nothing else sets it.
_simulated_ms: int | None = None


def simulated_clock_set(ms: int | None) -> None:
    """Stamp the commands applied from now on at `ms` (None: the wall clock again). The
    engine's time never goes back: a stamp behind the engine's time is its time."""
    global _simulated_ms
    _simulated_ms = ms


def now_ms() -> int:
    if _simulated_ms is not None:
        return _simulated_ms
    return time.time_ns() // 1_000_000


def huge_pages_use() -> bool:
    """Python's small objects on huge pages from now on, where the compiled build of the
    engine has them (`make engine-core` builds engine/hugepages.c beside the core);
    whether they are. Without the build (the demo, most tests) Python's own arenas stay."""
    try:
        hugepages = importlib.import_module("engine.hugepages")
    except ImportError:
        return False
    return bool(hugepages.install())


class ShardWriter:
    """A shard's engine and how far it has applied the journal."""

    def __init__(self, shard: models.Shard) -> None:
        # the engine's objects on huge pages: at size each command reaches several of them
        # at random, and the replay runs about a fifth faster so (bench/README.md)
        huge_pages_use()
        self.shard_id = shard.pk
        self.risk_group_id = shard.risk_group_id
        self.engine = Engine(str(shard.risk_group_id), collateral=shard.collateral)
        self.state = ProjectionState(shard.collateral)
        self.high_water = 0
        # the sequence number of the latest snapshot stored or being stored
        self.snapshot_seq = shard.snapshot_seq
        self.snapshot_child: int | None = None
        # set while `overlapping`: commits the batches on a connection of its own
        self.committer: BatchCommitter | None = None

    # ------------------------------------------------------------------ recovery

    @classmethod
    def recover(cls, shard: models.Shard) -> ShardWriter:
        """Rebuild the engine from the latest snapshot and the journal after it."""
        writer = cls(shard)
        snapshot = (
            models.Snapshot.objects.filter(shard=shard, seq__lte=shard.high_water)
            .order_by("-seq")
            .first()
        )
        if snapshot is not None:
            writer.snapshot_restore(snapshot)
        writer.replay_engine(until=shard.high_water)
        # the projections' state is the engine's money and markets: read it off once
        writer.state = ProjectionState.of_engine(writer.engine)
        # the engine's objects live as long as the writer: the collector need not walk
        # them again and again (millions of orders at size)
        gc.freeze()
        # and a batch's thousands of short-lived objects (commands, events, rows) hold no
        # cycles: collect less often (Python's default runs a young collection every 700
        # allocations and a full one every hundred of those; measured 5-7 µs of a drained
        # command's time, with bench/engine_writer.py)
        gc.set_threshold(*WRITER_GC_THRESHOLDS)
        return writer

    def snapshot_restore(self, snapshot: models.Snapshot) -> None:
        """The engine as `snapshot` holds it."""
        self.engine = Engine.restore(zlib.decompress(bytes(snapshot.data)))
        self.high_water = snapshot.seq

    def replay_engine(self, *, until: int) -> int:
        """The recovery path: the journal's records from high_water+1 to `until` through
        the engine alone (the caller re-reads the projection state afterwards). The
        collector is paused meanwhile: records and commands form no cycles, and each of
        its passes would walk the whole engine."""
        count = 0
        collecting = gc.isenabled()
        gc.disable()
        try:
            for last, records in _journal_records(self.shard_id, self.high_water, until):
                count += self.engine.replay(records)
                self.high_water = last
        finally:
            if collecting:
                gc.enable()
        return count

    def replay(self, *, until: int, on_applied: Any = None) -> int:
        """Apply the journal from high_water+1 to `until`; returns how many commands.
        `on_applied(seq, command_id, payload, ts, events, recorded_outcome)` sees each
        one (the rebuild)."""
        count = 0
        engine = self.engine
        state = self.state
        rows = _journal_rows(self.shard_id, self.high_water, until, outcome=on_applied is not None)
        for command_id, seq, payload, record, outcome in rows:
            command = command_from_record(_json(record))
            events = engine.apply(command)
            state.apply(events)
            if on_applied is not None:
                on_applied(seq, command_id, _json(payload), command.ts, events, _json(outcome))
            self.high_water = seq
            count += 1
        return count

    # ------------------------------------------------------------------ the hot path

    def run_batch(self, limit: int = 0) -> int:
        """Sequence and apply up to `limit` (ENGINE_BATCH_SIZE) pending commands and commit
        them; how many (0: none, and then nothing is left committing). While `overlapping`, the
        batch commits on the committer's connection while the caller applies the next one:
        the batch returned may still be committing."""
        limit = limit or settings.ENGINE_BATCH_SIZE
        committer = self.committer
        pending = _inbox_pending(
            self.shard_id, limit, committer.ids if committer is not None else frozenset()
        )
        if not pending:
            self.commit_wait()
            return 0
        engine = self.engine
        state = self.state
        projection = ProjectionBatch(self.shard_id)
        applied: list[Applied] = []
        waited: list[tuple[int, str]] = []
        # what the batch's events named, for live pages
        markets: set[str] = set()
        accounts: set[int] = set()
        previous = seq = self.high_water
        stamp = now_ms()
        for command_id, payload, waiting in pending:
            seq += 1
            ts = payload.get("ts") or max(stamp, engine.now)
            if payload["type"] == "PlaceOrder":
                # an order's id is its command's: the submitter answered it at commit
                command = command_from_dict({**payload, "ts": ts, "order_id": command_id})
            else:
                command = command_from_dict({**payload, "ts": ts})
            events = engine.apply(command)
            state.apply(events)
            projection.add(seq, command_id, payload, events, state, ts)
            keys_named(events, markets, accounts)
            outcome_text = json_text(outcome_of(events))
            record = json_text(command_to_record(command))
            applied.append(Applied(command_id, seq, command.ts, record, outcome_text))
            if waiting:
                waited.append((command_id, outcome_text))
        # the engine is ahead of the database until the batch commits: a failed commit
        # drops the writer
        self.high_water = seq
        batch = SequencedBatch(
            self.shard_id,
            self.risk_group_id,
            previous,
            applied,
            projection.rows(state),
            outcomes.change_of(
                self.shard_id, seq, [a.command_id for a in applied], markets, accounts
            ),
            waited,
        )
        if committer is None:
            batch.commit()
        else:
            committer.submit(batch)
        return len(applied)

    @contextmanager
    def overlapping(self) -> Iterator[None]:
        """Commit each batch on a second connection (a thread of its own) while the next
        batch is applied: PostgreSQL and the engine then work at the same time. Only on
        PostgreSQL outside a transaction (a caller's transaction would not be seen by the
        second connection); on leaving, the last batch has committed."""
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            yield
            return
        self.committer = BatchCommitter(self.shard_id)
        try:
            yield
        finally:
            committer, self.committer = self.committer, None
            committer.close()

    def commit_wait(self) -> None:
        """Wait until the batch committing (if any) has committed; raise if it failed."""
        if self.committer is not None:
            self.committer.wait()

    # ------------------------------------------------------------------ snapshots

    def snapshot_due(self) -> bool:
        every: int = settings.ENGINE_SNAPSHOT_EVERY
        return self.high_water - self.snapshot_seq >= every

    def snapshot(self, *, background: bool = True) -> None:
        """Store a snapshot at the current high-water mark. In the background (PostgreSQL):
        a forked child serialises its copy-on-write image of the engine while the shard
        keeps trading (Redis's BGSAVE); the child writes through its own connection."""
        self._reap_snapshot_child()
        if self.snapshot_child is not None:
            return
        # the snapshot's sequence number must be committed (and no commit runs while forking)
        self.commit_wait()
        self.snapshot_seq = self.high_water
        if not background or connection.vendor != "postgresql" or not hasattr(os, "fork"):
            snapshot_store(self.shard_id, self.high_water, self.engine.snapshot())
            return
        pid = os.fork()
        if pid:
            self.snapshot_child = pid
            return
        code = 1
        try:
            _snapshot_store_own_connection(
                dict(connection.settings_dict), self.shard_id, self.high_water, self.engine
            )
            code = 0
        finally:
            os._exit(code)

    def _reap_snapshot_child(self, block: bool = False) -> None:
        if self.snapshot_child is None:
            return
        pid, _ = os.waitpid(self.snapshot_child, 0 if block else os.WNOHANG)
        if pid:
            self.snapshot_child = None

    def wait_for_snapshot(self) -> None:
        self._reap_snapshot_child(block=True)


def _json(value: Any) -> Any:
    """A JSON column's value: parsed by the driver, or text (read as text on PostgreSQL,
    where `json_value` is the fastest route)."""
    return json_value(value) if isinstance(value, str) else value


# commands per chunk of a recovery's read
RECORDS_CHUNK = 20_000


def _journal_records(shard_id: int, after: int, until: int) -> Iterator[tuple[int, list[Any]]]:
    """The sequenced journal's records from after+1 to `until`, in chunks: (the chunk's
    last sequence number, its records in order). On PostgreSQL the server joins a chunk's
    records into one JSON array, parsed in one call; the next chunk is asked for while the
    caller applies this one (a thread waits for the server on the same connection, which
    the caller leaves alone meanwhile), so the server's reading overlaps the replay."""
    if connection.vendor != "postgresql":
        for _, seq, _, record, _ in _journal_rows(shard_id, after, until):
            yield seq, [json_value(record)]
        return
    connection.ensure_connection()
    raw = connection.connection

    def fetch(start: int) -> tuple[int, str | None]:
        with raw.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), '[' || string_agg(record, ',' ORDER BY seq) || ']' "
                "FROM engine_command WHERE shard_id = %s AND seq > %s AND seq <= %s",
                [shard_id, start, min(start + RECORDS_CHUNK, until)],
            )
            return cursor.fetchone() or (0, None)

    starts = range(after, until, RECORDS_CHUNK)
    with ThreadPoolExecutor(1, thread_name_prefix=f"shard-{shard_id}-read") as reader:
        ahead = [reader.submit(fetch, start) for start in starts[:1]]
        for n, start in enumerate(starts):
            count, records = ahead.pop().result()
            ahead.extend(reader.submit(fetch, start) for start in starts[n + 1 : n + 2])
            last = min(start + RECORDS_CHUNK, until)
            if count != last - start:
                raise RuntimeError(f"shard {shard_id}: journal gap between {start} and {last}")
            yield last, json_value(records or "[]")


def _journal_rows(
    shard_id: int, after: int, until: int, *, outcome: bool = False
) -> Iterator[tuple[Any, ...]]:
    """(id, seq, payload, record, outcome or None) of the sequenced journal, in order,
    read in chunks (a server-side cursor on PostgreSQL; JSON as text there)."""
    if until <= after:
        return
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DECLARE engine_replay NO SCROLL CURSOR FOR "
                "SELECT id, seq, payload::text, record, CASE WHEN %s THEN outcome::text END "
                "FROM engine_command WHERE shard_id = %s AND seq > %s AND seq <= %s "
                "ORDER BY seq",
                [outcome, shard_id, after, until],
            )
            while True:
                cursor.execute("FETCH 20000 FROM engine_replay")
                rows = cursor.fetchall()
                if not rows:
                    break
                yield from rows
            cursor.execute("CLOSE engine_replay")
        return
    rows = (
        models.Command.objects.filter(shard_id=shard_id, seq__gt=after, seq__lte=until)
        .order_by("seq")
        .values_list("id", "seq", "payload", "record", "outcome" if outcome else "kind")
    )
    yield from rows.iterator(chunk_size=5000)


def _inbox_pending(
    shard_id: int, limit: int, committing: frozenset[int]
) -> list[tuple[int, dict[str, Any], bool]]:
    """(id, payload, waiting) of the first `limit` pending commands in id order, leaving
    out those of the batch `committing` (still pending until it commits)."""
    if connection.vendor != "postgresql":
        return list(
            models.Command.objects.filter(shard_id=shard_id, seq__isnull=True)
            .exclude(id__in=committing)
            .order_by("id")
            .values_list("id", "payload", "waiting")[:limit]
        )
    with binding_cursor() as cursor:
        # the payload as text: one json_value is cheaper than the driver's jsonb loader;
        # the ids committing are left out by the server (a hashed NOT IN)
        cursor.execute(
            "SELECT id, payload::text, waiting FROM engine_command "
            "WHERE shard_id = %b AND seq IS NULL AND id <> ALL(%b::bigint[]) "
            "ORDER BY id LIMIT %b",
            [shard_id, list(committing), limit],
        )
        rows = cursor.fetchall()
    return [(command_id, json_value(payload), waiting) for command_id, payload, waiting in rows]


JOURNAL_COLUMNS = ("id", "seq", "ts", "record", "outcome")


def _journal_write(shard_id: int, applied: list[Applied]) -> Callable[[], int]:
    """Give the batch's commands their sequence numbers, times, records and outcomes (only
    commands still pending: a second writer would find none). Returns how many rows it
    wrote, to be asked once the statement has run (after a pipeline's sync)."""
    if connection.vendor == "postgresql":
        source, arrays = unnest_rows(
            models.Command,
            JOURNAL_COLUMNS,
            [(a.command_id, a.seq, a.ts, a.record, a.outcome) for a in applied],
        )
        # the batch's ids bound the pending rows the statement looks at: the plan hashes
        # the shard's pending rows to join them with the batch's, and without the bounds
        # a backlog's every pending row is hashed again for each of its batches
        ids = arrays[0]
        return rows_written(
            "UPDATE engine_command AS c SET seq = s.seq, ts = s.ts, record = s.record, "  # noqa: S608
            f"outcome = s.outcome FROM {source} "
            "WHERE c.id = s.id AND c.shard_id = %b AND c.seq IS NULL "
            "AND c.id BETWEEN %b AND %b",
            [*arrays, shard_id, min(ids), max(ids)],
            prepare=prepared(applied),
        )
    updated = 0
    for a in applied:
        updated += models.Command.objects.filter(
            pk=a.command_id, shard_id=shard_id, seq__isnull=True
        ).update(seq=a.seq, ts=a.ts, record=a.record, outcome=json_value(a.outcome))
    return lambda: updated


def _high_water_move(shard_id: int, previous: int, seq: int) -> Callable[[], int]:
    """Move the shard's high-water mark from `previous` to `seq`; returns how many shards it
    moved (0: another writer moved it), to be asked once the statement has run."""
    if connection.vendor == "postgresql":
        return rows_written(
            "UPDATE engine_shard SET high_water = %b WHERE id = %b AND high_water = %b",
            [seq, shard_id, previous],
            prepare=True,
        )
    updated = models.Shard.objects.filter(pk=shard_id, high_water=previous).update(high_water=seq)
    return lambda: updated


def snapshot_store(shard_id: int, seq: int, data: bytes) -> None:
    import hashlib

    state_hash = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        models.Snapshot.objects.create(
            shard_id=shard_id, seq=seq, state_hash=state_hash, data=zlib.compress(data, 1)
        )
        models.Shard.objects.filter(pk=shard_id, snapshot_seq__lt=seq).update(
            snapshot_seq=seq, state_hash=state_hash
        )


def connection_params(settings_dict: dict[str, Any]) -> dict[str, Any]:
    """psycopg's connection parameters for a Django database's settings, for a connection
    of one's own (a forked child's, the order fast path's pool)."""
    given = {
        "dbname": settings_dict["NAME"],
        "user": settings_dict["USER"],
        "password": settings_dict["PASSWORD"],
        "host": settings_dict["HOST"],
        "port": settings_dict["PORT"],
    }
    return {name: value for name, value in given.items() if value}


def _snapshot_store_own_connection(
    settings_dict: dict[str, Any], shard_id: int, seq: int, engine: Engine
) -> None:
    """In a forked child: serialise and store through a fresh connection (the parent's
    socket must not be touched)."""
    import hashlib

    import psycopg

    data = engine.snapshot()
    state_hash = hashlib.sha256(data).hexdigest()
    with psycopg.connect(**connection_params(settings_dict)) as conn:
        conn.execute(
            "INSERT INTO engine_snapshot (shard_id, seq, state_hash, data, created_at) "
            "VALUES (%s, %s, %s, %s, now())",
            [shard_id, seq, state_hash, zlib.compress(data, 1)],
        )
        conn.execute(
            "UPDATE engine_shard SET snapshot_seq = %s, state_hash = %s, updated_at = now() "
            "WHERE id = %s AND snapshot_seq < %s",
            [seq, state_hash, shard_id, seq],
        )
