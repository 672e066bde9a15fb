"""Adding, updating, halting, closing and settling markets."""

from dataclasses import replace

from engine.core import (
    AddMarket,
    CloseMarket,
    HaltMarket,
    MarketChanged,
    MarketConfigured,
    MarketKind,
    OraclePrice,
    Payout,
    PlaceOrder,
    Reason,
    ResumeMarket,
    SettleMarket,
    Side,
    UpdateMarket,
)


def test_add_market_validates_the_spec(spot, configs):
    assert spot.apply(AddMarket(configs["spot"]))[0].reason == Reason.MARKET_EXISTS
    bad_rebate = replace(configs["spot"], market_id="X", maker_fee_bps=-11, taker_fee_bps=10)
    assert spot.apply(AddMarket(bad_rebate))[0].reason == Reason.BAD_MARKET_CONFIG
    odd_payout = replace(configs["binary"], market_id="Y", payout=99)
    assert spot.apply(AddMarket(odd_payout))[0].reason == Reason.BAD_MARKET_CONFIG
    other_collateral = replace(configs["perp"], market_id="Z", quote_asset="EUR")
    assert spot.apply(AddMarket(other_collateral))[0].reason == Reason.BAD_MARKET_CONFIG
    not_a_kind = replace(configs["spot"], market_id="W", kind="spot")
    assert spot.apply(AddMarket(not_a_kind))[0].reason == Reason.BAD_MARKET_CONFIG


def test_update_market_changes_rules_but_not_identity(spot, configs):
    wider = replace(configs["spot"], tick_size=20)
    assert spot.apply(UpdateMarket(wider)) == [
        MarketConfigured("BTC-USDC", wider),
        MarketChanged("BTC-USDC", "updated", "live"),
    ]
    assert spot.apply(PlaceOrder(1, "BTC-USDC", Side.BUY, 10, price=1010))[0].reason == (
        Reason.BAD_TICK
    )
    rebased = replace(configs["spot"], base_asset="ETH")
    assert spot.apply(UpdateMarket(rebased))[0].reason == Reason.BAD_MARKET_CONFIG


def test_halt_resume_close_settle_lifecycle(spot):
    assert spot.apply(ResumeMarket("BTC-USDC"))[0].reason == Reason.BAD_MARKET_STATE
    assert spot.apply(HaltMarket("BTC-USDC"))[0].status == "halted"
    assert spot.apply(ResumeMarket("BTC-USDC"))[0].status == "live"
    assert spot.apply(SettleMarket("BTC-USDC"))[0].reason == Reason.BAD_MARKET_STATE
    spot.apply(PlaceOrder(1, "BTC-USDC", Side.BUY, 10, price=1000))
    closed = spot.apply(CloseMarket("BTC-USDC"))
    assert [type(e).__name__ for e in closed] == ["MarketChanged", "OrderCancelled"]
    assert spot.accounts[1].balance("USDC").locked == 0
    assert spot.apply(SettleMarket("BTC-USDC"))[0].status == "settled"


def test_settling_a_perp_closes_every_position_at_the_settlement_price(perp):
    perp.apply(PlaceOrder(2, "BTC-PERP", Side.SELL, 10, price=1000))
    perp.apply(PlaceOrder(1, "BTC-PERP", Side.BUY, 10, price=1000))
    perp.apply(CloseMarket("BTC-PERP"))
    assert perp.apply(SettleMarket("BTC-PERP"))[0].reason == Reason.BAD_PRICE
    events = perp.apply(SettleMarket("BTC-PERP", price=1100))
    assert [e for e in events if isinstance(e, Payout)] == [
        Payout(2, "BTC-PERP", -1_000),
        Payout(1, "BTC-PERP", 1_000),
    ]
    assert not perp.markets["BTC-PERP"].positions
    assert perp.apply(OraclePrice("BTC-PERP", 5))[0].reason == Reason.BAD_MARKET_STATE


def test_market_control_of_a_categorical_market_applies_to_every_outcome(world_cup):
    world_cup.apply(HaltMarket("WC26"))
    assert {m.status for m in world_cup.markets.values()} == {"halted"}
    assert world_cup.markets["WC26:ARG"].config.kind is MarketKind.PREDICTION
