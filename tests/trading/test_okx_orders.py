"""trade/order answers at commit: sCode 0 means accepted for processing, with the order's
id (the id of the command that placed it) known at once, as OKX answers. What the engine
then does shows in the order's state; an order the engine refuses after the answer shows
as canceled with its reason."""

import pytest

from engine import models as engine_models
from engine import tasks
from engine.services import command_submit, shard_of
from tests.markets.factories import member_create

pytestmark = pytest.mark.django_db

ORDER = "/api/v5/trade/order"
BATCH = "/api/v5/trade/batch-orders"
BUY = {"instId": "BTC-USDC", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "1"}


def funded_member(market):
    """A member holding 10,000 USDC and 10 BTC in the market's engine."""
    trader = member_create(market.risk_group)
    for asset, amount in (("USDC", 10_000 * 10**12), ("BTC", 10 * 10**6)):
        command_submit(
            risk_group=market.risk_group,
            account=trader.pk,
            command={
                "type": "Deposit",
                "asset": asset,
                "amount": amount,
                "external_id": f"{asset}-{trader.pk}",
            },
        )
    apply_all(market)
    return trader


def apply_all(market):
    tasks.shard_process(shard_of(risk_group=market.risk_group).pk)


def order_state(okx, credentials, ord_id):
    answer = okx(credentials, "GET", f"{ORDER}?instId=BTC-USDC&ordId={ord_id}").json()
    assert answer["code"] == "0", answer
    (order,) = answer["data"]
    return order["state"], order["cancelSource"]


def test_an_order_is_answered_at_commit_with_its_id(spot_market, make_api_key, okx) -> None:
    credentials = make_api_key(funded_member(spot_market))

    answer = okx(credentials, "POST", ORDER, {**BUY, "px": "100"}).json()

    # Then the answer is "accepted" with the id before any engine applied the order
    (item,) = answer["data"]
    assert (answer["code"], item["sCode"]) == ("0", "0")
    journaled = engine_models.Command.objects.get(pk=int(item["ordId"]))
    assert (journaled.kind, journaled.seq) == ("PlaceOrder", None)
    # and once applied, the order is found under that id
    apply_all(spot_market)
    assert order_state(okx, credentials, item["ordId"]) == ("live", "")


def test_an_order_the_engine_refuses_after_the_answer_shows_canceled_with_why(
    spot_market, make_api_key, okx
) -> None:
    seller = make_api_key(funded_member(spot_market))
    buyer = make_api_key(funded_member(spot_market))
    okx(seller, "POST", ORDER, {**BUY, "side": "sell", "px": "100"})
    apply_all(spot_market)

    # a post-only buy that would take the resting ask: only the engine knows the book
    answer = okx(buyer, "POST", ORDER, {**BUY, "ordType": "post_only", "px": "100"}).json()
    (item,) = answer["data"]
    assert item["sCode"] == "0"
    apply_all(spot_market)

    assert order_state(okx, buyer, item["ordId"]) == ("canceled", "post_only_would_cross")


@pytest.mark.django_db(transaction=True)  # outside a test's transaction, as a server runs it
def test_a_signed_order_costs_a_few_queries_and_a_batch_no_more_per_order(
    spot_market, make_api_key, okx, django_assert_max_num_queries
) -> None:
    credentials = make_api_key(funded_member(spot_market))
    okx(credentials, "POST", ORDER, {**BUY, "px": "100"})  # the key's passphrase is checked once

    # key and user; live markets' version; membership; market; free balances; the journal row
    with django_assert_max_num_queries(6):
        answer = okx(credentials, "POST", ORDER, {**BUY, "px": "99"}).json()
    assert answer["data"][0]["sCode"] == "0"
    # the same for 20 orders, in one transaction
    with django_assert_max_num_queries(6 + 2):
        batch = okx(credentials, "POST", BATCH, [{**BUY, "px": "98"}] * 20).json()
    assert [item["sCode"] for item in batch["data"]] == ["0"] * 20
