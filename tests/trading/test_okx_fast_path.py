"""The order fast path (trading.okx.fast_path): the production ASGI server answers OKX's
order and cancel endpoints outside Django's request cycle for the common case, with the
same answer and the same journal row as Django's views, and leaves everything else to
them: every refusal, and every order sent after a change that its memory does not hold yet
(a key revoked, a membership revoked, a market halted) is refused as Django refuses it,
with nothing journaled."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection as django_connection
from django.db import transaction

import xip_portal.asgi
from engine import models as engine_models
from engine.codec import json_text
from engine.services import command_checked, command_submit
from governance.memberships.models import Membership
from governance.memberships.services import membership_revoke
from markets.models import Market
from markets.services import market_status_change
from tests.engine.service.test_client_order_id_once import racing
from tests.engine.service.test_worker import wait_until_applied
from tests.markets.factories import member_create
from tests.trading.fixtures import Credentials, okx_headers
from trading.models import ApiKey, OrderGate
from trading.okx import fast_path
from trading.okx.instruments import instruments_by_id
from trading.okx.trade import CancelBatchOrdersView, CancelOrderView, place_command
from trading.services import api_key_revoke
from xip_portal.models import StaffRole

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ORDER = "/api/v5/trade/order"
BATCH = "/api/v5/trade/batch-orders"
CANCEL = "/api/v5/trade/cancel-order"
CANCEL_BATCH = "/api/v5/trade/cancel-batch-orders"
BUY = {"instId": "BTC-USDC", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "1"}


@pytest.fixture
def django_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths of the requests the server handed to Django."""
    seen: list[str] = []
    wrapper = xip_portal.asgi.application
    while not isinstance(wrapper, fast_path.OrderFastPath):
        wrapper = wrapper.app
    django_app = wrapper.app

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(scope["path"])
        await django_app(scope, receive, send)

    monkeypatch.setattr(wrapper, "app", counting)
    yield seen


