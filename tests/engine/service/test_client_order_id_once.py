"""A client order id is journaled once, across processes too: two web processes placing
one client order id for one account at the same moment each check that it is not open
before either has committed, so neither check sees the other's order. The journal's
unique index on pending client order ids makes the later insert wait for the earlier
transaction, and the later submission is then refused as an open client order id is,
with nothing of it written."""

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, transaction

from engine import models
from engine.errors import CommandRefused
from engine.services import BatchItem, command_submit, commands_submit

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = {"type": "PlaceOrder", "market": "BTC-USDC", "side": "buy", "size": 100, "price": 1_000}


class HeldOpen:
    """`journal` run by another process (a thread, on a connection of its own) in a
    transaction it holds open until `commit()`, which returns what `journal` returned."""

    def __init__(self, journal: Callable[[], Any]) -> None:
        self._journaled, self._release = threading.Event(), threading.Event()
        self._pool = ThreadPoolExecutor(1)
        self._result = self._pool.submit(self._run, journal)
        assert self._journaled.wait(10) or self._result.result()

    def _run(self, journal: Callable[[], Any]) -> Any:
        try:
            with transaction.atomic():
                result = journal()
                self._journaled.set()
                self._release.wait(30)
            return result
        finally:
            connection.close()

    def commit(self) -> Any:
        self._release.set()
        try:
            return self._result.result(10)
        finally:
            self._pool.shutdown()


def on_own_connection(function: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        try:
            return function()
        finally:
            connection.close()

    return run


def waiting_for_a_lock(started: Future[Any]) -> None:
    """Returns once a connection to this database waits for another's transaction (the
    submission `started` waits for the other's to end), or `started` is done without."""
    deadline = time.monotonic() + 10
    while not started.done():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event = 'transactionid')"
            )
            if cursor.fetchone()[0]:
                return
        assert time.monotonic() < deadline, "the submission neither waited nor finished"
        time.sleep(0.01)


def racing(other: Callable[[], Any], submission: Callable[[], Any]) -> tuple[Any, Future[Any]]:
    """`other` journaled and not committed yet when `submission` (on its own connection)
    checks and journals; `other` commits once `submission` waits for it: what `other`
    returned, and the submission's future."""
    held = HeldOpen(other)
    with ThreadPoolExecutor(1) as pool:
        started = pool.submit(on_own_connection(submission))
        try:
            waiting_for_a_lock(started)
        finally:
            first = held.commit()
        started.exception(10)
    return first, started


def journaled_client_ids(shard: Any, account: int) -> list[str]:
    return list(
        models.Command.objects.filter(shard=shard, account=account, kind="PlaceOrder")
        .order_by("id")
        .values_list("payload__client_order_id", flat=True)
    )


@pytest.mark.parametrize("in_a_transaction", [False, True])
def test_a_client_order_id_placed_by_two_connections_at_once_is_journaled_once(
    spot_desk, in_a_transaction
):
    group, shard = spot_desk.group, spot_desk.shard

    def place(client_order_id: str) -> Any:
        return command_submit(
            risk_group=group,
            account=1,
            command={**ORDER, "client_order_id": client_order_id},
        )

    def second() -> Any:
        if not in_a_transaction:
            return place("race")
        # the caller's own transaction stays usable after the refusal
        with transaction.atomic():
            with pytest.raises(CommandRefused) as refused:
                place("race")
            place("after")
        raise refused.value

    first, refused = racing(lambda: place("race"), second)

    assert first.status == "pending" and first.order_id
    assert isinstance(refused.exception(), CommandRefused)
    assert (refused.exception().code, refused.exception().fields) == (
        "duplicate_client_order_id",
        {"client_order_id": ["Client order id 'race' is already open."]},
    )
    expected = ["race", "after"] if in_a_transaction else ["race"]
    assert journaled_client_ids(shard, 1) == expected
    # the engine applies the one journaled
    spot_desk.process()
    assert models.Order.objects.get(order_id=first.order_id).status == "open"


def test_a_batch_one_of_whose_client_order_ids_another_connection_places_meanwhile_is_refused_whole(
    spot_desk,
):
    group, shard = spot_desk.group, spot_desk.shard
    batch = [
        BatchItem(1, {**ORDER, "price": 990, "client_order_id": "before"}),
        BatchItem(1, {**ORDER, "client_order_id": "race"}),
        BatchItem(1, {**ORDER, "price": 980, "client_order_id": "after"}),
    ]

    first, refused = racing(
        lambda: command_submit(
            risk_group=group, account=1, command={**ORDER, "client_order_id": "race"}
        ),
        lambda: commands_submit(risk_group=group, items=batch),
    )

    assert first.order_id
    assert isinstance(refused.exception(), CommandRefused)
    assert refused.exception().code == "duplicate_client_order_id"
    assert refused.exception().message == "Command 1: Client order id 'race' is already open."
    assert journaled_client_ids(shard, 1) == ["race"]


def test_a_batch_naming_one_client_order_id_twice_is_refused_whole(spot_desk):
    batch = [
        BatchItem(1, {**ORDER, "client_order_id": "twice"}),
        BatchItem(1, {**ORDER, "price": 990, "client_order_id": "twice"}),
    ]

    with pytest.raises(CommandRefused) as refused:
        commands_submit(risk_group=spot_desk.group, items=batch)

    assert refused.value.code == "duplicate_client_order_id"
    assert refused.value.message == "Command 1: Client order id 'twice' is already open."
    assert journaled_client_ids(spot_desk.shard, 1) == []
