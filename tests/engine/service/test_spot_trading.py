"""A spot trade from the trader's side: place, match, read orders, fills and balances."""

from decimal import Decimal

from engine import models, selectors, sequencer


def test_a_crossing_order_fills_and_the_projections_show_it(spot_desk):
    # Given a resting ask from trader 2
    ask = spot_desk.do(2, "PlaceOrder", market="BTC-USDC", side="sell", size=100, price=1_000)
    assert ask.result == "accepted"
    # When trader 1 buys across it
    bid = spot_desk.do(1, "PlaceOrder", market="BTC-USDC", side="buy", size=40, price=1_000)
    # Then the buy filled, the ask rests with what is left
    assert bid.result == "filled"
    shard = spot_desk.shard
    orders = {o.order_id: o for o in selectors.orders_of(shard=shard, account=2)}
    assert orders[ask.order_id].status == "open"
    assert orders[ask.order_id].remaining == Decimal(60)
    fills = selectors.fills_of(shard=shard, account=1)
    assert [(f.price, f.size) for f in fills] == [(1_000, 40)]
    balances = {b.asset: b for b in selectors.balances_of(shard=shard, account=1)}
    # paid 40 * 1000 plus the 10 bps taker fee, got 40 BTC
    assert balances["USDC"].free == 10_000_000 - 40_000 - 40
    assert balances["BTC"].free == 10_000 + 40


def test_trades_make_one_minute_bars_whatever_the_batches(spot_desk):
    # Given two resting asks and the engine's clock in a minute of its own
    minute = (sequencer.now_ms() // 60_000 + 10) * 60_000
    sequencer.simulated_clock_set(minute + 1_000)
    try:
        spot_desk.do(2, "PlaceOrder", market="BTC-USDC", side="sell", size=100, price=1_000)
        spot_desk.do(2, "PlaceOrder", market="BTC-USDC", side="sell", size=100, price=1_010)
        # When trader 1 buys in two batches of that minute, then once in the next
        spot_desk.do(1, "PlaceOrder", market="BTC-USDC", side="buy", size=40, price=1_000)
        spot_desk.do(1, "PlaceOrder", market="BTC-USDC", side="buy", size=100, price=1_010)
        sequencer.simulated_clock_set(minute + 60_000)
        spot_desk.do(1, "PlaceOrder", market="BTC-USDC", side="buy", size=20, price=1_010)
    finally:
        sequencer.simulated_clock_set(None)
    # Then each minute is one bar: first and last price, range, size, turnover, fills
    bars = models.Candle.objects.filter(shard=spot_desk.shard, market_id="BTC-USDC")
    fields = ("start", "open", "high", "low", "close", "volume", "turnover", "trades")
    assert list(bars.values_list(*fields)) == [
        (minute, 1_000, 1_010, 1_000, 1_010, 140, 100 * 1_000 + 40 * 1_010, 3),
        (minute + 60_000, 1_010, 1_010, 1_010, 1_010, 20, 20 * 1_010, 1),
    ]
