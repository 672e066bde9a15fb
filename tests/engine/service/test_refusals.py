"""Bad input is refused before it is journaled, with a code naming the problem; nothing is
written. A repeated idempotency key returns the first command's receipt."""

import pytest

from engine import models
from engine.errors import CommandRefused
from engine.services import command_submit, units_exact
from tests.engine.service.conftest import BINARY
from xip_portal.errors import ApplicationError

FIELDS = {"market": "BTC-USDC", "side": "buy", "size": 100, "price": 1_000}
ORDER = {"type": "PlaceOrder", **FIELDS}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"market": "NOPE"}, "unknown_market"),
        ({"size": 0}, "bad_size"),
        ({"size": -5}, "negative"),
        ({"size": 12}, "bad_lot"),
        ({"size": 5}, "below_min_size"),
        ({"price": 0}, "bad_price"),
        ({"price": 1_005}, "bad_tick"),
        ({"price": 10**31}, "out_of_range"),
        ({"size": float("nan")}, "bad_number"),
        ({"price": float("inf")}, "bad_number"),
        ({"price": "1000"}, "bad_number"),
        ({"size": True}, "bad_number"),
        ({"side": "up"}, "bad_side"),
        ({"tif": "forever"}, "bad_tif"),
        ({"post_only": "yes"}, "bad_flag"),
        ({"leverage": 10}, "unknown_field"),
        ({"account": 2}, "unknown_field"),
        ({"ts": 5}, "unknown_field"),
        ({"order_id": 7}, "unknown_field"),  # an order's id is its command's
        ({"tif": "gtd"}, "bad_expiry"),
        ({"client_order_id": "x" * 65}, "bad_text"),
    ],
)
def test_bad_orders_are_refused_and_nothing_is_written(spot_desk, change, code):
    before = models.Command.objects.count()
    with pytest.raises(ApplicationError) as refused:
        command_submit(risk_group=spot_desk.group, account=1, command={**ORDER, **change})
    assert refused.value.code == code
    assert models.Command.objects.count() == before


def test_unknown_command_type_and_missing_fields_are_refused(spot_desk):
    with pytest.raises(CommandRefused) as refused:
        spot_desk.submit(1, "Teleport")
    assert refused.value.code == "unknown_command"
    with pytest.raises(CommandRefused) as refused:
        spot_desk.submit(1, "PlaceOrder", market="BTC-USDC", side="buy")
    assert (refused.value.code, refused.value.fields) == (
        "missing_field",
        {"size": ["PlaceOrder needs size."]},
    )


def test_orders_need_a_trader_account(spot_desk):
    with pytest.raises(CommandRefused) as refused:
        command_submit(risk_group=spot_desk.group, account=0, command=ORDER)
    assert refused.value.code == "bad_account"


def test_a_market_not_live_is_refused(spot_desk):
    spot_desk.do(0, "HaltMarket", market="BTC-USDC")
    with pytest.raises(CommandRefused) as refused:
        command_submit(risk_group=spot_desk.group, account=1, command=ORDER)
    assert refused.value.code == "market_not_live"


def test_a_prediction_price_at_or_above_the_payout_is_refused(desk):
    desk.list_market(BINARY)
    with pytest.raises(CommandRefused) as refused:
        desk.submit(1, "PlaceOrder", market="RAIN", side="buy", size=1, price=100)
    assert refused.value.code == "bad_price"


def test_a_client_order_id_already_open_or_pending_is_refused(spot_desk):
    spot_desk.submit(1, "PlaceOrder", **FIELDS, client_order_id="c1")
    with pytest.raises(CommandRefused) as pending:
        spot_desk.submit(1, "PlaceOrder", **FIELDS, client_order_id="c1")
    assert pending.value.code == "duplicate_client_order_id"
    spot_desk.process()
    with pytest.raises(CommandRefused) as open_:
        spot_desk.submit(1, "PlaceOrder", **FIELDS, client_order_id="c1")
    assert open_.value.code == "duplicate_client_order_id"
    # another trader may use the same id
    spot_desk.submit(2, "PlaceOrder", **FIELDS, client_order_id="c1")


def test_a_repeated_idempotency_key_returns_the_first_outcome(spot_desk):
    first = spot_desk.submit(1, "PlaceOrder", key="k-1", **FIELDS)
    spot_desk.process()
    again = spot_desk.submit(1, "PlaceOrder", key="k-1", **{**FIELDS, "size": 200})
    assert again.command_id == first.command_id
    assert (again.status, again.result) == ("applied", "accepted")
    assert models.Command.objects.filter(idempotency_key="k-1").count() == 1


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [("1.25", "0.05", 25), ("100", "1", 100), ("0.000001", "0.000001", 1)],
)
def test_decimal_values_convert_exactly_to_engine_units(value, unit, expected):
    assert units_exact(value, unit=unit, field="price") == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1.26", "spec_not_convertible"),
        ("NaN", "bad_number"),
        ("Infinity", "bad_number"),
        (1.5, "bad_number"),
        ("abc", "bad_number"),
        ("1e32", "out_of_range"),
    ],
)
def test_decimal_values_that_do_not_convert_are_refused(value, code):
    with pytest.raises(ApplicationError) as refused:
        units_exact(value, unit="0.05", field="price")
    assert refused.value.code == code


def test_a_batch_is_journaled_in_order_and_refused_whole(spot_desk):
    from engine.services import BatchItem, commands_submit

    items = [BatchItem(1, ORDER, "b-1"), BatchItem(2, {**ORDER, "side": "sell"}, "b-2")]
    receipts = commands_submit(risk_group=spot_desk.group, items=items)
    assert [r.status for r in receipts] == ["pending", "pending"]
    assert receipts[0].command_id < receipts[1].command_id
    # one bad item refuses the batch, and nothing of it is written
    before = models.Command.objects.count()
    with pytest.raises(CommandRefused) as refused:
        commands_submit(
            risk_group=spot_desk.group,
            items=[BatchItem(3, ORDER), BatchItem(3, {**ORDER, "size": 12})],
        )
    assert refused.value.code == "bad_lot" and refused.value.message.startswith("Command 1:")
    assert models.Command.objects.count() == before
    # a repeated key returns the first receipt and journals nothing again
    again = commands_submit(risk_group=spot_desk.group, items=[BatchItem(1, ORDER, "b-1")])
    assert again[0].command_id == receipts[0].command_id
    assert models.Command.objects.count() == before
    spot_desk.process()
    assert models.Fill.objects.filter(shard=spot_desk.shard).count() == 1
