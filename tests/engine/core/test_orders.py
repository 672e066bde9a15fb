"""Order rules, from the trader's side, on a spot market (tick 10, lot 5, min size 10)."""

from dataclasses import replace

from engine.core import (
    AdvanceTime,
    AmendOrder,
    CancelAll,
    CancelOrder,
    Fill,
    HaltMarket,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderType,
    PlaceOrder,
    Reason,
    Rejected,
    ResumeMarket,
    SelfTradePrevention,
    Side,
    TimeInForce,
)

M = "BTC-USDC"
BUY, SELL = Side.BUY, Side.SELL


def reasons(events):
    return [e.reason for e in events if isinstance(e, Rejected | OrderCancelled)]


def fills(events):
    return [
        (e.maker_order_id, e.taker_order_id, e.price, e.size) for e in events if isinstance(e, Fill)
    ]


def test_limit_orders_match_at_the_resting_price_best_price_first(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1010))  # order 1
    spot.apply(PlaceOrder(2, M, SELL, 10, price=1000))  # order 2
    events = spot.apply(PlaceOrder(3, M, BUY, 20, price=1020))
    assert fills(events) == [(2, 3, 1000, 10), (1, 3, 1010, 10)]


def test_same_price_fills_in_time_priority(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    spot.apply(PlaceOrder(2, M, SELL, 10, price=1000))
    events = spot.apply(PlaceOrder(3, M, BUY, 15, price=1000))
    assert fills(events) == [(1, 3, 1000, 10), (2, 3, 1000, 5)]
    assert spot.markets[M].book.depth(False, 5) == [(1000, 5, 1)]


def test_unfilled_rest_of_a_gtc_order_rests(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    spot.apply(PlaceOrder(2, M, BUY, 30, price=1000))
    assert spot.markets[M].book.depth(True, 5) == [(1000, 20, 1)]


def test_bad_tick_lot_and_min_size_are_rejected(spot):
    assert reasons(spot.apply(PlaceOrder(1, M, BUY, 10, price=1005))) == [Reason.BAD_TICK]
    assert reasons(spot.apply(PlaceOrder(1, M, BUY, 12, price=1000))) == [Reason.BAD_LOT]
    assert reasons(spot.apply(PlaceOrder(1, M, BUY, 5, price=1000))) == [Reason.BELOW_MIN_SIZE]
    assert reasons(spot.apply(PlaceOrder(1, M, BUY, 10, price=0))) == [Reason.BAD_PRICE]


def test_price_band_around_the_last_trade(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    spot.apply(PlaceOrder(2, M, BUY, 10, price=1000))
    assert reasons(spot.apply(PlaceOrder(1, M, BUY, 10, price=790))) == [Reason.PRICE_OUT_OF_BAND]
    assert reasons(spot.apply(PlaceOrder(1, M, SELL, 10, price=1210))) == [Reason.PRICE_OUT_OF_BAND]
    assert reasons(spot.apply(PlaceOrder(1, M, BUY, 10, price=800))) == []


def test_ioc_fills_what_it_can_and_cancels_the_rest(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    events = spot.apply(PlaceOrder(2, M, BUY, 20, price=1000, tif=TimeInForce.IOC))
    assert fills(events) == [(1, 2, 1000, 10)]
    assert reasons(events) == [Reason.IOC_REMAINDER]
    assert not spot.markets[M].book.bids


def test_fok_fills_completely_or_not_at_all(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    rejected = spot.apply(PlaceOrder(2, M, BUY, 20, price=1000, tif=TimeInForce.FOK))
    assert reasons(rejected) == [Reason.FOK_NOT_FILLABLE]
    filled = spot.apply(PlaceOrder(2, M, BUY, 10, price=1000, tif=TimeInForce.FOK))
    assert fills(filled) == [(1, 3, 1000, 10)]


def test_post_only_that_would_cross_is_rejected(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    events = spot.apply(PlaceOrder(2, M, BUY, 10, price=1000, post_only=True))
    assert reasons(events) == [Reason.POST_ONLY_WOULD_CROSS]
    assert isinstance(
        spot.apply(PlaceOrder(2, M, BUY, 10, price=990, post_only=True))[0], OrderAccepted
    )


def test_market_order_is_protected_by_a_band(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1040))
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1060))  # beyond 1000 + 5%
    events = spot.apply(PlaceOrder(2, M, BUY, 30, order_type=OrderType.MARKET))
    assert [f[2] for f in fills(events)] == [1000, 1040]
    assert reasons(events) == [Reason.IOC_REMAINDER]


def test_market_order_on_an_empty_side_is_rejected(spot):
    events = spot.apply(PlaceOrder(2, M, BUY, 10, order_type=OrderType.MARKET))
    assert reasons(events) == [Reason.NO_LIQUIDITY]


def test_amend_size_down_keeps_time_priority(spot):
    spot.apply(PlaceOrder(1, M, SELL, 20, price=1000))
    spot.apply(PlaceOrder(2, M, SELL, 10, price=1000))
    amended = spot.apply(AmendOrder(1, 1, size=10))
    assert amended == [OrderAmended(1, 1, M, 1000, 10, True, unit_reserve=1)]
    assert fills(spot.apply(PlaceOrder(3, M, BUY, 10, price=1000))) == [(1, 3, 1000, 10)]


def test_amend_size_up_or_price_loses_time_priority(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    spot.apply(PlaceOrder(2, M, SELL, 10, price=1000))
    spot.apply(AmendOrder(1, 1, size=15))
    assert fills(spot.apply(PlaceOrder(3, M, BUY, 10, price=1000))) == [(2, 3, 1000, 10)]
    spot.apply(PlaceOrder(2, M, SELL, 10, price=1000))  # order 4
    spot.apply(AmendOrder(1, 1, price=990))
    spot.apply(AmendOrder(1, 1, price=1000))
    assert fills(spot.apply(PlaceOrder(3, M, BUY, 10, price=1000))) == [(4, 5, 1000, 10)]


def test_amend_to_a_crossing_price_trades(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    spot.apply(PlaceOrder(2, M, BUY, 10, price=990))
    events = spot.apply(AmendOrder(2, 2, price=1000))
    assert fills(events) == [(1, 2, 1000, 10)]


def test_only_the_owner_can_amend_or_cancel(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    assert reasons(spot.apply(AmendOrder(2, 1, size=10))) == [Reason.UNKNOWN_ORDER]
    assert reasons(spot.apply(CancelOrder(2, 1))) == [Reason.UNKNOWN_ORDER]


def test_cancel_by_client_order_id_and_cancel_all(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000, client_order_id="a"))
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1010, client_order_id="b"))
    spot.apply(PlaceOrder(1, M, BUY, 10, price=900))
    events = spot.apply(CancelOrder(1, client_order_id="a"))
    assert [(e.order_id, e.reason) for e in events] == [(1, Reason.CANCELLED_BY_TRADER)]
    events = spot.apply(CancelAll(1, M))
    assert sorted(e.order_id for e in events) == [2, 3]
    assert not spot.accounts[1].orders


def test_client_order_id_is_unique_among_open_orders(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000, client_order_id="x"))
    dup = spot.apply(PlaceOrder(1, M, SELL, 10, price=1010, client_order_id="x"))
    assert reasons(dup) == [Reason.DUPLICATE_CLIENT_ORDER_ID]
    other_account = spot.apply(PlaceOrder(2, M, SELL, 10, price=1010, client_order_id="x"))
    assert isinstance(other_account[0], OrderAccepted)
    spot.apply(CancelOrder(1, client_order_id="x"))
    reuse = spot.apply(PlaceOrder(1, M, SELL, 10, price=1010, client_order_id="x"))
    assert isinstance(reuse[0], OrderAccepted)


def test_an_order_keeps_the_id_its_command_gives_it_and_ids_stay_unique(spot):
    events = spot.apply(PlaceOrder(1, M, SELL, 10, price=1000, order_id=70))
    assert isinstance(events[0], OrderAccepted) and events[0].order_id == 70
    refused = spot.apply(PlaceOrder(1, M, BUY, 12, price=900, order_id=41))
    assert [(e.reason, e.order_id) for e in refused] == [(Reason.BAD_LOT, 41)]
    assert fills(spot.apply(PlaceOrder(2, M, BUY, 10, price=1000, order_id=12))) == [
        (70, 12, 1000, 10)
    ]
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000, order_id=80))
    # an id that an open order has is refused, and changes nothing
    dup = spot.apply(PlaceOrder(2, M, SELL, 10, price=1100, order_id=80))
    assert [(e.reason, e.order_id) for e in dup] == [(Reason.DUPLICATE_ORDER_ID, 0)]
    assert list(spot.orders) == [80]
    # orders without an id are numbered after every id seen
    numbered = spot.apply(PlaceOrder(2, M, SELL, 10, price=1100))
    assert numbered[0].order_id == 81
    assert spot.apply(CancelOrder(1, 80))[0].order_id == 80


