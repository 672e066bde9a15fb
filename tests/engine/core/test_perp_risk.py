"""Perpetual risk under stress, from the trader's side: funding, reduce-only orders,
auto-deleveraging across markets, liquidation cascades and settlement. Each test is a
fault once reproduced from commands alone; the engines here also rebuild their money from
the events after every command (see conftest)."""

from dataclasses import replace

from engine.core import (
    AddMarket,
    AdvanceTime,
    CloseMarket,
    DeficitCovered,
    Deleveraged,
    Deposit,
    FundingApplied,
    Liquidated,
    MarginTier,
    MarketConfig,
    MarketKind,
    OraclePrice,
    OrderCancelled,
    PlaceOrder,
    ProfitClawedBack,
    Reason,
    Rejected,
    SettleMarket,
    Side,
)
from tests.engine.core.test_ledger import assert_nobody_below_zero

BUY, SELL = Side.BUY, Side.SELL
PERP = MarketConfig(
    "P",
    MarketKind.PERP,
    "USDC",
    margin_tiers=(MarginTier(10**12, 1_000, 500),),  # 10% initial, 5% maintenance
    funding_interval_ms=100,
    funding_cap_ppm=1_000,
)


def engine_with(checked_engine, *configs, cash, mark=100):
    engine = checked_engine("rg", "USDC")
    for config in configs:
        engine.apply(AddMarket(config))
        if config.kind is MarketKind.PERP:
            engine.apply(OraclePrice(config.market_id, mark))
    for account, amount in cash.items():
        engine.apply(Deposit(account, "USDC", amount, f"d{account}"))
    return engine


def trade(engine, long, short, size, price, market="P"):
    engine.apply(PlaceOrder(short, market, SELL, size, price=price))
    events = engine.apply(PlaceOrder(long, market, BUY, size, price=price))
    assert [type(e).__name__ for e in events] == ["OrderAccepted", "Fill"], events


def test_funding_receivers_never_get_more_than_payers_pay(checked_engine):
    # given a 1 ppm cap: account 1 long 2 against shorts of 1 from accounts 2 and 3
    config = replace(PERP, funding_cap_ppm=1, market_id="F")
    engine = engine_with(
        checked_engine, config, cash=dict.fromkeys((1, 2, 3, 4), 10_000), mark=1000
    )
    trade(engine, 1, 2, 1, 1000, market="F")
    trade(engine, 1, 3, 1, 1000, market="F")
    engine.apply(PlaceOrder(4, "F", BUY, 1, price=1000))
    engine.apply(PlaceOrder(4, "F", SELL, 1, price=1003))
    # when funding comes due with the book above the index
    events = engine.apply(AdvanceTime(100))
    # then the long pays 1 (rounded up), each short's 0.001 rounds to nothing, and the
    # unit nobody receives goes to the insurance fund rather than out of it
    assert events[-1] == FundingApplied("F", 1, 1000, 1, 0)
    assert engine.insurance == 1
    assert [engine.accounts[a].cash.free for a in (1, 2, 3)] == [9_999, 10_000, 10_000]


def test_a_reduce_only_order_cannot_lose_more_than_the_account_has(checked_engine):
    # given account 1 long 10 at 100 on its 100 of collateral, and a bid at 85
    engine = engine_with(checked_engine, PERP, cash={1: 100, 2: 100_000, 3: 100_000})
    trade(engine, 1, 2, 10, 100)
    engine.apply(PlaceOrder(3, "P", BUY, 10, price=85))
    # when it sells its 10 at 85 reduce-only, a loss of 150 against mark
    refused = engine.apply(PlaceOrder(1, "P", SELL, 10, price=85, reduce_only=True))
    # then the order is refused: the account's 100 cannot pay that
    assert refused == [Rejected("PlaceOrder", Reason.INSUFFICIENT_MARGIN, 1, "P", 4)]
    assert engine.accounts[1].cash.free == 100
    # and a reduce-only sale it can afford (a loss of 50) closes the position
    engine.apply(PlaceOrder(3, "P", BUY, 10, price=95))
    engine.apply(PlaceOrder(1, "P", SELL, 10, price=95, reduce_only=True))
    assert not engine.accounts[1].positions
    assert engine.accounts[1].cash.free == 50


