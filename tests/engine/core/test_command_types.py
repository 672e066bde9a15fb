"""Commands refuse wrongly typed fields when built, in the pure source as in the compiled
build, so a plain "buy" never sells and a float never reaches a balance; what cannot be
refused when built is rejected with a reason when applied."""

from dataclasses import dataclass

import pytest

from engine.core import (
    AddMarket,
    CancelOrder,
    Deposit,
    MarketConfig,
    MarketKind,
    OrderType,
    Outcome,
    PlaceOrder,
    ProposeResolution,
    Reason,
    Rejected,
    SettleMarket,
    Side,
    TimeInForce,
    command_from_dict,
)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: PlaceOrder(1, "BTC-USDC", "buy", 10, price=1000), "side"),  # type: ignore[arg-type]
        (lambda: PlaceOrder(1, "BTC-USDC", Side.BUY, 10, price=1000, tif="ioc"), "tif"),  # type: ignore[arg-type]
        (lambda: PlaceOrder(1, "M", Side.BUY, 10, order_type="market"), "order_type"),  # type: ignore[arg-type]
        (lambda: PlaceOrder(1, "RAIN", Side.BUY, 10, price=50, outcome="no"), "outcome"),  # type: ignore[arg-type]
        (lambda: PlaceOrder("1", "BTC-USDC", Side.BUY, 10, price=1000), "account"),  # type: ignore[arg-type]
        (lambda: PlaceOrder(1, "BTC-USDC", Side.BUY, 10.0, price=1000), "size"),  # type: ignore[arg-type]
        (lambda: PlaceOrder(1, "BTC-USDC", Side.BUY, 10, price=1000, post_only=1), "post_only"),  # type: ignore[arg-type]
        (lambda: Deposit(1, "USDC", 1.5, "tx"), "amount"),  # type: ignore[arg-type]
        (lambda: Deposit(1, 7, 100, "tx"), "asset"),  # type: ignore[arg-type]
        (lambda: Deposit(True, "USDC", 100, "tx"), "account"),
        (lambda: CancelOrder(1, "4"), "order_id"),  # type: ignore[arg-type]
        (lambda: SettleMarket("P", price=30.5), "price"),  # type: ignore[arg-type]
        (lambda: AddMarket({"market_id": "X"}), "config"),  # type: ignore[arg-type]
    ],
)
def test_a_wrongly_typed_field_is_refused_when_the_command_is_built(build, field):
    with pytest.raises(TypeError, match=field):
        build()


def test_the_journal_codec_turns_plain_strings_into_the_enums():
    command = command_from_dict(
        {
            "type": "PlaceOrder",
            "account": 1,
            "market": "RAIN",
            "side": "buy",
            "size": 10,
            "price": 40,
            "order_type": "limit",
            "tif": "ioc",
            "outcome": "no",
        }
    )
    assert (command.side, command.tif, command.outcome) == (Side.BUY, TimeInForce.IOC, Outcome.NO)
    assert command.order_type is OrderType.LIMIT


def test_a_market_config_with_wrongly_typed_rules_is_rejected_when_applied(spot):
    config = MarketConfig("ETH-USDC", MarketKind.SPOT, "USDC", base_asset="ETH", tick_size=0.5)  # type: ignore[arg-type]
    events = spot.apply(AddMarket(config))
    assert events == [Rejected("AddMarket", Reason.BAD_MARKET_CONFIG, 0, "ETH-USDC")]
    assert "ETH-USDC" not in spot.markets


def test_something_that_is_not_a_command_is_refused_and_changes_nothing(spot):
    @dataclass(frozen=True)
    class Bogus:
        ts: int = 0

    before = spot.state_hash()
    with pytest.raises(TypeError, match="not an engine command"):
        spot.apply(Bogus())  # type: ignore[arg-type]
    assert spot.state_hash() == before


def test_a_str_field_takes_an_enum_member_as_its_value():
    assert ProposeResolution("RAIN", Outcome.YES).outcome == "yes"
