"""The PriceFeed through its Python API: the operator pushes, anyone reads the latest; an
older price or a stranger's push is refused by the contract."""

from decimal import Decimal

import pytest
from eth_account import Account

from engine.chain.operator import ChainTransactionFailed, contract_at
from engine.chain.price_feed import PriceNotPushable, price_feed_latest, price_feed_push
from engine.chain.provider import chain_web3


def test_a_pushed_price_is_the_latest_and_an_older_one_is_refused(deployment):
    assert price_feed_latest(feed="BTC-USDT") is None

    price_feed_push(feed="BTC-USDT", price=Decimal("64123.12345678"), timestamp_ms=2_000)
    price_feed_push(feed="BTC-USDT", price=Decimal("64200"), timestamp_ms=3_000)

    latest = price_feed_latest(feed="BTC-USDT")
    assert latest is not None
    assert (latest.price, latest.timestamp_ms, latest.round) == (Decimal("64200"), 3_000, 2)
    assert latest.signer == deployment.operator
    with pytest.raises(ChainTransactionFailed, match="not newer"):
        price_feed_push(feed="BTC-USDT", price=Decimal("1"), timestamp_ms=2_500)
    assert price_feed_latest(feed="BTC-USDT").price == Decimal("64200")


@pytest.mark.parametrize("price", [Decimal("0"), Decimal("-1"), Decimal("0.000000001")])
def test_a_price_the_feed_cannot_hold_exactly_is_refused(deployment, price):
    with pytest.raises(PriceNotPushable, match="price"):
        price_feed_push(feed="ETH-USDT", price=price, timestamp_ms=1_000)


def test_only_a_signer_pushes(deployment):
    w3 = chain_web3()
    stranger = Account.create()
    w3.eth.send_transaction({"from": w3.eth.accounts[1], "to": stranger.address, "value": 10**18})
    feed = contract_at("PriceFeed", deployment.price_feed)
    tx = feed.functions.push("BTC-USDT", 1, 1).build_transaction(
        {"from": stranger.address, "nonce": 0, "gas": 200_000}
    )
    tx_hash = w3.eth.send_raw_transaction(stranger.sign_transaction(tx).raw_transaction)

    assert w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 0
    assert feed.functions.latest("BTC-USDT").call()[3] == 0
