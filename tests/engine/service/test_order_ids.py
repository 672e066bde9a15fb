"""An order's id is the id of the command that placed it: the submitter has it at the
acknowledgement (before the engine applies anything), and the engine, its events, the
projections and a replay of the journal all use that same id."""

import json
import threading
import time

import pytest
from django.db import connection

from engine import models, outcomes, selectors, tasks
from engine.core import command_from_record
from engine.rebuild import shard_verify
from engine.services import BatchItem, commands_submit, orders_covered

ASK = {"market": "BTC-USDC", "side": "sell", "size": 100, "price": 1_000}


def test_the_order_id_is_known_at_the_ack_and_used_everywhere(spot_desk):
    # Given an ask and a crossing bid, acknowledged but not applied yet
    ask = spot_desk.submit(2, "PlaceOrder", **ASK)
    bid = spot_desk.submit(1, "PlaceOrder", **{**ASK, "side": "buy", "size": 40})
    assert (ask.status, ask.order_id) == ("pending", ask.command_id)
    assert (bid.status, bid.order_id) == ("pending", bid.command_id)
    # When the engine applies them
    spot_desk.process()
    # Then the journal, the orders and the fill carry the ids answered at the ack
    shard = spot_desk.shard
    journal = models.Command.objects.get(pk=ask.command_id)
    recorded = command_from_record(json.loads(journal.record))
    assert recorded.order_id == ask.order_id == journal.outcome["order_id"] == journal.pk
    resting = selectors.order_by_command(command_id=ask.command_id)
    assert resting is not None and (resting.order_id, resting.status) == (ask.order_id, "open")
    (fill,) = selectors.fills_of(shard=shard, account=1)
    assert (fill.maker_order_id, fill.taker_order_id) == (ask.order_id, bid.order_id)
    # and the id cancels the order
    cancelled = spot_desk.do(2, "CancelOrder", order_id=ask.order_id)
    assert cancelled.result == "applied" and cancelled.order_id is None
    assert selectors.order_by_command(command_id=ask.command_id).status == "cancelled"
    # and a replay of the journal gives every order the same id again
    shard.refresh_from_db()
    assert shard_verify(shard=shard).commands == shard.high_water


def test_a_rejected_order_keeps_its_id_and_shows_why(spot_desk):
    receipt = spot_desk.submit(1, "PlaceOrder", **{**ASK, "size": 10**9})
    spot_desk.process()
    order = selectors.order_by_command(command_id=receipt.command_id)
    assert (order.order_id, order.status, order.reason) == (
        receipt.order_id,
        "rejected",
        "insufficient_balance",
    )


def test_a_batch_answers_every_order_id_at_once(spot_desk):
    receipts = commands_submit(
        risk_group=spot_desk.group,
        items=[
            BatchItem(2, {"type": "PlaceOrder", **ASK, "price": 1_000 + 10 * i}) for i in range(3)
        ]
        + [BatchItem(2, {"type": "CancelAll"})],
    )
    assert [r.order_id for r in receipts] == [r.command_id for r in receipts[:3]] + [None]
    spot_desk.process()
    placed = selectors.orders_of(shard=spot_desk.shard, account=2)
    assert sorted(o.order_id for o in placed) == [r.order_id for r in receipts[:3]]


def order(side, size, price=1_000, **fields):
    return {
        "type": "PlaceOrder",
        "market": "BTC-USDC",
        "side": side,
        "size": size,
        "price": price,
        **fields,
    }


def test_which_orders_the_projected_balances_cover(spot_desk):
    shard = spot_desk.shard
    markets = {"BTC-USDC": selectors.market_get(shard=shard, market_id="BTC-USDC")}

    def covered(account, *payloads):
        return orders_covered(shard, account, list(payloads), markets)

    # 10,000,000 USDC and 10,000 BTC each; a buy locks price + 10 bps per unit
    assert covered(1, order("buy", 9_990, 1_000)) == [True]
    assert covered(1, order("buy", 9_995, 1_000)) == [False]
    # the orders of one batch are counted together, in order
    assert covered(1, order("buy", 5_000), order("buy", 4_990), order("buy", 10)) == [
        True,
        True,
        False,
    ]
    assert covered(1, order("sell", 10_000), order("sell", 5)) == [True, False]
    # a market order's price, another command's effect and an unfunded account are unknown
    assert covered(1, order("buy", 10, 0, order_type="market")) == [False]
    assert covered(1, {"type": "CancelAll"}) == [False]
    assert covered(9, order("buy", 10)) == [False]


@pytest.mark.django_db(transaction=True)
def test_a_read_waiting_for_the_traders_own_order_sees_the_writer_apply_it(spot_desk):
    # Given a trader's order acknowledged but not applied yet
    spot_desk.submit(1, "PlaceOrder", **{**ASK, "side": "buy"})
    shard = spot_desk.shard

    def writer() -> None:
        # the writer applies it once the trader's read listens on the shard's channel
        channel = outcomes.shard_channel(shard.pk)
        deadline = time.monotonic() + 5
        while not outcomes.client().pubsub_numsub(channel)[0][1] and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            tasks.shard_process(shard.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    # When the trader's next read waits for their own orders
    caught_up = selectors.account_caught_up(account=1, shard=shard)
    thread.join()
    # Then it learns from the writer's announcement that the order is applied
    assert caught_up
    assert not models.Command.objects.filter(shard=shard, seq__isnull=True).exists()
