"""The real, unmodified ccxt `okx` class pointed at the production ASGI server (its order
fast path included) trades here: it
loads the three kinds of market, reads books, tickers and balances, places, amends,
lists and cancels orders, sends a batch of 20, trades against a second key and sees the
fills on both sides, opens a perp position, and gets its own exception classes for the
refusals. A real engine worker (Celery, on the test database) applies the commands."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest

from tests.trading.fixtures import PASSPHRASE
from trading.okx.trade import BatchOrdersView
from trading.services import api_key_create

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def client_of(server: str, user, *, secret: str | None = None) -> ccxt.okx:
    api_key, real_secret = api_key_create(
        user=user, name="ccxt", passphrase=PASSPHRASE, scopes=("read", "trade")
    )
    exchange = ccxt.okx(
        {"apiKey": api_key.key, "secret": secret or real_secret, "password": PASSPHRASE}
    )
    exchange.urls["api"]["rest"] = server
    exchange.enableRateLimit = False
    return exchange


def test_ccxt_okx_trades_here(trading_venue, asgi_server, monkeypatch) -> None:
    group, shard, alice, bob = trading_venue
    maker = client_of(asgi_server, alice)
    taker = client_of(asgi_server, bob)

    markets = maker.load_markets()

    assert markets["BTC/USDC"]["spot"] and markets["BTC/USDC"]["precision"]["price"] == 0.01
    assert markets["ETH/USDC:USDC"]["swap"] and markets["ETH/USDC:USDC"]["contractSize"] == 0.001
    assert {"WC26-WINNER.ARGENTINA/USDC", "WC26-WINNER.BRAZIL/USDC"} <= set(markets)
    assert maker.fetch_balance()["USDC"]["free"] == 1_000_000

    # a resting order, amended, listed, cancelled
    order = maker.create_order("BTC/USDC", "limit", "buy", 0.5, 100)
    assert order["id"]
    maker.edit_order(order["id"], "BTC/USDC", "limit", "buy", 0.4, 101)
    (resting,) = maker.fetch_open_orders("BTC/USDC")
    assert (resting["id"], resting["price"], resting["amount"]) == (order["id"], 101, 0.4)
    book = maker.fetch_order_book("BTC/USDC")
    assert book["bids"][0][:2] == [101, 0.4]
    maker.cancel_order(order["id"], "BTC/USDC")
    assert maker.fetch_open_orders("BTC/USDC") == []

    # twenty orders in one batch
    batch = maker.create_orders(
        [
            {
                "symbol": "BTC/USDC",
                "type": "limit",
                "side": "sell",
                "amount": 0.01,
                "price": 200 + i,
            }
            for i in range(20)
        ]
    )
    assert len(batch) == 20 and all(o["id"] for o in batch)
    assert len(maker.fetch_open_orders("BTC/USDC")) == 20

    # a trade against the second key: fills on both sides with the right fee
    taker.create_order("BTC/USDC", "limit", "buy", 0.01, 200)
    (taker_fill,) = taker.fetch_my_trades("BTC/USDC")
    (maker_fill,) = maker.fetch_my_trades("BTC/USDC")
    assert (taker_fill["side"], taker_fill["price"], taker_fill["amount"]) == ("buy", 200, 0.01)
    assert taker_fill["takerOrMaker"] == "taker" and maker_fill["takerOrMaker"] == "maker"
    # 2 USDC traded: taker pays 5 bps, maker 2 bps
    assert Decimal(str(taker_fill["fee"]["cost"])) == Decimal("0.001")
    assert Decimal(str(maker_fill["fee"]["cost"])) == Decimal("0.0004")
    ticker = taker.fetch_ticker("BTC/USDC")
    assert ticker["last"] == 200 and ticker["ask"] == 201

    # a perp position at the oracle's mark
    assert taker.fetch_mark_price("ETH/USDC:USDC")["markPrice"] == 2000
    maker.create_order("ETH/USDC:USDC", "limit", "sell", 10, 2000)
    taker.create_order("ETH/USDC:USDC", "limit", "buy", 10, 2000)
    (position,) = taker.fetch_positions(["ETH/USDC:USDC"])
    funding = taker.fetch_funding_rate("ETH/USDC:USDC")
    assert funding["fundingRate"] == 0 and funding["fundingTimestamp"] % 3_600_000 == 0
    assert (position["side"], position["contracts"], position["entryPrice"]) == ("long", 10, 2000)

    # an outcome's YES share as a spot pair: selling shares one does not hold buys NO at 1 - p
    argentina = "WC26-WINNER.ARGENTINA/USDC"
    maker.create_order(argentina, "limit", "sell", 10, 0.3)
    taker.create_order(argentina, "limit", "buy", 10, 0.3)
    assert taker.fetch_balance()["WC26-WINNER.ARGENTINA"]["total"] == 10
    assert maker.fetch_balance()["WC26-WINNER.ARGENTINA.NO"]["total"] == 10
    assert taker.fetch_ticker(argentina)["last"] == 0.3

    # ccxt's own exceptions
    with pytest.raises(ccxt.OrderNotFound):
        maker.fetch_order("999999", "BTC/USDC")
    with pytest.raises(ccxt.InsufficientFunds):
        maker.create_order("BTC/USDC", "limit", "buy", 100_000, 199)
    with pytest.raises(ccxt.InvalidOrder):
        maker.private_post_trade_order(
            {
                "instId": "BTC-USDC",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "limit",
                "sz": "0.01",
                "px": "199.005",
            }
        )
    with pytest.raises(ccxt.AuthenticationError):
        client_of(asgi_server, alice, secret="0" * 32).fetch_balance()
    # ccxt places single orders through trade/batch-orders, limited by order count
    monkeypatch.setattr(BatchOrdersView, "rate_limit", (1, 60.0))
    maker.create_order("BTC/USDC", "limit", "buy", 0.01, 190)
    with pytest.raises(ccxt.RateLimitExceeded):
        maker.create_order("BTC/USDC", "limit", "buy", 0.01, 191)