def post(server: str, credentials: Credentials, path: str, body: Any) -> dict[str, Any]:
    text = json.dumps(body)
    headers = {
        name.removeprefix("HTTP_").replace("_", "-"): value
        for name, value in okx_headers(credentials, "POST", path, text).items()
    }
    request = urllib.request.Request(  # noqa: S310 - the test server's http URL
        server + path,
        data=text.encode(),
        headers={**headers, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the test server
            return dict(json.loads(answer.read()), status=answer.status)
    except urllib.error.HTTPError as refused:
        return dict(json.loads(refused.read()), status=refused.code)


def journaled(shard: Any, account: int, kind: str = "PlaceOrder") -> list[dict[str, Any]]:
    return list(
        engine_models.Command.objects.filter(shard=shard, account=account, kind=kind)
        .order_by("id")
        .values_list("payload", flat=True)
    )


def placed(server: str, credentials: Credentials, client_order_id: str) -> str:
    """A resting bid's ordId (answered at commit, through the fast path)."""
    answer = post(server, credentials, ORDER, {**BUY, "px": "100", "clOrdId": client_order_id})
    assert answer["code"] == "0"
    return str(answer["data"][0]["ordId"])


def status_of(shard: Any, order_id: str) -> str:
    return engine_models.Order.objects.get(shard=shard, order_id=int(order_id)).status


def without_time(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name != "ts"}


@pytest.fixture
def trader(trading_venue: Any, make_api_key: Any) -> tuple[Any, Any, Credentials]:
    group, shard, alice, _ = trading_venue
    return shard, alice, make_api_key(alice)


def test_an_order_takes_the_fast_path_and_journals_what_django_journals(
    trader: Any, asgi_server: str, django_requests: list[str], okx: Any
) -> None:
    shard, alice, credentials = trader
    order = {**BUY, "px": "100", "clOrdId": "fast1"}

    first = post(asgi_server, credentials, ORDER, order)  # loads the key: Django unused
    second = post(asgi_server, credentials, ORDER, {**order, "clOrdId": "fast2"})
    assert django_requests == []
    # Django's view, through the test client, for the same order
    third = okx(credentials, "POST", ORDER, {**order, "clOrdId": "slow3"}).json()

    for answer in (first, second, third):
        (item,) = answer["data"]
        assert (answer["code"], item["sCode"], item["sMsg"]) == ("0", "0", "Order accepted")
        assert item["ordId"]
    fast, _, slow = journaled(shard, alice.pk)
    assert {**fast, "client_order_id": "slow3"} == slow
    assert [first["data"][0]["clOrdId"], third["data"][0]["clOrdId"]] == ["fast1", "slow3"]


def test_a_batch_is_journaled_in_order_with_one_answer_per_order(
    trader: Any, asgi_server: str, django_requests: list[str]
) -> None:
    shard, alice, credentials = trader
    orders = [{**BUY, "px": f"{90 + i}", "clOrdId": f"b{i}"} for i in range(20)]

    answer = post(asgi_server, credentials, BATCH, orders)

    assert (answer["status"], answer["code"]) == (200, "0")
    assert django_requests == []
    ids = [int(item["ordId"]) for item in answer["data"]]
    assert ids == sorted(ids)
    assert [item["clOrdId"] for item in answer["data"]] == [f"b{i}" for i in range(20)]
    prices = [p["price"] for p in journaled(shard, alice.pk)]
    assert prices == sorted(prices) and len(prices) == 20


def test_refusals_come_from_django_and_journal_nothing(
    trader: Any, asgi_server: str, django_requests: list[str]
) -> None:
    shard, alice, credentials = trader
    post(asgi_server, credentials, ORDER, {**BUY, "px": "100", "clOrdId": "open1"})

    duplicate = post(asgi_server, credentials, ORDER, {**BUY, "px": "99", "clOrdId": "open1"})
    off_tick = post(asgi_server, credentials, ORDER, {**BUY, "px": "100.001"})
    forged = Credentials(credentials.api_key, "0" * 32)
    bad_signature = post(asgi_server, forged, ORDER, {**BUY, "px": "100"})

    assert duplicate["data"][0]["sCode"] == "51016"  # clOrdId already open
    assert off_tick["data"][0]["sCode"] == "51006"  # not a multiple of the tick
    assert (bad_signature["status"], bad_signature["code"]) == (401, "50113")
    assert django_requests == [ORDER, ORDER, ORDER]
    assert len(journaled(shard, alice.pk)) == 1


def test_a_revoked_key_is_refused_at_once(
    trader: Any, asgi_server: str, django_requests: list[str]
) -> None:
    shard, alice, credentials = trader
    assert post(asgi_server, credentials, ORDER, {**BUY, "px": "100"})["code"] == "0"

    api_key_revoke(user=alice, key=credentials.key)
    answer = post(asgi_server, credentials, ORDER, {**BUY, "px": "100"})

    assert (answer["status"], answer["code"]) == (401, "50111")
    assert len(journaled(shard, alice.pk)) == 1


def test_a_revoked_membership_is_refused_at_once(
    trading_venue: Any, trader: Any, asgi_server: str, make_staff: Any
) -> None:
    group = trading_venue[0]
    shard, alice, credentials = trader
    assert post(asgi_server, credentials, ORDER, {**BUY, "px": "100"})["code"] == "0"

    admin = make_staff(StaffRole.RISK_GROUP_OPERATOR, group)
    membership = Membership.objects.get(user=alice, risk_group=group)
    membership_revoke(actor=admin, membership=membership, reason="sanctions screening hit")
    answer = post(asgi_server, credentials, ORDER, {**BUY, "px": "100"})

    (item,) = answer["data"]
    assert (answer["code"], item["sCode"]) == ("1", "51009")  # membership revoked
    assert len(journaled(shard, alice.pk)) == 1


def test_a_halted_market_is_refused_at_once(
    trading_venue: Any, trader: Any, asgi_server: str, make_staff: Any
) -> None:
    group = trading_venue[0]
    shard, alice, credentials = trader
    assert post(asgi_server, credentials, ORDER, {**BUY, "px": "100"})["code"] == "0"

    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, group)
    market = Market.objects.get(symbol="BTC-USDC")
    market_status_change(actor=operator, market=market, move="halt", reason="incident")
    answer = post(asgi_server, credentials, ORDER, {**BUY, "px": "100"})

    (item,) = answer["data"]
    assert (answer["code"], item["sCode"]) == ("1", "51022")  # market not live
    assert len(journaled(shard, alice.pk)) == 1


def test_an_order_the_balance_may_not_cover_waits_for_the_engine(
    trader: Any, asgi_server: str, django_requests: list[str]
) -> None:
    shard, alice, credentials = trader
    post(asgi_server, credentials, ORDER, {**BUY, "px": "100"})  # the key and group loaded

    # 1,000,000 USDC held: 20,000 BTC at 100 is twice that
    answer = post(asgi_server, credentials, ORDER, {**BUY, "sz": "20000", "px": "100"})

    assert django_requests == []
    (item,) = answer["data"]
    assert (answer["code"], item["sCode"]) == ("1", "51008")  # insufficient balance


def test_the_gate_moves_with_what_the_fast_path_holds_and_not_with_trading(
    trading_venue: Any, make_api_key: Any
) -> None:
    group, shard, alice, bob = trading_venue

    def version() -> int:
        return OrderGate.objects.get(pk=1).version

    OrderGate.objects.get_or_create(pk=1)  # the test database was emptied since migrating

    before = version()
    credentials = make_api_key(bob)
    made = version()
    ApiKey.objects.filter(pk=credentials.api_key.pk).update(last_used_at="2026-12-01T00:00Z")
    engine_models.MarketView.objects.filter(shard=shard).update(mark=123, last_price=122)
    command_submit(
        risk_group=group,
        account=bob.pk,
        command={
            "type": "PlaceOrder",
            "market": "BTC-USDC",
            "side": "buy",
            "size": 1000,
            "price": 100_000_000,
            "order_type": "limit",
            "tif": "gtc",
        },
    )
    untouched = version()
    api_key_revoke(user=bob, key=credentials.key)
    revoked = version()
    member_create(group)
    joined = version()

    assert before < made == untouched < revoked < joined


def test_concurrent_orders_commit_together_each_with_its_own_checks(
    trader: Any, asgi_server: str, django_requests: list[str]
) -> None:
    shard, alice, credentials = trader
    post(asgi_server, credentials, ORDER, {**BUY, "px": "100"})  # the key and group loaded
    orders = [{**BUY, "px": f"{80 + i}", "clOrdId": f"c{i}"} for i in range(16)]
    orders += [{**BUY, "px": "70", "clOrdId": "twice"}] * 4

    with ThreadPoolExecutor(len(orders)) as pool:
        answers = list(pool.map(lambda order: post(asgi_server, credentials, ORDER, order), orders))

    accepted = [a["data"][0] for a in answers if a["code"] == "0"]
    refused = [a["data"][0]["sCode"] for a in answers if a["code"] != "0"]
    # every distinct order once; of the four with one clOrdId, one is open, three refused
    assert len(accepted) == 17 and refused == ["51016"] * 3
    assert len({item["ordId"] for item in accepted}) == 17
    client_ids = [p.get("client_order_id") for p in journaled(shard, alice.pk)]
    assert sorted(filter(None, client_ids)) == sorted([f"c{i}" for i in range(16)] + ["twice"])


def test_one_group_commit_at_a_time_however_the_requests_arrive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    in_flight, most = 0, 0

    async def group_commit(group: list[Any]) -> list[tuple[Any, ...]]:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return [(1, [], None)] * len(group)

    monkeypatch.setattr(fast_path, "_group_commit", group_commit)

    async def requests() -> None:
        # two requests before the commit starts, then one while it is under way
        first = asyncio.gather(*(fast_path._journal("sql", {"shard": 1}) for _ in range(2)))
        await asyncio.sleep(0.01)
        await asyncio.gather(first, fast_path._journal("sql", {"shard": 1}))

    # on a loop of its own, in a thread: a browser test may have left one running here
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, requests()).result()

    assert most == 1


