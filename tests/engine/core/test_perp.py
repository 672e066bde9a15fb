"""Perpetuals, from the trader's side: tiers 10%/5% up to 1M notional, 20%/10% above;
hourly funding capped at 0.1%; 1% liquidation fee; every trader starts with 100,000."""

from dataclasses import replace

import pytest

from engine.core import (
    AdvanceTime,
    DeficitCovered,
    Deleveraged,
    Deposit,
    FundingApplied,
    FundingPaid,
    FundInsurance,
    Liquidated,
    OraclePrice,
    OrderCancelled,
    PlaceOrder,
    Reason,
    Rejected,
    Side,
    TransferOut,
    Withdraw,
)

M = "BTC-PERP"
BUY, SELL = Side.BUY, Side.SELL


def trade(engine, long, short, size, price, market=M):
    engine.apply(PlaceOrder(short, market, SELL, size, price=price))
    engine.apply(PlaceOrder(long, market, BUY, size, price=price))


def test_positions_keep_average_entry_and_realise_pnl_on_reduction(perp):
    trade(perp, 1, 2, 10, 1000)
    trade(perp, 1, 3, 10, 1100)
    position = perp.accounts[1].positions[M]
    assert (position.size, position.entry) == (20, 21_000)  # average entry 1050
    trade(perp, 4, 1, 5, 1200)
    assert position.size == 15
    assert position.realised == 5 * 1200 - 5_250
    assert perp.accounts[1].balance("USDC").free == 100_000 + 750


def test_flipping_a_position_realises_the_old_side_and_opens_the_new(perp):
    trade(perp, 1, 2, 10, 1000)
    trade(perp, 3, 1, 15, 1100)
    position = perp.accounts[1].positions[M]
    assert (position.size, position.entry, position.realised) == (-5, -5_500, 1_000)


def test_orders_reserve_initial_margin_and_are_refused_beyond_it(perp):
    perp.apply(PlaceOrder(1, M, BUY, 100, price=1000))
    assert perp.accounts[1].balance("USDC").locked == 10_000
    too_big = perp.apply(PlaceOrder(1, M, BUY, 901, price=1000))
    assert too_big[0].reason == Reason.INSUFFICIENT_MARGIN


def test_margin_is_checked_across_the_whole_account(make_engine, configs):
    eth = replace(configs["perp"], market_id="ETH-PERP")
    engine = make_engine(configs["perp"], eth, usdc=100_000)
    engine.apply(OraclePrice(M, 1000, ts=1))
    engine.apply(OraclePrice("ETH-PERP", 1000, ts=1))
    trade(engine, 1, 2, 500, 1000)  # account 1 uses 50,000 of initial margin
    # the loss in BTC eats into what ETH orders may use
    engine.apply(OraclePrice(M, 960, ts=2))
    account = engine.accounts[1]
    assert account.upnl == -20_000
    assert account.margin_available() == 100_000 - 20_000 - 48_000
    refused = engine.apply(PlaceOrder(1, "ETH-PERP", BUY, 330, price=1000))
    assert refused[0].reason == Reason.INSUFFICIENT_MARGIN
    accepted = engine.apply(PlaceOrder(1, "ETH-PERP", BUY, 320, price=1000))
    assert not isinstance(accepted[0], Rejected)
    # and nothing backing margin can be withdrawn
    assert engine.apply(Withdraw(1, "USDC", 1_000, "w"))[0].reason == Reason.INSUFFICIENT_BALANCE


def test_margin_tier_rises_with_notional(perp):
    perp.apply(Deposit(2, "USDC", 10_000_000, "whale"))  # the short can bear the move
    trade(perp, 1, 2, 400, 1000)
    assert perp.accounts[1].im == 40_000
    perp.apply(OraclePrice(M, 3000, ts=2))  # notional 1.2M: second tier, 20%
    assert perp.accounts[1].im == 240_000
    assert perp.accounts[1].mm == 120_000


def test_reduce_only_orders_may_not_increase_a_position(perp):
    assert perp.apply(PlaceOrder(1, M, SELL, 10, price=1000, reduce_only=True))[0].reason == (
        Reason.REDUCE_ONLY_WOULD_INCREASE
    )
    trade(perp, 1, 2, 10, 1000)
    assert perp.apply(PlaceOrder(1, M, BUY, 5, price=1000, reduce_only=True))[0].reason == (
        Reason.REDUCE_ONLY_WOULD_INCREASE
    )
    assert perp.apply(PlaceOrder(1, M, SELL, 11, price=1000, reduce_only=True))[0].reason == (
        Reason.REDUCE_ONLY_WOULD_INCREASE
    )
    accepted = perp.apply(PlaceOrder(1, M, SELL, 10, price=1000, reduce_only=True))
    assert not isinstance(accepted[0], Rejected)


def test_no_trading_before_the_first_mark_price(make_engine, configs):
    engine = make_engine(configs["perp"], usdc=100_000)
    assert engine.apply(PlaceOrder(1, M, BUY, 1, price=1000))[0].reason == Reason.NO_MARK_PRICE


def test_funding_is_paid_by_longs_to_shorts_when_the_book_is_above_the_index(perp):
    trade(perp, 1, 2, 10, 1000)
    perp.apply(PlaceOrder(3, M, BUY, 1, price=1100))
    perp.apply(PlaceOrder(4, M, SELL, 1, price=1200))
    events = perp.apply(AdvanceTime(3_600_000))
    # premium 15% is capped at 0.1% of 10 x 1000
    assert events == [
        FundingPaid(2, M, -10),
        FundingPaid(1, M, 10),
        FundingApplied(M, 1_000, 1000, 10, 10),
    ]
    assert perp.accounts[1].balance("USDC").free == 100_000 - 10
    assert perp.accounts[2].balance("USDC").free == 100_000 + 10
    assert perp.apply(AdvanceTime(3_600_001)) == []


