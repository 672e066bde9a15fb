"""Adding, updating, halting, closing and settling markets."""

from dataclasses import replace

from engine.core import (
    AddMarket,
    CloseMarket,
    Deposit,
    Engine,
    HaltMarket,
    Liquidated,
    MarginTier,
    MarketChanged,
    MarketConfigured,
    MarketKind,
    OraclePrice,
    OrderCancelled,
    OrderReserveChanged,
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


def test_a_fee_raise_re_reserves_resting_orders_and_cancels_those_it_cannot_back(
    make_engine, configs
):
    # given two bids of 10 at 1000 on a market without fees, one from an account with
    # exactly what it locks
    free = replace(configs["spot"], maker_fee_bps=0, taker_fee_bps=0, deployer_share_bps=0)
    engine = make_engine(free)
    engine.apply(Deposit(9, "USDC", 10_000, "exact"))
    engine.apply(PlaceOrder(9, "BTC-USDC", Side.BUY, 10, price=1000))  # order 1
    engine.apply(PlaceOrder(1, "BTC-USDC", Side.BUY, 10, price=1000))  # order 2
    # when the fees rise to 1%
    events = engine.apply(UpdateMarket(replace(free, maker_fee_bps=100, taker_fee_bps=100)))
    # then the order that can no longer pay its fee is cancelled, the other locks it
    assert OrderCancelled(1, 9, "BTC-USDC", 10, Reason.INSUFFICIENT_BALANCE) in events
    assert OrderReserveChanged(2, 1, "BTC-USDC", 1010) in events
    assert engine.accounts[9].balance("USDC").free == 10_000
    assert engine.accounts[1].balance("USDC").locked == 10_100
    # and a fill of the order that rests pays the new fee from what it locked
    engine.apply(PlaceOrder(2, "BTC-USDC", Side.SELL, 10, price=1000))
    assert engine.accounts[1].balance("USDC").free == 10_000_000 - 10_100
    assert engine.accounts[1].balance("USDC").locked == 0


def test_new_margin_tiers_apply_to_open_positions_at_once(perp, configs):
    perp.apply(PlaceOrder(2, "BTC-PERP", Side.SELL, 500, price=1000))
    perp.apply(PlaceOrder(1, "BTC-PERP", Side.BUY, 500, price=1000))
    assert (perp.accounts[1].im, perp.accounts[1].mm) == (50_000, 25_000)
    stricter = replace(configs["perp"], margin_tiers=(MarginTier(10**9, 3_000, 1_500),))
    perp.apply(UpdateMarket(stricter))
    assert (perp.accounts[1].im, perp.accounts[1].mm) == (150_000, 75_000)


def test_tiers_that_leave_an_account_below_maintenance_liquidate_it(perp, configs):
    perp.apply(PlaceOrder(2, "BTC-PERP", Side.SELL, 900, price=1000))
    perp.apply(PlaceOrder(1, "BTC-PERP", Side.BUY, 900, price=1000))
    perp.apply(PlaceOrder(3, "BTC-PERP", Side.BUY, 900, price=990))
    # maintenance of 15% on 900,000 is 135,000: more than the 100,000 account 1 has
    stricter = replace(configs["perp"], margin_tiers=(MarginTier(10**9, 3_000, 1_500),))
    events = perp.apply(UpdateMarket(stricter))
    assert [e.account for e in events if isinstance(e, Liquidated)] == [1]
    assert "BTC-PERP" not in perp.accounts[1].positions


def test_a_restored_engine_decides_as_the_original_after_a_market_update(perp, configs):
    perp.apply(PlaceOrder(2, "BTC-PERP", Side.SELL, 500, price=1000))
    perp.apply(PlaceOrder(1, "BTC-PERP", Side.BUY, 500, price=1000))
    perp.apply(PlaceOrder(3, "BTC-PERP", Side.BUY, 50, price=990))
    stricter = replace(
        configs["perp"], margin_tiers=(MarginTier(10**9, 1_800, 900),), maker_fee_bps=10
    )
    perp.apply(UpdateMarket(stricter))
    restored = Engine.restore(perp.snapshot())
    assert restored.state_hash() == perp.state_hash()
    later = [
        PlaceOrder(1, "BTC-PERP", Side.BUY, 400, price=1000),
        OraclePrice("BTC-PERP", 850, ts=5),
        PlaceOrder(4, "BTC-PERP", Side.SELL, 50, price=990),
    ]
    for command in later:
        assert restored.apply(command) == perp.apply(command)
    assert restored.state_hash() == perp.state_hash()
