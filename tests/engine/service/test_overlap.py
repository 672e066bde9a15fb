"""The writer commits each batch on a second connection while it applies the next one: the
journal and the projections are the same as one batch at a time, an outcome is published
only once its batch has committed, and a commit that fails loses and duplicates nothing."""

import random

import pytest

from engine import models, outcomes, sequencer, tasks
from engine.rebuild import shard_verify
from tests.engine.service.conftest import SPOT, TRADERS

pytestmark = [pytest.mark.django_db(transaction=True)]


def orders(desk, count, seed):
    rng = random.Random(seed)
    for _ in range(count):
        desk.submit(
            rng.choice(TRADERS),
            "PlaceOrder",
            market="BTC-USDC",
            side=rng.choice(["buy", "sell"]),
            size=5 * rng.randint(2, 6),
            price=1_000 + 10 * rng.randint(-3, 3),
        )


@pytest.fixture
def overlapping_desk(desk, settings, monkeypatch):
    """A spot desk whose writer takes 7 commands a batch, publishing through a check that
    the batch's high-water mark is committed when its change is published."""
    desk.list_market(SPOT)
    desk.fund(*TRADERS)
    desk.fund(*TRADERS, asset="BTC", amount=10_000)
    settings.ENGINE_BATCH_SIZE = 7
    published = []
    publish = outcomes.publish

    def checked_publish(shard_id, change, waited):
        # on the committer's connection: what it committed is what any reader sees
        committed = models.Shard.objects.values_list("high_water", flat=True).get(pk=shard_id)
        assert committed >= change["seq"]
        published.append(change)
        publish(shard_id, change, waited)

    monkeypatch.setattr(outcomes, "publish", checked_publish)
    desk.published = published
    return desk


def test_overlapped_batches_write_what_a_clean_replay_writes(overlapping_desk):
    desk = overlapping_desk
    before = desk.shard.high_water
    orders(desk, 60, seed=1)
    # When one writer run takes the 60 commands in batches of 7, each committing while the
    # next is applied
    assert desk.process() == 60
    shard = desk.shard
    # Then every command was applied once, in one gap-free order
    assert shard.high_water == before + 60
    assert not models.Command.objects.filter(shard=shard, seq__isnull=True).exists()
    assert [c["seq"] for c in desk.published] == sorted(c["seq"] for c in desk.published)
    assert sum(len(c["commands"]) for c in desk.published) == 60
    # and the live projections equal a clean replay's
    shard_verify(shard=shard)


def test_a_failed_commit_loses_and_duplicates_nothing(overlapping_desk, monkeypatch):
    desk = overlapping_desk
    before = desk.shard.high_water
    orders(desk, 40, seed=2)
    store = sequencer.projection_rows_store
    calls = []

    def failing_store(rows):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        store(rows)

    monkeypatch.setattr(sequencer, "projection_rows_store", failing_store)
    # When the third batch's commit fails while the fourth is being applied
    with pytest.raises(RuntimeError, match="went away"):
        desk.process()
    shard = desk.shard
    # Then only the two committed batches are applied and published, and the writer that
    # ran ahead of the database is dropped
    assert shard.high_water == before + 14
    assert [c["seq"] for c in desk.published][-1] == before + 14
    assert shard.pk not in tasks._writers
    # and the next writer recovers and applies the rest exactly once
    assert desk.process() == 26
    shard = desk.shard
    assert shard.high_water == before + 40
    assert not models.Command.objects.filter(shard=shard, seq__isnull=True).exists()
    shard_verify(shard=shard)


def test_a_stale_writers_batch_commits_nothing(overlapping_desk, monkeypatch):
    desk = overlapping_desk
    # cancels of unknown orders: their only trace is the journal's row (no projection's
    # unique key refuses the stale batch before the journal does)
    for trader in TRADERS:
        desk.submit(trader, "CancelOrder", order_id=10**9)
    shard = desk.shard
    # Given a second writer that took the pending commands before the first applied them
    stale = sequencer.ShardWriter.recover(shard)
    pending = sequencer._inbox_pending(shard.pk, 100, frozenset())
    assert desk.process() == len(TRADERS)
    ids = [command_id for command_id, _, _ in pending]
    journal = models.Command.objects.filter(pk__in=ids).order_by("pk")
    written = list(journal.values_list("seq", "ts", "outcome"))
    # When it commits its batch of them
    monkeypatch.setattr(sequencer, "_inbox_pending", lambda *args: pending)
    with pytest.raises(RuntimeError, match="already sequenced"):
        stale.run_batch()
    # Then nothing of it is written: the journal is as the first writer left it
    assert desk.shard.high_water == shard.high_water + len(TRADERS)
    assert list(journal.values_list("seq", "ts", "outcome")) == written
    shard_verify(shard=desk.shard)
