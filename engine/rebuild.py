"""Rebuilding a shard's projections from its journal, and checking the journal against
itself: replaying it through a fresh engine must give every command's recorded events
again, the state hash recorded with the latest snapshot at that snapshot's sequence
number, and a ledger of the events that equals the engine's money."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from engine import models
from engine.core.events import Event, event_to_dict
from engine.core.ledger import state_of
from engine.core.projection import ProjectionBatch
from engine.projections import projection_rows_store
from engine.sequencer import ShardWriter, shard_lock

CHUNK = 5_000
PROJECTIONS = (
    models.Order,
    models.Fill,
    models.Balance,
    models.Position,
    models.Holding,
    models.StatementEntry,
    models.InsuranceEntry,
    models.FundingEntry,
    models.MarketView,
    models.Candle,
)


class ReplayMismatch(Exception):
    """The journal does not replay to what was recorded."""


@dataclass(frozen=True)
class RebuildReport:
    shard_id: int
    commands: int
    state_hash: str
    snapshot_seq: int
    snapshot_hash_checked: bool


def shard_rebuild(*, shard: models.Shard) -> RebuildReport:
    """Delete the shard's projections and write them again from the journal, in one
    transaction, holding the shard's writer lock. Raises ReplayMismatch (and writes
    nothing) if an event or the snapshot's state hash differs."""
    with shard_lock(shard.pk), transaction.atomic():
        shard = models.Shard.objects.select_for_update().get(pk=shard.pk)
        for model in PROJECTIONS:
            model.objects.filter(shard=shard).delete()
        writer = ShardWriter(shard)
        batch = ProjectionBatch(shard.pk)
        checked = False

        def fold(
            seq: int,
            command_id: int,
            payload: dict[str, Any],
            ts: int,
            events: list[Event],
            recorded_outcome: dict[str, Any],
        ) -> None:
            nonlocal batch, checked
            recorded = recorded_outcome["events"]
            replayed = json.loads(json.dumps([event_to_dict(event) for event in events]))
            if recorded != replayed:
                raise ReplayMismatch(f"command {command_id} (seq {seq}) replays differently")
            batch.add(seq, command_id, payload, events, writer.state, ts)
            if seq == shard.snapshot_seq:
                if writer.engine.state_hash() != shard.state_hash:
                    raise ReplayMismatch(f"state hash differs at snapshot seq {seq}")
                checked = True
            if len(batch.orders) + len(batch.fills) >= CHUNK or seq % CHUNK == 0:
                projection_rows_store(batch.rows(writer.state))
                batch = ProjectionBatch(shard.pk)

        count = writer.replay(until=shard.high_water, on_applied=fold)
        projection_rows_store(batch.rows(writer.state))
        if writer.state.ledger.state() != state_of(writer.engine):
            raise ReplayMismatch("the events do not account for the engine's money")
        return RebuildReport(
            shard.pk, count, writer.engine.state_hash(), shard.snapshot_seq, checked
        )


def projections_dump(shard: models.Shard) -> dict[str, list[tuple[str, ...]]]:
    """Every projection row of the shard (without surrogate ids), sorted: two dumps are
    equal when the projections are."""
    dump = {}
    for model in PROJECTIONS:
        names = [f.attname for f in model._meta.concrete_fields if f.name != "id"]
        rows = model.objects.filter(shard=shard).values_list(*names)
        dump[model.__name__] = sorted(tuple(str(value) for value in row) for row in rows)
    return dump


def shard_verify(*, shard: models.Shard) -> RebuildReport:
    """The crash drill's check: the applied journal is one gap-free sequence, and the
    projections written live equal those a clean replay writes (which also checks every
    command's events and the snapshot's state hash). Raises ReplayMismatch."""
    shard = models.Shard.objects.get(pk=shard.pk)
    applied = models.Command.objects.filter(shard=shard, seq__isnull=False)
    count, top = applied.count(), applied.order_by("-seq").values_list("seq", flat=True).first()
    if count != shard.high_water or (top or 0) != shard.high_water:
        raise ReplayMismatch(f"{count} commands applied, high-water mark {shard.high_water}")
    live = projections_dump(shard)
    report = shard_rebuild(shard=shard)
    if projections_dump(shard) != live:
        raise ReplayMismatch("the live projections differ from a clean replay's")
    return report