def test_a_cancel_by_ordid_or_clordid_takes_the_fast_path_with_djangos_answer(
    trader: Any, asgi_server: str, django_requests: list[str], okx: Any
) -> None:
    shard, alice, credentials = trader
    ids = {name: placed(asgi_server, credentials, name) for name in ("k1", "k2", "k3", "k4")}
    wait_until_applied(shard)

    by_id = post(asgi_server, credentials, CANCEL, {"instId": "BTC-USDC", "ordId": ids["k1"]})
    by_client_id = post(asgi_server, credentials, CANCEL, {"instId": "BTC-USDC", "clOrdId": "k2"})
    assert django_requests == []
    # Django's view, through the test client, for the same cancels
    slow_by_id = okx(credentials, "POST", CANCEL, {"instId": "BTC-USDC", "ordId": ids["k3"]})
    slow_by_client_id = okx(credentials, "POST", CANCEL, {"instId": "BTC-USDC", "clOrdId": "k4"})

    for fast, slow, name in ((by_id, slow_by_id, "k3"), (by_client_id, slow_by_client_id, "k4")):
        assert (fast.pop("status"), slow.status_code) == (200, 200)
        slow_body = slow.json()
        (slow_item,) = slow_body["data"]
        assert slow_item["ordId"] == ids[name]
        (fast_item,) = fast["data"]
        renamed = {"ordId": ids[name], "clOrdId": slow_item["clOrdId"]}
        assert {**fast, "data": [without_time({**fast_item, **renamed})]} == {
            **slow_body,
            "data": [without_time(slow_item)],
        }
        assert (fast["code"], fast_item["sCode"], fast_item["sMsg"]) == (
            "0",
            "0",
            "Order cancelled",
        )
    assert (by_id["data"][0]["ordId"], by_client_id["data"][0]["ordId"]) == (ids["k1"], ids["k2"])
    assert by_client_id["data"][0]["clOrdId"] == "k2"
    # the same journal rows, and every order cancelled once the answer came
    payloads = journaled(shard, alice.pk, "CancelOrder")
    assert [p["order_id"] for p in payloads] == [
        int(ids[name]) for name in ("k1", "k2", "k3", "k4")
    ]
    assert {json.dumps({**p, "order_id": 0}, sort_keys=True) for p in payloads} == {
        json.dumps({"type": "CancelOrder", "account": alice.pk, "order_id": 0}, sort_keys=True)
    }
    assert [status_of(shard, order_id) for order_id in ids.values()] == ["cancelled"] * 4