def test_a_plain_order_far_from_mark_reserves_its_loss_too(checked_engine):
    engine = engine_with(checked_engine, PERP, cash={1: 200, 2: 100_000, 3: 100_000})
    trade(engine, 1, 2, 10, 100)
    engine.apply(PlaceOrder(3, "P", BUY, 10, price=1))
    # selling at 1 would lose 990 against mark: more than the 200 the account has
    refused = engine.apply(PlaceOrder(1, "P", SELL, 10, price=1))
    assert refused[0].reason == Reason.INSUFFICIENT_MARGIN


def test_deleveraging_in_a_market_that_did_not_move_costs_its_counterparty_nothing(
    checked_engine,
):
    # given account 1 (300) long 10 in P and short 10 in Q, all at 100; account 2 (150)
    # holds the other side in P, account 3 in Q
    q = replace(PERP, market_id="Q")
    engine = engine_with(checked_engine, PERP, q, cash={1: 300, 2: 150, 3: 100_000})
    trade(engine, 1, 2, 10, 100, market="P")
    trade(engine, 3, 1, 10, 100, market="Q")
    # when Q jumps to 150: account 1's equity is 300 - 500 = -200, and no book takes it
    events = engine.apply(OraclePrice("Q", 150, ts=1))
    # then its P long closes against account 2 at P's own mark, 100: account 2 keeps its
    # 150; Q's winner gives up 200 of its 500 profit by closing at 130
    deleveraged = [
        (e.counterparty, e.market, e.size, e.price) for e in events if isinstance(e, Deleveraged)
    ]
    assert deleveraged == [(2, "P", 10, 100), (3, "Q", -10, 130)]
    assert engine.accounts[2].cash.free == 150
    assert engine.accounts[3].cash.free == 100_000 + 300
    assert engine.accounts[1].cash.free == 0
    assert engine.bad_debt == 0
    assert_nobody_below_zero(engine, "the oracle price")


def test_a_maker_filled_by_a_liquidation_is_liquidated_in_turn(checked_engine):
    # given account 2 (1,100) long 100 at 100, and account 1 (1,000) bidding 100 at 95
    engine = engine_with(checked_engine, PERP, cash={1: 1_000, 2: 1_100, 3: 100_000})
    trade(engine, 2, 3, 100, 100)
    engine.apply(PlaceOrder(1, "P", BUY, 100, price=95))
    # when the mark falls to 70
    events = engine.apply(OraclePrice("P", 70, ts=1))
    # then account 2 is sold into account 1's bid, which leaves account 1 long 100 at 95
    # with equity 1,000 - 2,500: it is liquidated in the same command
    assert [e.account for e in events if isinstance(e, Liquidated)] == [2, 1]
    assert not engine.accounts[1].positions and not engine.accounts[2].positions
    assert_nobody_below_zero(engine, "the oracle price")


def test_settling_below_entry_takes_collateral_locked_in_orders_before_any_bad_debt(
    checked_engine,
):
    # given 1,000 of which a spot buy locks 500, and a long 10 at 100
    spot = MarketConfig("S", MarketKind.SPOT, "USDC", base_asset="ETH")
    engine = engine_with(checked_engine, PERP, spot, cash={1: 1_000, 2: 100_000})
    engine.apply(PlaceOrder(1, "S", BUY, 5, price=100))
    trade(engine, 1, 2, 10, 100)
    engine.apply(CloseMarket("P"))
    # when the market settles at 30: a loss of 700, 200 more than the free 500
    events = engine.apply(SettleMarket("P", price=30))
    # then the buy is cancelled to pay it: the account keeps 300, and nothing is bad debt
    cancelled = [e for e in events if isinstance(e, OrderCancelled)]
    assert [(e.order_id, e.reason) for e in cancelled] == [(1, Reason.LIQUIDATION)]
    assert not [e for e in events if isinstance(e, DeficitCovered)]
    assert engine.accounts[1].cash.free == 300
    assert engine.bad_debt == 0


def test_settling_beyond_all_collateral_books_the_rest_as_bad_debt_in_an_event(
    checked_engine,
):
    engine = engine_with(checked_engine, PERP, cash={1: 100, 2: 100_000})
    trade(engine, 1, 2, 10, 100)
    engine.apply(CloseMarket("P"))
    events = engine.apply(SettleMarket("P", price=50))
    assert DeficitCovered(1, 0, 0, 400) in events
    assert engine.bad_debt == 400
    assert engine.accounts[1].cash.free == 0