def test_gtd_orders_expire_when_a_later_command_passes_their_time(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000, tif=TimeInForce.GTD, expiry_ts=500))
    assert spot.apply(AdvanceTime(499)) == []
    events = spot.apply(PlaceOrder(2, M, BUY, 10, price=1000, ts=500))
    assert reasons(events)[0] == Reason.EXPIRED
    assert not fills(events)
    past = spot.apply(PlaceOrder(1, M, SELL, 10, price=1000, tif=TimeInForce.GTD, expiry_ts=400))
    assert reasons(past) == [Reason.BAD_EXPIRY]


def test_self_trade_prevention_cancel_newest(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    events = spot.apply(PlaceOrder(1, M, BUY, 10, price=1000))
    assert reasons(events) == [Reason.SELF_TRADE_PREVENTED]
    assert spot.markets[M].book.depth(False, 1) == [(1000, 10, 1)]


def test_self_trade_prevention_cancel_oldest_keeps_matching(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    spot.apply(PlaceOrder(2, M, SELL, 10, price=1000))
    stp = SelfTradePrevention.CANCEL_OLDEST
    events = spot.apply(PlaceOrder(1, M, BUY, 10, price=1000, stp=stp))
    assert reasons(events) == [Reason.SELF_TRADE_PREVENTED]
    assert fills(events) == [(2, 3, 1000, 10)]


def test_self_trade_prevention_cancel_both(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    stp = SelfTradePrevention.CANCEL_BOTH
    events = spot.apply(PlaceOrder(1, M, BUY, 10, price=1000, stp=stp))
    assert [e.order_id for e in events if isinstance(e, OrderCancelled)] == [1, 2]
    assert not spot.markets[M].book.asks


def test_halted_market_rejects_new_orders_but_allows_cancels(spot):
    spot.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    spot.apply(HaltMarket(M))
    assert reasons(spot.apply(PlaceOrder(2, M, BUY, 10, price=1000))) == [Reason.MARKET_HALTED]
    assert reasons(spot.apply(AmendOrder(1, 1, price=1010))) == [Reason.MARKET_HALTED]
    assert reasons(spot.apply(CancelOrder(1, 1))) == [Reason.CANCELLED_BY_TRADER]
    spot.apply(ResumeMarket(M))
    assert isinstance(spot.apply(PlaceOrder(2, M, BUY, 10, price=1000))[0], OrderAccepted)


def test_unknown_market_and_account(spot):
    assert reasons(spot.apply(PlaceOrder(1, "NOPE", BUY, 10, price=1000))) == [
        Reason.UNKNOWN_MARKET
    ]
    assert reasons(spot.apply(PlaceOrder(99, M, BUY, 10, price=1000))) == [Reason.UNKNOWN_ACCOUNT]


def test_amend_up_beyond_the_balance_is_rejected_and_changes_nothing(spot):
    spot.apply(PlaceOrder(1, M, BUY, 10, price=1000))
    events = spot.apply(AmendOrder(1, 1, size=100_000))
    assert reasons(events) == [Reason.INSUFFICIENT_BALANCE]
    assert spot.markets[M].book.depth(True, 1) == [(1000, 10, 1)]


def test_cancel_all_without_a_market_cancels_everywhere(make_engine, configs):
    from dataclasses import replace

    engine = make_engine(configs["spot"], replace(configs["spot"], market_id="ETH-USDC"))
    engine.apply(PlaceOrder(1, M, BUY, 10, price=1000))
    engine.apply(PlaceOrder(1, "ETH-USDC", BUY, 10, price=1000))
    events = engine.apply(CancelAll(1))
    assert [e.market for e in events] == [M, "ETH-USDC"]


def test_a_market_sell_never_fills_below_its_protection_band(make_engine, configs):
    # given tick 1 and a 3% band: bids of 1 at 1001 and 5 at 970
    config = replace(configs["spot"], tick_size=1, lot_size=1, min_size=1, price_band_bps=0)
    engine = make_engine(replace(config, market_order_band_bps=300))
    engine.apply(PlaceOrder(1, M, BUY, 1, price=1001))
    engine.apply(PlaceOrder(1, M, BUY, 5, price=970))
    # when a market order sells 3
    events = engine.apply(PlaceOrder(2, M, SELL, 3, order_type=OrderType.MARKET))
    # then the band's edge is 1001 x 0.97 = 970.97, so its limit is 971: 970 is outside
    assert fills(events) == [(1, 3, 1001, 1)]
    assert reasons(events) == [Reason.IOC_REMAINDER]
