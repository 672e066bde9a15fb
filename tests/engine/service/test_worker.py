"""The real path: a Celery worker process on the real Redis and PostgreSQL applies what
`command_submit` journals; the submitter waits for the outcome published after commit. And
the crash drill: the worker is killed with SIGKILL at random points while commands stream
in, restarted, and afterwards every acknowledged command was applied exactly once, no fill
is duplicated or lost, the projections equal a clean replay, and the state hash matches."""

import random
import signal
import time

import pytest
from django.db.models import Count

from engine import models, tasks
from engine.rebuild import shard_verify
from engine.sequencer import ShardWriter
from engine.services import command_submit, shard_of
from engine.worker_process import shard_worker_start
from tests.engine.service.conftest import SPOT, TRADERS
from tests.governance.factories import PermissionlessGroupFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_until_applied(shard, seconds=60.0):
    deadline = time.monotonic() + seconds
    while models.Command.objects.filter(shard=shard, seq__isnull=True).exists():
        assert time.monotonic() < deadline, "the worker did not apply the inbox in time"
        time.sleep(0.05)


@pytest.fixture
def group():
    group = PermissionlessGroupFactory()
    shard_of(risk_group=group)
    return group


def submit(group, account, command, **kw):
    return command_submit(risk_group=group, account=account, command=command, **kw)


def test_a_submitter_gets_the_outcome_from_a_real_worker(group, tmp_path):
    shard = shard_of(risk_group=group)
    worker = shard_worker_start([shard.pk], log=tmp_path / "worker.log")
    try:
        listed = submit(group, 0, {"type": "AddMarket", "config": SPOT.to_dict()}, wait=2.0)
        # the first wait includes the worker's start
        if listed.status == "pending":
            wait_until_applied(shard)
        for trader in (1, 2):
            deposit = {
                "type": "Deposit",
                "asset": "USDC",
                "amount": 10**7,
                "external_id": f"d{trader}",
            }
            submit(group, trader, deposit)
        submit(group, 2, {"type": "Deposit", "asset": "BTC", "amount": 1000, "external_id": "b2"})
        ask = {
            "type": "PlaceOrder",
            "market": "BTC-USDC",
            "side": "sell",
            "size": 100,
            "price": 1000,
        }
        assert submit(group, 2, ask, wait=2.0).result == "accepted"
        bid = {**ask, "side": "buy", "size": 40}
        receipt = submit(group, 1, bid, wait=2.0)
        assert (receipt.status, receipt.result) == ("applied", "filled")
        assert receipt.order_id is not None
    finally:
        worker.kill()
        worker.wait()


def test_a_writer_task_handing_over_leaves_no_gap(group, tmp_path):
    """A writer task ends on time and a fresh one takes over: a command submitted just
    after still gets its outcome, without waiting for another submission to wake a
    writer (each submission here waits for its own outcome before the next is sent)."""
    shard = shard_of(risk_group=group)
    worker = shard_worker_start(
        [shard.pk], log=tmp_path / "worker.log", extra_env={"ENGINE_RUN_SECONDS": "0.2"}
    )
    try:
        submit(group, 0, {"type": "AddMarket", "config": SPOT.to_dict()})
        wait_until_applied(shard)
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < 3.0:  # a hand-over every 0.2 s
            deposit = {"type": "Deposit", "asset": "USDC", "amount": 1, "external_id": f"{sent}"}
            receipt = submit(group, 1, deposit, wait=5.0)
            assert receipt.status == "applied", f"deposit {sent} still {receipt.status}"
            sent += 1
            time.sleep(0.05)
    finally:
        worker.kill()
        worker.wait()
    assert sent > 10