def test_a_resting_order_filled_after_the_mark_moved_away_liquidates_its_account(
    checked_engine,
):
    # given account 4 (300) offering 10 at 84 while the mark is 100 (it locks the loss)
    engine = engine_with(checked_engine, PERP, cash={3: 100_000, 4: 300})
    engine.apply(PlaceOrder(4, "P", SELL, 10, price=84))
    # when the mark rises to 126 and a buyer takes the offer: short 10 at 84, a loss of
    # 420 against mark on 300 of collateral
    engine.apply(OraclePrice("P", 126, ts=1))
    events = engine.apply(PlaceOrder(3, "P", BUY, 10, price=128))
    # then the seller is liquidated in the same command, not left under water
    assert [e.account for e in events if isinstance(e, Liquidated)] == [4]
    assert not engine.accounts[4].positions
    assert_nobody_below_zero(engine, "the fill")


def test_what_deleveraging_cannot_cover_is_clawed_back_from_profit_then_bad_debt(
    checked_engine,
):
    # given, at mark 100: account 1 (100) long 10 at 100; account 3 short 10 at 60 (the
    # other side of account 1's trade, passed on by account 2); account 5 long 10 at 40
    engine = engine_with(checked_engine, PERP, cash={1: 100} | dict.fromkeys((2, 3, 5, 6), 10_000))
    trade(engine, 1, 2, 10, 100)
    trade(engine, 2, 3, 10, 60)
    trade(engine, 5, 6, 10, 40)
    # when the mark falls to 50: account 1 lacks 400
    events = engine.apply(OraclePrice("P", 50, ts=1))
    # then account 3 gives up its whole profit on what it closes (100: it closes at 60),
    # account 5's profit of 100 is clawed back, and the last 200 is bad debt
    assert [(e.counterparty, e.price) for e in events if isinstance(e, Deleveraged)] == [(3, 60)]
    assert ProfitClawedBack(5, "P", 100) in events
    assert DeficitCovered(1, 0, 100, 200) in events
    assert engine.bad_debt == 200
    assert engine.accounts[1].cash.free == 0
    assert engine.accounts[5].positions["P"].entry == 400 + 100  # its profit is gone
    assert_nobody_below_zero(engine, "the oracle price")


def test_a_deleveraged_position_closed_at_a_loss_is_paid_from_collateral_locked_in_orders(
    checked_engine,
):
    # given account 5 (1,000) with 800 locked by a spot buy and long 10 in Q at 100;
    # account 4 (400) short 10 in Q and 10 in P, both at 100
    q = replace(PERP, market_id="Q")
    spot = MarketConfig("S", MarketKind.SPOT, "USDC", base_asset="ETH")
    engine = engine_with(checked_engine, PERP, q, spot, cash={4: 400, 5: 1_000, 6: 100_000})
    engine.apply(PlaceOrder(5, "S", BUY, 8, price=100))  # order 1
    trade(engine, 5, 4, 10, 100, market="Q")
    trade(engine, 6, 4, 10, 100, market="P")
    engine.apply(OraclePrice("Q", 60, ts=1))
    # when P jumps to 190: account 4 is bankrupt, and its Q short is deleveraged against
    # account 5's long at Q's mark, 60, a loss of 400 on account 5's free 200
    events = engine.apply(OraclePrice("P", 190, ts=2))
    # then account 5's spot buy is cancelled to pay it, rather than its balance going
    # negative
    assert OrderCancelled(1, 5, "S", 8, Reason.LIQUIDATION) in events
    assert (engine.accounts[5].cash.free, engine.accounts[5].cash.locked) == (600, 0)
    assert engine.bad_debt == 0
    assert_nobody_below_zero(engine, "the oracle price")


def test_spending_collateral_that_backed_positions_on_shares_liquidates_at_once(checked_engine):
    # given account 1 (1,000) long 10 in P at 100, with 891 locked by a bid for 9 YES
    # shares at 99; the mark falls to 20, and the locked 891 still covers the loss
    binary = MarketConfig(
        "B", MarketKind.PREDICTION, "USDC", payout=100, close_ts=10**9, dispute_window_ms=1
    )
    engine = engine_with(checked_engine, PERP, binary, cash={1: 1_000, 2: 100_000, 3: 100_000})
    trade(engine, 1, 3, 10, 100)
    engine.apply(PlaceOrder(1, "B", BUY, 9, price=99))
    engine.apply(OraclePrice("P", 20, ts=1))
    assert engine.accounts[1].positions
    # when a seller fills the bid: the 891 are spent on shares
    events = engine.apply(PlaceOrder(2, "B", SELL, 9, price=99))
    # then the account is liquidated in the same command
    assert [e.account for e in events if isinstance(e, Liquidated)] == [1]
    assert_nobody_below_zero(engine, "the fill")