def test_liquidation_closes_into_the_book_and_pays_the_insurance_fund(perp):
    trade(perp, 1, 2, 1000, 1000)
    perp.apply(PlaceOrder(3, M, BUY, 1000, price=930))
    perp.apply(PlaceOrder(1, M, SELL, 1, price=1100, reduce_only=True))  # to be cancelled
    events = perp.apply(OraclePrice(M, 940, ts=2))
    cancelled = [e for e in events if isinstance(e, OrderCancelled)]
    assert cancelled[0].reason == Reason.LIQUIDATION
    liquidated = next(e for e in events if isinstance(e, Liquidated))
    assert (liquidated.equity, liquidated.maintenance) == (40_000, 47_000)
    assert liquidated.fee == 9_400
    assert M not in perp.accounts[1].positions
    assert perp.accounts[1].balance("USDC").free == 100_000 - 70_000 - 9_400
    assert perp.insurance == 9_400


def test_losses_beyond_equity_are_taken_by_the_insurance_fund(perp):
    perp.apply(FundInsurance(100_000, "seed"))
    trade(perp, 1, 2, 1000, 1000)
    perp.apply(PlaceOrder(3, M, BUY, 1000, price=850))
    events = perp.apply(OraclePrice(M, 900, ts=2))
    covered = next(e for e in events if isinstance(e, DeficitCovered))
    assert (covered.account, covered.insurance_used, covered.bad_debt) == (1, 50_000, 0)
    assert perp.accounts[1].balance("USDC").free == 0
    assert perp.insurance == 50_000


def test_without_book_or_fund_the_most_profitable_opposite_positions_are_deleveraged(perp):
    trade(perp, 1, 2, 600, 1000)
    trade(perp, 1, 3, 400, 1000)
    trade(perp, 4, 3, 100, 900)  # account 3 is short 500, less profitable than account 2
    events = perp.apply(OraclePrice(M, 850, ts=2))
    deleveraged = [e for e in events if isinstance(e, Deleveraged)]
    # at 850 account 1 lacks 50,000: the most profitable short (account 2, +90,000 on
    # 600) gives up 84 a contract of it (50,400: whole prices), account 3 closes at mark
    assert [(e.counterparty, e.size, e.price) for e in deleveraged] == [
        (2, 600, 934),
        (3, 400, 850),
    ]
    assert not [e for e in events if isinstance(e, DeficitCovered)]
    assert perp.bad_debt == 0
    assert perp.accounts[1].balance("USDC").free == 400
    assert perp.accounts[2].balance("USDC").free == 100_000 + 600 * (1000 - 934)


@pytest.mark.parametrize("price", [0, -5])
def test_oracle_rejects_non_positive_prices(perp, price):
    assert perp.apply(OraclePrice(M, price))[0].reason == Reason.BAD_PRICE


def test_reduce_only_orders_together_may_not_exceed_the_position(perp):
    trade(perp, 1, 2, 10, 1000)
    perp.apply(PlaceOrder(1, M, SELL, 6, price=1100, reduce_only=True))
    second = perp.apply(PlaceOrder(1, M, SELL, 5, price=1100, reduce_only=True))
    assert second[0].reason == Reason.REDUCE_ONLY_WOULD_INCREASE


def test_resting_reduce_only_orders_are_cancelled_when_the_position_shrinks(perp):
    trade(perp, 1, 2, 10, 1000)
    perp.apply(PlaceOrder(1, M, SELL, 4, price=1100, reduce_only=True))  # order 3
    perp.apply(PlaceOrder(1, M, SELL, 6, price=1100, reduce_only=True))  # order 4
    perp.apply(PlaceOrder(3, M, BUY, 5, price=1000))
    # a plain sale of 5 leaves a long of 5: the newer reduce-only order no longer fits
    events = perp.apply(PlaceOrder(1, M, SELL, 5, price=1000))
    cancelled = [(e.order_id, e.reason) for e in events if isinstance(e, OrderCancelled)]
    assert cancelled == [(4, Reason.REDUCE_ONLY_WOULD_INCREASE)]
    assert list(perp.accounts[1].reduce_only) == [3]


def test_funding_is_paid_by_shorts_when_the_book_is_below_the_index(perp):
    trade(perp, 1, 2, 10, 1000)
    perp.apply(PlaceOrder(3, M, BUY, 1, price=900))
    perp.apply(PlaceOrder(4, M, SELL, 1, price=990))
    events = perp.apply(AdvanceTime(3_600_000))
    assert events == [
        FundingPaid(2, M, 10),
        FundingPaid(1, M, -10),
        FundingApplied(M, -1_000, 1000, 10, 10),
    ]
    assert perp.accounts[2].balance("USDC").free == 100_000 - 10


def test_collateral_backing_positions_cannot_be_transferred_out(perp):
    trade(perp, 1, 2, 900, 1000)  # 90,000 of initial margin
    refused = perp.apply(TransferOut(1, "USDC", 10_001, "t-1", "rg-kyc"))
    assert refused[0].reason == Reason.INSUFFICIENT_BALANCE
    assert perp.apply(TransferOut(1, "USDC", 10_000, "t-2", "rg-kyc"))[0].amount == -10_000
