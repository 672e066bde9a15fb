"""Prediction markets, from the trader's side: one share pays 100 when it wins."""

from engine.core import (
    AdvanceTime,
    CancelOrder,
    DisputeResolution,
    EliminateOutcome,
    Fill,
    MarketChanged,
    OrderCancelled,
    OrderType,
    Outcome,
    Payout,
    PlaceOrder,
    ProposeResolution,
    Reason,
    ResolutionDisputed,
    SettleMarket,
    Side,
)

M = "RAIN"
BUY, SELL = Side.BUY, Side.SELL
YES, NO = Outcome.YES, Outcome.NO
START = 100_000
CLOSE = 1_000_000
WINDOW = 10_000


def shares(engine, account, market=M):
    holding = engine.accounts[account].holdings.get(market)
    if holding is None:
        return (0, 0)
    return (holding.yes + holding.yes_locked, holding.no + holding.no_locked)


def test_prices_lie_strictly_between_zero_and_one_unit(binary):
    for price in (0, 100, 150):
        assert binary.apply(PlaceOrder(1, M, BUY, 10, price=price))[0].reason == Reason.BAD_PRICE


def test_a_buy_reserves_price_times_size(binary):
    binary.apply(PlaceOrder(1, M, BUY, 10, price=40))
    assert binary.accounts[1].balance("USDC").locked == 400


def test_a_yes_buyer_and_a_no_buyer_mint_complete_sets(binary):
    binary.apply(PlaceOrder(1, M, BUY, 10, price=40, outcome=YES))
    events = binary.apply(PlaceOrder(2, M, BUY, 10, price=60, outcome=NO))
    fill = next(e for e in events if isinstance(e, Fill))
    assert (fill.price, fill.size) == (40, 10)
    assert shares(binary, 1) == (10, 0) and shares(binary, 2) == (0, 10)
    assert binary.accounts[1].balance("USDC").free == START - 400
    assert binary.accounts[2].balance("USDC").free == START - 600
    assert binary.markets[M].escrow == 1_000


def test_selling_yes_one_does_not_hold_is_buying_no_at_one_minus_p(binary):
    binary.apply(PlaceOrder(1, M, SELL, 10, price=40, outcome=YES))
    assert binary.accounts[1].balance("USDC").locked == 600
    binary.apply(PlaceOrder(2, M, BUY, 10, price=40, outcome=YES))
    assert shares(binary, 1) == (0, 10) and shares(binary, 2) == (10, 0)


def test_selling_held_shares_locks_the_shares_and_pays_the_seller(binary):
    binary.apply(PlaceOrder(1, M, BUY, 10, price=40))
    binary.apply(PlaceOrder(2, M, BUY, 10, price=60, outcome=NO))
    binary.apply(PlaceOrder(1, M, SELL, 10, price=55, outcome=YES))
    assert binary.accounts[1].balance("USDC").locked == 0
    assert binary.accounts[1].holdings[M].yes_locked == 10
    binary.apply(PlaceOrder(3, M, BUY, 10, price=55, outcome=YES))
    assert shares(binary, 1) == (0, 0) and shares(binary, 3) == (10, 0)
    assert binary.accounts[1].balance("USDC").free == START - 400 + 550
    assert binary.markets[M].escrow == 1_000


def test_two_sellers_of_held_shares_burn_the_sets(binary):
    binary.apply(PlaceOrder(1, M, BUY, 10, price=40))
    binary.apply(PlaceOrder(2, M, BUY, 10, price=60, outcome=NO))
    binary.apply(PlaceOrder(1, M, SELL, 10, price=30, outcome=YES))
    binary.apply(PlaceOrder(2, M, SELL, 10, price=70, outcome=NO))
    assert binary.markets[M].escrow == 0
    assert binary.accounts[1].balance("USDC").free == START - 400 + 300
    assert binary.accounts[2].balance("USDC").free == START - 600 + 700


def test_holding_both_sides_merges_them_back_to_collateral(binary):
    binary.apply(PlaceOrder(1, M, BUY, 10, price=40))
    binary.apply(PlaceOrder(2, M, BUY, 10, price=60, outcome=NO))
    binary.apply(PlaceOrder(3, M, BUY, 10, price=30))
    binary.apply(PlaceOrder(1, M, BUY, 10, price=70, outcome=NO))  # matches 3's YES bid
    assert shares(binary, 1) == (0, 0)
    assert binary.accounts[1].balance("USDC").free == START - 400 - 700 + 1_000


