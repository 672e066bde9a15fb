"""Projections are derived data: rebuilt from the journal they are identical to what the
writer wrote live, whatever the batches were; a writer that restarts recovers from the
latest snapshot plus the journal to the same state hash as a replay from the start."""

import random

import pytest
from django.core.management import call_command

from engine import models, sequencer, tasks
from engine.core.ledger import state_of
from engine.rebuild import ReplayMismatch, projections_dump, shard_rebuild
from engine.sequencer import ShardWriter
from tests.engine.service.conftest import BINARY, PERP, SPOT, TRADERS, WORLD_CUP


def projections(shard):
    return projections_dump(shard)


def random_stream(desk, rng, count):
    markets = [
        ("BTC-USDC", 10, 5, 1_000),
        ("BTC-PERP", 1, 1, 1_000),
        ("RAIN", 1, 1, 50),
        ("WC26:BRA", 10, 1, 500),
    ]
    for _ in range(count):
        account = rng.choice(TRADERS)
        market, tick, lot, mid = rng.choice(markets)
        roll = rng.random()
        if roll < 0.75:
            fields = {
                "market": market,
                "side": rng.choice(["buy", "sell"]),
                "size": lot * rng.randint(2, 6) * (2 if market == "BTC-USDC" else 1),
                "price": mid + tick * rng.randint(-5, 5),
            }
            if market in ("RAIN", "WC26:BRA"):
                fields["outcome"] = rng.choice(["yes", "no"])
            if rng.random() < 0.2:
                fields["tif"] = "ioc"
            desk.submit(account, "PlaceOrder", **fields)
        elif roll < 0.9:
            desk.submit(account, "CancelAll", market=market)
        else:
            desk.submit(0, "OraclePrice", market="BTC-PERP", price=1_000 + rng.randint(-20, 20))
        if rng.random() < 0.1:
            desk.process()
    desk.process()


@pytest.fixture
def busy_desk(desk):
    for config in (SPOT, PERP, BINARY, WORLD_CUP):
        desk.list_market(config)
    desk.fund(*TRADERS, amount=1_000_000)
    desk.fund(*TRADERS, asset="BTC", amount=100_000)
    desk.do(0, "OraclePrice", market="BTC-PERP", price=1_000)
    random_stream(desk, random.Random(11), 400)
    return desk


def test_rebuilt_projections_equal_the_live_ones(busy_desk):
    shard = busy_desk.shard
    assert models.Fill.objects.filter(shard=shard).count() > 20
    live = projections(shard)
    report = shard_rebuild(shard=shard)
    assert report.commands == shard.high_water
    assert projections(shard) == live


def test_rebuild_verifies_the_state_hash_of_the_latest_snapshot(busy_desk):
    shard = busy_desk.shard
    writer = tasks._writers[shard.pk]
    writer.snapshot(background=False)
    random_stream(busy_desk, random.Random(12), 50)
    shard.refresh_from_db()
    report = shard_rebuild(shard=shard)
    assert report.snapshot_hash_checked and report.snapshot_seq < shard.high_water
    # a tampered hash is caught
    models.Shard.objects.filter(pk=shard.pk).update(state_hash="0" * 64)
    shard.refresh_from_db()
    with pytest.raises(ReplayMismatch):
        shard_rebuild(shard=shard)


def test_the_management_command_rebuilds_every_shard(busy_desk, capsys):
    call_command("engine_rebuild")
    assert f"{busy_desk.shard.high_water} commands replayed" in capsys.readouterr().out


def test_a_restarted_writer_recovers_from_snapshot_and_journal(busy_desk):
    shard = busy_desk.shard
    tasks._writers[shard.pk].snapshot(background=False)
    random_stream(busy_desk, random.Random(13), 100)
    live_hash = tasks._writers[shard.pk].engine.state_hash()
    # When the worker restarts (its engine is gone)
    tasks._writers.clear()
    shard.refresh_from_db()
    recovered = ShardWriter.recover(shard)
    # Then it started from the snapshot, replayed the rest, and has the same state
    assert 0 < shard.snapshot_seq < recovered.high_water == shard.high_water
    assert recovered.engine.state_hash() == live_hash
    assert recovered.state.ledger.state() == state_of(recovered.engine)
    # and a replay from the very start agrees
    from_scratch = ShardWriter(shard)
    from_scratch.replay(until=shard.high_water)
    assert from_scratch.engine.state_hash() == live_hash
    # and the recovered writer goes on writing what a rebuild writes
    tasks._writers[shard.pk] = recovered
    random_stream(busy_desk, random.Random(14), 60)
    live = projections(shard)
    shard_rebuild(shard=busy_desk.shard)
    assert projections(shard) == live


def test_a_recovery_reading_the_journal_in_many_chunks_reaches_the_live_state(
    busy_desk, monkeypatch
):
    # Given a journal read 37 commands at a time (each chunk asked for while the one
    # before is replayed), one of them not full
    monkeypatch.setattr(sequencer, "RECORDS_CHUNK", 37)
    shard = busy_desk.shard
    assert shard.high_water % 37
    live_hash = tasks._writers[shard.pk].engine.state_hash()
    # When a writer recovers from the journal alone
    recovered = ShardWriter.recover(shard)
    # Then it reaches the live state
    assert recovered.high_water == shard.high_water
    assert recovered.engine.state_hash() == live_hash