def test_a_restarted_worker_drops_wake_ups_queued_while_it_was_down(tmp_path):
    """While no writer runs, every submission after the wake flag expires queues a task.
    A worker starting after such an outage must not work through them one by one: each
    holds a thread, as a writer lingering for more work or waiting for the shard's lock,
    and the other shards of the host wait for a free thread. Once the first writers have
    let go, a command of a second shard is still applied at once."""
    busy, other = (shard_of(risk_group=PermissionlessGroupFactory()) for _ in range(2))
    for _ in range(20):
        tasks.shard_run.apply_async((busy.pk,), queue=tasks.shard_queue(busy.pk))
    worker = shard_worker_start([busy.pk, other.pk], log=tmp_path / "worker.log")
    listing = {"type": "AddMarket", "config": SPOT.to_dict()}
    try:
        # the service waits 2 s at most, and the worker's start alone can take longer on a
        # slow, busy machine: the stale wake-ups' harm is told by the command after them
        if submit(other.risk_group_id, 0, listing, wait=2.0).status == "pending":
            wait_until_applied(other, seconds=30.0)
        time.sleep(tasks.LINGER_SECONDS + 1)  # both writers have let go
        deposit = {"type": "Deposit", "asset": "USDC", "amount": 1, "external_id": "late"}
        assert submit(other.risk_group_id, 1, deposit, wait=5.0).status == "applied"
    finally:
        worker.kill()
        worker.wait()


def test_crash_drill_a_killed_worker_loses_and_duplicates_nothing(group, tmp_path, settings):
    shard = shard_of(risk_group=group)
    rng = random.Random(7)
    log = tmp_path / "worker.log"
    # snapshots often, so kills also land around them
    worker = shard_worker_start([shard.pk], log=log, extra_env={"ENGINE_SNAPSHOT_EVERY": "100"})
    acknowledged = []
    try:
        acknowledged.append(submit(group, 0, {"type": "AddMarket", "config": SPOT.to_dict()}))
        wait_until_applied(shard)  # orders are checked against the listed market
        for trader in TRADERS:
            for asset, amount in (("USDC", 10**9), ("BTC", 10**6)):
                command = {
                    "type": "Deposit",
                    "asset": asset,
                    "amount": amount,
                    "external_id": f"{asset}{trader}",
                }
                acknowledged.append(submit(group, trader, command))
        kills = 0
        for n in range(600):
            side = rng.choice(["buy", "sell"])
            order = {
                "type": "PlaceOrder",
                "market": "BTC-USDC",
                "side": side,
                "size": 10 * rng.randint(1, 5),
                "price": 1_000 + 10 * rng.randint(-3, 3),
            }
            acknowledged.append(submit(group, rng.choice(TRADERS), order, idempotency_key=f"o{n}"))
            if n % 120 == 119:
                time.sleep(rng.random() * 0.3)
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                kills += 1
                worker = shard_worker_start(
                    [shard.pk], log=log, extra_env={"ENGINE_SNAPSHOT_EVERY": "100"}
                )
        wait_until_applied(shard)
        # the snapshot is written by a forked child beside the writer: give it time
        deadline = time.monotonic() + 60
        while not models.Shard.objects.filter(pk=shard.pk, snapshot_seq__gt=0).exists():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        worker.kill()
        worker.wait()
    assert kills == 5
    shard.refresh_from_db()
    # every acknowledged command applied exactly once, in one gap-free order
    ids = [receipt.command_id for receipt in acknowledged]
    assert not models.Command.objects.filter(pk__in=ids, seq__isnull=True).exists()
    # the projections equal a clean replay (every command's events and the snapshot's
    # state hash checked on the way), and no fill is duplicated
    report = shard_verify(shard=shard)
    assert report.commands == len(ids) and report.snapshot_hash_checked
    assert not models.Fill.objects.values("seq", "index").annotate(n=Count("id")).filter(n__gt=1)
    assert models.Fill.objects.filter(shard=shard).exists()
    # and recovery from the snapshot reaches the same state hash
    shard.refresh_from_db()
    assert ShardWriter.recover(shard).engine.state_hash() == report.state_hash