def test_cancelling_a_share_sale_gives_the_shares_back(binary):
    binary.apply(PlaceOrder(1, M, BUY, 10, price=40))
    binary.apply(PlaceOrder(2, M, BUY, 10, price=60, outcome=NO))
    binary.apply(PlaceOrder(1, M, SELL, 10, price=90, outcome=YES))
    binary.apply(CancelOrder(1, 3))
    assert binary.accounts[1].holdings[M].yes == 10


def test_close_time_stops_trading_and_cancels_resting_orders(binary):
    binary.apply(PlaceOrder(1, M, BUY, 10, price=40))
    events = binary.apply(PlaceOrder(2, M, BUY, 10, price=60, outcome=NO, ts=CLOSE))
    assert isinstance(events[0], OrderCancelled) and events[0].reason == Reason.MARKET_STOPPED
    assert events[1] == MarketChanged(M, "close", "closed")
    assert events[2].reason == Reason.MARKET_CLOSED
    assert binary.accounts[1].balance("USDC").locked == 0


def mint(engine, market=M, price=40, size=10):
    """Account 1 buys YES at `price` from account 2, who buys NO."""
    payout = engine.markets[market].config.payout
    engine.apply(PlaceOrder(1, market, BUY, size, price=price))
    engine.apply(PlaceOrder(2, market, BUY, size, price=payout - price, outcome=NO))


def test_resolution_can_be_disputed_within_the_window_then_is_paid(binary):
    mint(binary)
    assert binary.apply(ProposeResolution(M, "yes"))[0].reason == Reason.BAD_MARKET_STATE
    binary.apply(AdvanceTime(CLOSE))
    binary.apply(ProposeResolution(M, "yes", ts=CLOSE + 1))
    disputed = binary.apply(DisputeResolution(M, ts=CLOSE + 2))
    assert disputed == [ResolutionDisputed(M, "yes")]
    binary.apply(ProposeResolution(M, "no", ts=CLOSE + 3))
    early = binary.apply(SettleMarket(M, ts=CLOSE + 3 + WINDOW - 1))
    assert early[0].reason == Reason.DISPUTE_WINDOW_OPEN
    late_dispute = binary.apply(DisputeResolution(M, ts=CLOSE + 3 + WINDOW))
    assert late_dispute[0].reason == Reason.DISPUTE_WINDOW_OVER
    paid = binary.apply(SettleMarket(M, ts=CLOSE + 3 + WINDOW))
    assert [e for e in paid if isinstance(e, Payout)] == [Payout(1, M, 0), Payout(2, M, 1_000)]
    assert binary.accounts[2].balance("USDC").free == START - 600 + 1_000
    assert binary.markets[M].escrow == 0


def test_an_outcome_decided_after_a_dispute_settles_at_once_and_cannot_be_disputed(binary):
    mint(binary)
    binary.apply(AdvanceTime(CLOSE))
    binary.apply(ProposeResolution(M, "yes", ts=CLOSE + 1))
    binary.apply(DisputeResolution(M, ts=CLOSE + 2))
    decided = binary.apply(ProposeResolution(M, "no", final=True, ts=CLOSE + 3))
    assert decided[0].dispute_until == CLOSE + 3
    assert binary.apply(DisputeResolution(M, ts=CLOSE + 3))[0].reason == Reason.DISPUTE_WINDOW_OVER
    paid = binary.apply(SettleMarket(M, ts=CLOSE + 3))
    assert [e for e in paid if isinstance(e, Payout)] == [Payout(1, M, 0), Payout(2, M, 1_000)]


def test_a_void_market_pays_each_side_half_a_unit(binary):
    mint(binary)
    binary.apply(AdvanceTime(CLOSE))
    binary.apply(ProposeResolution(M, "void"))
    binary.apply(SettleMarket(M, ts=CLOSE + WINDOW))
    assert binary.accounts[1].balance("USDC").free == START - 400 + 500
    assert binary.accounts[2].balance("USDC").free == START - 600 + 500