def test_a_cancel_applied_before_its_answer_listens_is_answered_from_the_journal(
    trader: Any, asgi_server: str, django_requests: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load the engine may apply a cancellation before its answer subscribes to the
    outcome's channel: the answer then reads the outcome from the journal."""
    shard, _, credentials = trader
    order_id = placed(asgi_server, credentials, "late")
    wait_until_applied(shard)
    listen = fast_path.wait_async

    async def once_applied(ids: list[int], timeout: float, fetch: Any) -> dict[int, Any]:
        await asyncio.to_thread(wait_until_applied, shard)
        return await listen(ids, timeout, fetch)

    monkeypatch.setattr(fast_path, "wait_async", once_applied)
    answer = post(asgi_server, credentials, CANCEL, {"instId": "BTC-USDC", "ordId": order_id})

    assert django_requests == []
    assert (answer["status"], answer["code"]) == (200, "0")
    (item,) = answer["data"]
    assert (item["ordId"], item["sCode"], item["sMsg"]) == (order_id, "0", "Order cancelled")
    assert status_of(shard, order_id) == "cancelled"


def test_a_cancel_of_an_order_not_the_users_or_unknown_is_djangos_51603(
    trading_venue: Any, trader: Any, asgi_server: str, django_requests: list[str], make_api_key: Any
) -> None:
    shard, alice, credentials = trader
    bob = trading_venue[3]
    bobs = placed(asgi_server, make_api_key(bob), "bobs")
    hers = placed(asgi_server, credentials, "hers")
    wait_until_applied(shard)
    django_requests.clear()

    answers = [
        post(asgi_server, credentials, CANCEL, order)
        for order in (
            {"instId": "BTC-USDC", "ordId": bobs},  # another trader's
            {"instId": "BTC-USDC", "clOrdId": "bobs"},
            {"instId": "BTC-USDC", "ordId": "999999999"},  # nobody's
            {"instId": "ETH-USDC-SWAP", "ordId": hers},  # hers, in another market
        )
    ]

    for answer in answers:
        (item,) = answer["data"]
        assert (answer["status"], answer["code"], item["sCode"]) == (200, "1", "51603")
    assert django_requests == [CANCEL] * 4
    assert not engine_models.Command.objects.filter(kind="CancelOrder").exists()
    assert (status_of(shard, bobs), status_of(shard, hers)) == ("open", "open")


def test_a_cancel_of_the_users_order_filled_or_cancelled_is_51603_as_djangos(
    trader: Any, asgi_server: str, django_requests: list[str], okx: Any
) -> None:
    """A market maker's quote may be taken before its cancel arrives: the cancel names an
    order of the user that is no longer open. The fast path journals it, as Django's view
    does, and answers the engine's refusal (51603) as Django's view answers it."""
    shard, alice, credentials = trader
    ids = [placed(asgi_server, credentials, name) for name in ("gone1", "gone2")]
    for order_id in ids:
        post(asgi_server, credentials, CANCEL, {"instId": "BTC-USDC", "ordId": order_id})
    wait_until_applied(shard)
    assert [status_of(shard, order_id) for order_id in ids] == ["cancelled"] * 2
    django_requests.clear()

    fast = post(asgi_server, credentials, CANCEL, {"instId": "BTC-USDC", "ordId": ids[0]})
    slow = okx(credentials, "POST", CANCEL, {"instId": "BTC-USDC", "ordId": ids[1]})

    assert django_requests == []
    assert (fast.pop("status"), slow.status_code) == (200, 200)
    (fast_item,) = fast["data"]
    (slow_item,) = slow.json()["data"]
    assert (fast["code"], fast_item["sCode"]) == ("1", "51603")
    assert {**fast, "data": [without_time({**fast_item, "ordId": ids[1]})]} == {
        **slow.json(),
        "data": [without_time(slow_item)],
    }
    assert len(journaled(shard, alice.pk, "CancelOrder")) == 4


def test_a_read_only_key_may_not_cancel(
    trader: Any, asgi_server: str, django_requests: list[str], make_api_key: Any
) -> None:
    shard, alice, credentials = trader
    order_id = placed(asgi_server, credentials, "kept")
    reader = make_api_key(alice, scopes=("read",))

    answer = post(asgi_server, reader, CANCEL, {"instId": "BTC-USDC", "ordId": order_id})

    assert answer["status"] in (401, 403) and answer["code"] != "0"
    assert django_requests == [CANCEL]
    assert not engine_models.Command.objects.filter(kind="CancelOrder").exists()
    wait_until_applied(shard)
    assert status_of(shard, order_id) == "open"


def test_a_cancel_batch_takes_the_fast_path_unless_an_order_is_not_found(
    trader: Any, asgi_server: str, django_requests: list[str]
) -> None:
    shard, alice, credentials = trader
    ids = [placed(asgi_server, credentials, f"b{i}") for i in range(5)]

    answer = post(
        asgi_server,
        credentials,
        CANCEL_BATCH,
        [
            {"instId": "BTC-USDC", "ordId": ids[0]},
            {"instId": "BTC-USDC", "clOrdId": "b1"},
            {"instId": "BTC-USDC", "ordId": ids[2]},
        ],
    )
    assert django_requests == []
    assert (answer["status"], answer["code"]) == (200, "0")
    assert [(item["ordId"], item["sMsg"]) for item in answer["data"]] == [
        (order_id, "Order cancelled") for order_id in ids[:3]
    ]
    assert [item["clOrdId"] for item in answer["data"]] == ["", "b1", ""]

    # one order not found: Django answers the whole batch, one item each
    partly = post(
        asgi_server,
        credentials,
        CANCEL_BATCH,
        [{"instId": "BTC-USDC", "ordId": ids[3]}, {"instId": "BTC-USDC", "clOrdId": "none"}],
    )
    assert django_requests == [CANCEL_BATCH]
    assert partly["code"] == "2"  # partly done
    assert [item["sCode"] for item in partly["data"]] == ["0", "51603"]
    assert [status_of(shard, order_id) for order_id in ids] == ["cancelled"] * 4 + ["open"]
    assert len(journaled(shard, alice.pk, "CancelOrder")) == 4


def test_an_order_placed_and_not_applied_yet_is_cancelled(
    trader: Any, asgi_server: str, django_requests: list[str]
) -> None:
    shard, alice, credentials = trader
    placed(asgi_server, credentials, "warm")  # the key and group loaded
    wait_until_applied(shard)
    with ThreadPoolExecutor(1) as pool:
        with transaction.atomic():
            # the writer may apply orders but not commit them while the shard's row is held
            engine_models.Shard.objects.select_for_update(no_key=True).get(pk=shard.pk)
            order_id = placed(asgi_server, credentials, "young")
            cancelling = pool.submit(
                post, asgi_server, credentials, CANCEL, {"instId": "BTC-USDC", "clOrdId": "young"}
            )
            while not journaled(shard, alice.pk, "CancelOrder"):
                assert not cancelling.done(), cancelling.result()
            pending = engine_models.Command.objects.filter(seq__isnull=True)
            assert set(pending.values_list("id", flat=True)) >= {int(order_id)}
        answer = cancelling.result()

    assert django_requests == []
    (item,) = answer["data"]
    assert (answer["code"], item["ordId"], item["sMsg"]) == ("0", order_id, "Order cancelled")
    assert status_of(shard, order_id) == "cancelled"


def test_cancels_count_against_okx_limits_as_the_views_count_them(
    trader: Any, asgi_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shard, alice, credentials = trader
    ids = [placed(asgi_server, credentials, f"r{i}") for i in range(5)]
    monkeypatch.setattr(CancelOrderView, "rate_limit", (1, 60.0))
    monkeypatch.setattr(CancelBatchOrdersView, "rate_limit", (2, 60.0))

    single = [
        post(asgi_server, credentials, CANCEL, {"instId": "BTC-USDC", "ordId": order_id})
        for order_id in ids[:2]
    ]
    batches = [
        post(
            asgi_server,
            credentials,
            CANCEL_BATCH,
            [{"instId": "BTC-USDC", "ordId": i} for i in part],
        )
        for part in (ids[2:4], ids[4:])
    ]

    refusals = [(a["status"], a["code"]) for a in single + batches]
    assert refusals == [(200, "0"), (429, "50011"), (200, "0"), (429, "50011")]
    wait_until_applied(shard)
    statuses = [status_of(shard, order_id) for order_id in ids]
    assert statuses == ["cancelled", "open", "cancelled", "cancelled", "open"]


def test_a_request_the_fast_path_hands_to_django_is_counted_once(
    trader: Any, asgi_server: str, django_requests: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shard, alice, credentials = trader
    hers = placed(asgi_server, credentials, "hers")
    wait_until_applied(shard)
    monkeypatch.setattr(CancelOrderView, "rate_limit", (2, 60.0))
    django_requests.clear()

    # a cancel of nobody's order: counted by the fast path, answered by Django
    nobodys = post(asgi_server, credentials, CANCEL, {"instId": "BTC-USDC", "ordId": "999999999"})
    # then her own order's cancel is the second of two, and a third is one too many
    own = post(asgi_server, credentials, CANCEL, {"instId": "BTC-USDC", "ordId": hers})
    again = post(asgi_server, credentials, CANCEL, {"instId": "BTC-USDC", "ordId": hers})

    # (a request over its limit is refused by Django's view, as every refusal is)
    assert django_requests == [CANCEL, CANCEL]
    assert [(a["status"], a["code"]) for a in (nobodys, own, again)] == [
        (200, "1"),
        (200, "0"),
        (429, "50011"),
    ]


def place_request(shard: Any, account: int, *orders: dict[str, Any]) -> dict[str, Any]:
    """A request as the fast path's PLACE_SQL takes it (`_orders_journaled`)."""
    instrument = instruments_by_id()["BTC-USDC"]
    payloads = [
        command_checked(
            shard, account, place_command(instrument, order), client_order_id_open_check=False
        )
        for order in orders
    ]
    return {
        "version": fast_path._gate_current().version,
        "shard": shard.pk,
        "account": account,
        "commands": payloads,
        "ids": [payload["client_order_id"] for payload in payloads],
    }


def another_process_places(shard: Any, account: int, order: dict[str, Any]) -> Callable[[], Any]:
    """Another web process's fast path journaling `order` (its group commit's statement,
    on its own connection): the statement's row."""
    request = place_request(shard, account, order)

    def journal() -> Any:
        with django_connection.cursor() as cursor:
            cursor.execute(fast_path.PLACE_SQL, {"requests": json_text([request])})
            row = cursor.fetchone()
        assert len(row[1]) == 1, "the other process's order was not journaled"
        return row

    return journal


def client_ids(shard: Any, account: int) -> list[str]:
    return [payload.get("client_order_id", "") for payload in journaled(shard, account)]


def test_a_clordid_another_process_journals_meanwhile_is_refused_as_django_refuses_it(
    trader: Any, asgi_server: str, django_requests: list[str]
) -> None:
    shard, alice, credentials = trader
    placed(asgi_server, credentials, "warm")  # the key and group loaded
    order = {**BUY, "px": "100", "clOrdId": "race"}

    _, answered = racing(
        another_process_places(shard, alice.pk, order),
        lambda: post(asgi_server, credentials, ORDER, order),
    )

    answer = answered.result()
    assert answer["data"][0]["sCode"] == "51016"  # clOrdId already open
    assert django_requests == [ORDER]
    assert client_ids(shard, alice.pk) == ["warm", "race"]


def test_a_batch_one_of_whose_clordids_another_process_journals_meanwhile_goes_whole_to_django(
    trader: Any, asgi_server: str, django_requests: list[str]
) -> None:
    shard, alice, credentials = trader
    placed(asgi_server, credentials, "warm")
    orders = [
        {**BUY, "px": "99", "clOrdId": "before"},
        {**BUY, "px": "100", "clOrdId": "race"},
        {**BUY, "px": "98", "clOrdId": "after"},
    ]

    _, answered = racing(
        another_process_places(shard, alice.pk, orders[1]),
        lambda: post(asgi_server, credentials, BATCH, orders),
    )

    # nothing of the batch was left journaled by the fast path: Django answered it, as it
    # answers a batch one of whose clOrdIds is open (each order alone), journaling once
    # each of the others
    answer = answered.result()
    assert [item["sCode"] for item in answer["data"]] == ["0", "51016", "0"]
    assert django_requests == [BATCH]
    assert client_ids(shard, alice.pk) == ["warm", "race", "before", "after"]


def test_the_requests_of_a_group_another_process_did_not_beat_are_journaled(
    trader: Any,
) -> None:
    shard, alice, _ = trader
    order = {**BUY, "px": "100", "clOrdId": "race"}
    beaten = place_request(shard, alice.pk, order)
    other = place_request(shard, alice.pk, {**order, "clOrdId": "other"})
    # naming the other's clOrdId, it follows in a second statement of the transaction
    again = place_request(shard, alice.pk, {**order, "px": "99", "clOrdId": "other"})

    async def group_commit() -> list[tuple[Any, ...]]:
        try:
            return await fast_path._group_commit(
                [(fast_path.PLACE_SQL, request) for request in (beaten, other, again)]
            )
        finally:
            await fast_path.fast_path_close()

    _, committed = racing(
        another_process_places(shard, alice.pk, order), lambda: asyncio.run(group_commit())
    )

    [(_, beaten_ids, beaten_answer), (_, other_ids, other_answer), (_, again_ids, _)] = (
        committed.result()
    )
    assert (beaten_ids, beaten_answer, again_ids) == ([], None, [])
    assert len(other_ids) == 1 and other_answer is not None
    assert client_ids(shard, alice.pk) == ["race", "other"]
