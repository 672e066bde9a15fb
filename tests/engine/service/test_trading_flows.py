"""Trading from the trader's side through the service on PostgreSQL: perps, binary and
categorical prediction markets (mint and merge), amend and cancel, cancel-all."""

from engine import selectors
from tests.engine.service.conftest import BINARY, PERP, WORLD_CUP


def place(desk, account, market, side, size, price, **extra):
    return desk.do(account, "PlaceOrder", market=market, side=side, size=size, price=price, **extra)


def test_perp_trade_opens_positions_with_pnl_margin_and_liquidation_price(desk):
    # Given a perp market with a mark of 1,000 and two funded traders
    desk.list_market(PERP)
    desk.fund(1, 2, amount=2_000)
    assert desk.do(0, "OraclePrice", market="BTC-PERP", price=1_000).result == "applied"
    # When trader 2 sells 10 contracts at 1,000 and trader 1 buys them
    place(desk, 2, "BTC-PERP", "sell", 10, 1_000)
    assert place(desk, 1, "BTC-PERP", "buy", 10, 1_000).result == "filled"
    # and the mark moves up to 1,100
    desk.do(0, "OraclePrice", market="BTC-PERP", price=1_100)
    # Then the long has a position at entry 1,000 with 1,000 of unrealised profit
    (long,) = selectors.positions_of(shard=desk.shard, account=1)
    assert (long.size, long.entry_price, long.mark) == (10, 1_000, 1_100)
    assert long.unrealised_pnl == 1_000
    assert (long.initial_margin, long.maintenance_margin) == (1_100, 550)
    # liquidated when equity 2,000 + 10 * (m - 1,000) falls to 5% of 10 * m: m = 842.1
    assert long.liquidation_price == 843
    (short,) = selectors.positions_of(shard=desk.shard, account=2)
    assert short.size == -10 and short.unrealised_pnl == -1_000
    # and the short when 2,000 - 10 * (m - 1,000) = 0.5 m: m = 1,142.8
    assert short.liquidation_price == 1_142


def test_binary_buyers_of_yes_and_no_mint_sets_and_a_holder_of_both_merges(desk):
    desk.list_market(BINARY)
    desk.fund(1, 2, 3, amount=100_000)
    # Given a YES buyer at 40 and a NO buyer at 60: they mint 10 complete sets
    place(desk, 1, "RAIN", "buy", 10, 40, outcome="yes")
    assert place(desk, 2, "RAIN", "buy", 10, 60, outcome="no").result == "filled"
    holdings = {h.account: h for h in models_holdings(desk)}
    assert (holdings[1].yes, holdings[2].no) == (10, 10)
    # When trader 3 bids YES at 30 and trader 1 buys NO at 70 against it
    place(desk, 3, "RAIN", "buy", 10, 30, outcome="yes")
    assert place(desk, 1, "RAIN", "buy", 10, 70, outcome="no").result == "filled"
    # Then trader 1's YES and NO merged back into collateral
    assert not list(selectors.holdings_of(shard=desk.shard, account=1))
    (usdc,) = selectors.balances_of(shard=desk.shard, account=1)
    assert usdc.free == 100_000 - 400 - 700 + 1_000


def models_holdings(desk):
    return [h for a in (1, 2, 3) for h in selectors.holdings_of(shard=desk.shard, account=a)]


def test_categorical_market_trades_each_outcome_and_refuses_the_parent(desk):
    desk.list_market(WORLD_CUP)
    desk.fund(1, 2, amount=100_000)
    markets = {m.market_id: m.status for m in selectors.markets_of(shard=desk.shard)}
    assert markets == {"WC26": "live", "WC26:ARG": "live", "WC26:BRA": "live", "WC26:FRA": "live"}
    place(desk, 1, "WC26:BRA", "buy", 5, 200, outcome="yes")
    assert place(desk, 2, "WC26:BRA", "buy", 5, 800, outcome="no").result == "filled"
    (holding,) = selectors.holdings_of(shard=desk.shard, account=1)
    assert (holding.market_id, holding.yes) == ("WC26:BRA", 5)


def test_amend_and_cancel_and_cancel_all(spot_desk):
    first = place(spot_desk, 1, "BTC-USDC", "buy", 100, 900, client_order_id="a")
    place(spot_desk, 1, "BTC-USDC", "buy", 100, 800)
    amended = spot_desk.do(1, "AmendOrder", order_id=first.order_id, size=50)
    assert amended.result == "applied"
    order = selectors.order_by_command(command_id=first.command_id)
    assert (order.order_id, order.remaining, order.status) == (first.order_id, 50, "open")
    assert spot_desk.do(1, "CancelOrder", client_order_id="a").result == "applied"
    order.refresh_from_db()
    assert (order.status, order.reason) == ("cancelled", "cancelled_by_trader")
    spot_desk.do(1, "CancelAll", market="BTC-USDC")
    assert not selectors.orders_of(shard=spot_desk.shard, account=1, open_only=True).exists()
    (usdc,) = [
        b for b in selectors.balances_of(shard=spot_desk.shard, account=1) if b.asset == "USDC"
    ]
    assert usdc.locked == 0


def test_an_amended_order_shows_its_new_size_with_what_had_filled(spot_desk):
    # Given trader 1's sell of 100 of which trader 2 bought 30
    sell = place(spot_desk, 1, "BTC-USDC", "sell", 100, 900)
    assert place(spot_desk, 2, "BTC-USDC", "buy", 30, 900).result == "filled"
    # When trader 1 amends what is left down to 50
    assert spot_desk.do(1, "AmendOrder", order_id=sell.order_id, size=50).result == "applied"
    # Then their order is of 80: the 30 filled and the 50 left
    order = selectors.order_by_command(command_id=sell.command_id)
    assert (order.size, order.filled, order.remaining, order.status) == (80, 30, 50, "open")
    # and a later fill takes from the 50
    assert place(spot_desk, 3, "BTC-USDC", "buy", 20, 900).result == "filled"
    order.refresh_from_db()
    assert (order.size, order.filled, order.remaining) == (80, 50, 30)


def test_an_order_placed_filled_and_amended_in_one_batch_shows_its_new_size(spot_desk):
    # Given a sell, buys that take 30 and 10 of it and two amends, applied in one batch
    sell = spot_desk.submit(1, "PlaceOrder", market="BTC-USDC", side="sell", size=100, price=900)
    spot_desk.submit(2, "PlaceOrder", market="BTC-USDC", side="buy", size=30, price=900)
    spot_desk.submit(1, "AmendOrder", order_id=sell.order_id, size=40)
    spot_desk.submit(3, "PlaceOrder", market="BTC-USDC", side="buy", size=10, price=900)
    spot_desk.submit(1, "AmendOrder", order_id=sell.order_id, size=20)
    spot_desk.process()
    # Then the order is of what had filled when last amended and what it was left with
    order = selectors.order_by_command(command_id=sell.command_id)
    assert order.order_id == sell.order_id
    assert (order.size, order.filled, order.remaining) == (60, 40, 20)


def test_the_engine_rejection_reason_reaches_the_trader(spot_desk):
    # a buy of 10,000 BTC at 10,000 is far beyond trader 1's 10,000,000 USDC
    receipt = place(spot_desk, 1, "BTC-USDC", "buy", 10_000, 10_000)
    assert (receipt.result, receipt.reason) == ("rejected", "insufficient_balance")
    order = selectors.order_by_command(command_id=receipt.command_id)
    assert (order.status, order.reason) == ("rejected", "insufficient_balance")
