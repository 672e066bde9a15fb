"""Spot reservations, fills and fees (maker -2 bps rebate, taker 10 bps, deployer 20%)."""

from engine.core import CancelOrder, Fill, PlaceOrder, Reason, Rejected, Side

M = "BTC-USDC"
START_USDC = 10_000_000
START_BTC = 10_000


def test_a_buy_reserves_price_times_size_plus_the_most_fee(spot):
    spot.apply(PlaceOrder(1, M, Side.BUY, 10, price=1000))
    account = spot.accounts[1]
    assert account.balance("USDC").locked == 10 * (1000 + 1)
    assert account.balance("USDC").free == START_USDC - 10_010


def test_a_sell_reserves_the_base_asset(spot):
    spot.apply(PlaceOrder(1, M, Side.SELL, 10, price=1000))
    assert spot.accounts[1].balance("BTC").locked == 10
    assert spot.accounts[1].balance("BTC").free == START_BTC - 10


def test_a_buy_beyond_the_balance_is_rejected(spot):
    events = spot.apply(PlaceOrder(1, M, Side.BUY, 10_000, price=1000))
    assert events[0].reason == Reason.INSUFFICIENT_BALANCE
    assert spot.accounts[1].balance("USDC").locked == 0


def test_a_sell_beyond_the_holding_is_rejected(spot):
    events = spot.apply(PlaceOrder(1, M, Side.SELL, START_BTC + 5, price=1000))
    assert isinstance(events[0], Rejected) and events[0].reason == Reason.INSUFFICIENT_BALANCE


def test_fill_moves_both_sides_charges_fees_and_releases_the_over_reservation(spot):
    spot.apply(PlaceOrder(2, M, Side.SELL, 10, price=990))
    events = spot.apply(PlaceOrder(1, M, Side.BUY, 10, price=1000))
    fill = next(e for e in events if isinstance(e, Fill))
    assert (fill.price, fill.size, fill.maker_fee, fill.taker_fee) == (990, 10, -1, 10)
    buyer, seller = spot.accounts[1], spot.accounts[2]
    assert buyer.balance("USDC").free == START_USDC - 9_900 - 10
    assert buyer.balance("USDC").locked == 0
    assert buyer.balance("BTC").free == START_BTC + 10
    assert seller.balance("USDC").free == START_USDC + 9_900 + 1
    assert seller.balance("BTC").free == START_BTC - 10 and seller.balance("BTC").locked == 0
    # net fee 9: 20% to the deployer (rounded down), the rest to the protocol
    assert spot.fees.deployer == {M: 1}
    assert spot.fees.protocol == {"USDC": 8}


def test_partial_fill_then_cancel_releases_everything(spot):
    spot.apply(PlaceOrder(2, M, Side.SELL, 10, price=1000))
    spot.apply(PlaceOrder(1, M, Side.BUY, 30, price=1000))
    spot.apply(CancelOrder(1, 2))
    assert spot.accounts[1].balance("USDC").locked == 0
    assert spot.accounts[1].balance("USDC").free == START_USDC - 10_000 - 10