def test_a_categorical_market_is_a_set_of_binaries_exactly_one_of_which_wins(world_cup):
    mint(world_cup, "WC26:ARG", price=400)
    mint(world_cup, "WC26:BRA", price=300)
    world_cup.apply(AdvanceTime(CLOSE))
    assert world_cup.apply(ProposeResolution("WC26", "GER"))[0].reason == Reason.BAD_OUTCOME
    world_cup.apply(ProposeResolution("WC26", "ARG"))
    world_cup.apply(SettleMarket("WC26", ts=CLOSE + WINDOW))
    # account 1 held YES of ARG and BRA, account 2 NO of both: ARG won, BRA lost
    assert world_cup.accounts[1].balance("USDC").free == START - 4_000 - 3_000 + 10_000
    assert world_cup.accounts[2].balance("USDC").free == START - 6_000 - 7_000 + 10_000
    assert all(m.status == "settled" for m in world_cup.markets.values())


def test_a_market_order_for_no_takes_yes_bids(binary):
    binary.apply(PlaceOrder(1, M, BUY, 10, price=40))  # bids YES at 40 = offers NO at 60
    events = binary.apply(PlaceOrder(2, M, BUY, 10, outcome=NO, order_type=OrderType.MARKET))
    fill = next(e for e in events if isinstance(e, Fill))
    assert (fill.price, fill.size, fill.taker_buys) == (40, 10, False)
    assert shares(binary, 2) == (0, 10)


def test_a_categorical_outcome_can_be_voided_as_a_whole(world_cup):
    mint(world_cup, "WC26:FRA", price=200)
    world_cup.apply(AdvanceTime(CLOSE))
    world_cup.apply(ProposeResolution("WC26", "void"))
    world_cup.apply(SettleMarket("WC26", ts=CLOSE + WINDOW))
    assert world_cup.accounts[1].balance("USDC").free == START - 2_000 + 5_000
    assert world_cup.accounts[2].balance("USDC").free == START - 8_000 + 5_000


def test_a_knocked_out_outcome_pays_its_no_holders_while_the_others_trade_on(world_cup):
    mint(world_cup, "WC26:BRA", price=300)
    world_cup.apply(PlaceOrder(1, "WC26:BRA", BUY, 5, price=200))  # still resting
    events = world_cup.apply(EliminateOutcome("WC26", "BRA", ts=START))
    # the resting order is cancelled; account 2's NO shares pay, account 1's YES nothing
    assert [e.reason for e in events if isinstance(e, OrderCancelled)] == [Reason.MARKET_STOPPED]
    assert {e.account: e.amount for e in events if isinstance(e, Payout)} == {1: 0, 2: 10_000}
    assert events[-1] == MarketChanged("WC26:BRA", "eliminate", "settled")
    assert world_cup.accounts[1].balance("USDC").free == START - 3_000
    assert world_cup.accounts[2].balance("USDC").free == START - 7_000 + 10_000
    assert world_cup.markets["WC26:BRA"].escrow == 0
    # BRA no longer trades, ARG does
    refused = world_cup.apply(PlaceOrder(1, "WC26:BRA", BUY, 1, price=10))
    assert refused[0].reason == Reason.MARKET_CLOSED
    mint(world_cup, "WC26:ARG", price=600)
    assert shares(world_cup, 1, "WC26:ARG") == (10, 0)


def test_an_eliminated_outcome_cannot_win_and_the_last_one_left_is_the_winner(world_cup):
    world_cup.apply(EliminateOutcome("WC26", "BRA"))
    again = world_cup.apply(EliminateOutcome("WC26", "BRA"))
    assert again[0].reason == Reason.BAD_MARKET_STATE
    assert world_cup.apply(EliminateOutcome("WC26", "GER"))[0].reason == Reason.BAD_OUTCOME
    world_cup.apply(EliminateOutcome("WC26", "FRA"))
    assert world_cup.apply(EliminateOutcome("WC26", "ARG"))[0].reason == Reason.BAD_OUTCOME
    mint(world_cup, "WC26:ARG", price=500)
    world_cup.apply(AdvanceTime(CLOSE))
    assert world_cup.markets["WC26:BRA"].status == "settled"  # not closed again
    assert world_cup.apply(ProposeResolution("WC26", "BRA"))[0].reason == Reason.BAD_OUTCOME
    world_cup.apply(ProposeResolution("WC26", "ARG"))
    settled = world_cup.apply(SettleMarket("WC26", ts=CLOSE + WINDOW))
    assert {e.market for e in settled if isinstance(e, Payout)} == {"WC26:ARG"}
    assert world_cup.accounts[1].balance("USDC").free == START - 5_000 + 10_000
    assert all(m.status == "settled" for m in world_cup.markets.values())
