"""Who may call the project's own trading API (/api/v1/) and how: a session (with its CSRF
token), the API token, or an API key signed as OKX signs, whose scopes bound what it may
do; only members of a market's risk group trade; a trader never sees another's orders;
every write carries an Idempotency-Key, refuses unknown fields and numbers sent as JSON
floats; the faucet gives once a day. The engine's writer runs in this process here
(`shard_process`); tests/trading/test_api_v1_trading.py trades against a real worker."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from engine import models as engine
from engine import services as engine_services
from engine import tasks
from engine.services import shard_of
from tests.factories import UserFactory
from tests.markets.factories import engine_deposit, member_create
from tests.trading.fixtures import okx_headers
from trading.api_orders import OrderListApi
from xip_portal.models import User

pytestmark = pytest.mark.django_db

ORDER = {"market": "BTC-USDC", "side": "buy", "size": "0.5", "price": "100"}


@pytest.fixture(autouse=True)
def fresh_writers():
    tasks._writers.clear()
    engine_services._shards.clear()
    yield
    tasks._writers.clear()


@pytest.fixture
def trader(open_group: Any, spot_market: Any) -> User:
    """A member of the open group holding 1,000 USDC and 10 BTC in its engine."""
    user = member_create(open_group, UserFactory())
    engine_deposit(group=open_group, user=user, amount=Decimal(1000))
    engine_deposit(group=open_group, user=user, amount=Decimal(10), asset="BTC")
    return user


def apply(group: Any) -> None:
    tasks.shard_process(shard_of(risk_group=group).pk)


def token_client(user: User) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def post(api: Any, path: str, body: Any, key: str = "k1", **headers: str) -> Any:
    return api.generic(
        "POST",
        path,
        json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        **headers,
    )


def test_a_token_places_an_order_and_reads_it(trader: User, open_group: Any) -> None:
    api = token_client(trader)

    placed = post(api, "/api/v1/orders/", ORDER)
    apply(open_group)
    (order,) = api.get("/api/v1/orders/open/").json()["results"]

    # inside the test's transaction the engine cannot answer within the request
    assert placed.status_code == 202 and placed.json()["status"] == "pending"
    assert (order["market"], order["side"], order["price"], order["size"]) == (
        "BTC-USDC",
        "buy",
        "100",
        "0.5",
    )
    assert order["status"] == "open" and order["risk_group"] == open_group.slug
    assert api.get(f"/api/v1/orders/{order['order_id']}/").json() == order


def test_a_session_writes_only_with_its_csrf_token(trader: User, password: str) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(trader)

    without = post(browser, "/api/v1/orders/", ORDER)
    browser.get(reverse("api_keys"))  # a page with a form sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    with_token = post(browser, "/api/v1/orders/", ORDER, HTTP_X_CSRFTOKEN=token)

    assert without.status_code == 403
    assert with_token.status_code == 202
    assert browser.get("/api/v1/balances/").status_code == 200


def test_a_signed_api_key_reads_and_trades_within_its_scopes(
    trader: User, make_api_key: Any
) -> None:
    trading_key = make_api_key(trader, ("read", "trade"))
    read_key = make_api_key(trader, ("read",))
    body = json.dumps(ORDER)
    client = Client()

    def signed(credentials: Any, method: str, path: str, text: str = "", **extra: str) -> Any:
        headers = okx_headers(credentials, method, path, text) | extra
        if method == "GET":
            return client.get(path, **headers)
        return client.generic(method, path, text, content_type="application/json", **headers)

    read = signed(read_key, "GET", "/api/v1/balances/")
    refused = signed(read_key, "POST", "/api/v1/orders/", body, HTTP_IDEMPOTENCY_KEY="r1")
    placed = signed(trading_key, "POST", "/api/v1/orders/", body, HTTP_IDEMPOTENCY_KEY="t1")
    tampered = client.generic(
        "POST",
        "/api/v1/orders/",
        body.replace("0.5", "5"),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="t2",
        **okx_headers(trading_key, "POST", "/api/v1/orders/", body),
    )

    assert read.status_code == 200
    btc = next(row for row in read.json() if row["asset"] == "BTC")
    assert (btc["free"], btc["reserved"]) == ("10", "0")
    assert (refused.status_code, refused.json()["code"]) == (403, "scope_missing")
    assert placed.status_code == 202
    assert (tampered.status_code, tampered.json()["code"]) == (401, "bad_signature")
    assert engine.Command.objects.filter(account=trader.pk, kind="PlaceOrder").count() == 1


def test_no_credentials_no_answer(trader: User) -> None:
    anonymous = APIClient()

    assert anonymous.get("/api/v1/orders/open/").status_code == 401
    assert post(anonymous, "/api/v1/orders/", ORDER).status_code == 401
    # market data is public
    assert anonymous.get("/api/v1/books/BTC-USDC/").status_code == 200


def test_only_members_of_the_risk_group_trade(spot_market: Any) -> None:
    outsider = UserFactory()

    # a permissionless group: the missing step is accepting its terms
    refused = post(token_client(outsider), "/api/v1/orders/", ORDER)

    assert (refused.status_code, refused.json()["code"]) == (403, "terms_not_accepted")
    assert not engine.Command.objects.filter(account=outsider.pk).exists()


def test_a_repeat_gets_the_first_answer_and_a_reused_key_is_refused(trader: User) -> None:
    api = token_client(trader)

    first = post(api, "/api/v1/orders/", ORDER, key="once")
    again = post(api, "/api/v1/orders/", ORDER, key="once")
    other = post(api, "/api/v1/orders/", ORDER | {"price": "99"}, key="once")
    missing = api.post("/api/v1/orders/", ORDER, format="json")

    assert again.status_code == first.status_code and again.json() == first.json()
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    assert (missing.status_code, missing.json()["code"]) == (400, "bad_idempotency_key")
    assert engine.Command.objects.filter(account=trader.pk, kind="PlaceOrder").count() == 1


def test_a_repeat_of_a_pending_answer_gets_the_outcome_once_applied(
    trader: User, open_group: Any
) -> None:
    api = token_client(trader)
    pending = post(api, "/api/v1/orders/", ORDER, key="place")
    # a post-only buy that would take the resting ask: only the engine refuses it
    post(api, "/api/v1/orders/", ORDER | {"side": "sell", "price": "101"}, key="ask")
    crossing = ORDER | {"price": "101", "post_only": True}
    refused_later = post(api, "/api/v1/orders/", crossing, key="cross")
    still_pending = post(api, "/api/v1/orders/", ORDER, key="place")

    apply(open_group)
    placed = post(api, "/api/v1/orders/", ORDER, key="place")
    kept = post(api, "/api/v1/orders/", ORDER, key="place")
    refused = post(api, "/api/v1/orders/", crossing, key="cross")
    cancel_path = f"/api/v1/orders/{pending.json()['order_id']}/"
    cancel_pending = api.delete(cancel_path, HTTP_IDEMPOTENCY_KEY="cancel")
    apply(open_group)
    cancelled = api.delete(cancel_path, HTTP_IDEMPOTENCY_KEY="cancel")

    # journaled, not applied: 202, and the same while the engine has not applied it
    assert (pending.status_code, pending.json()["status"]) == (202, "pending")
    assert refused_later.status_code == 202
    assert (still_pending.status_code, still_pending.json()) == (202, pending.json())
    # once applied, a repeat answers the same order as it is now, and that answer is kept
    assert placed.status_code == 201, placed.content
    assert placed.json()["order_id"] == pending.json()["order_id"]
    assert (placed.json()["status"], placed.json()["order"]["status"]) == ("applied", "open")
    assert (kept.status_code, kept.json()) == (201, placed.json())
    assert (refused.status_code, refused.json()["code"]) == (409, "post_only_would_cross")
    assert cancel_pending.status_code == 202
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["order"]["status"] == "cancelled"
    # and nothing was journaled twice
    assert engine.Command.objects.filter(account=trader.pk, kind="PlaceOrder").count() == 3
    assert engine.Command.objects.filter(account=trader.pk, kind="CancelOrder").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"size": 0.5}, "size"),  # a JSON number: floats are refused
        ({"price": "1e2"}, "price"),
        ({"leverage": "10"}, "leverage"),  # unknown fields are refused
        ({"side": "long"}, "side"),
    ],
)
def test_bad_orders_are_refused_naming_the_field(trader: User, change: Any, field: str) -> None:
    refused = post(token_client(trader), "/api/v1/orders/", ORDER | change)

    assert refused.status_code == 400 and field in refused.json()["fields"]
    assert not engine.Command.objects.filter(account=trader.pk, kind="PlaceOrder").exists()


def test_a_trader_never_sees_or_touches_another_traders_orders(
    trader: User, open_group: Any
) -> None:
    mine = token_client(trader)
    other = member_create(open_group, UserFactory())
    theirs = token_client(other)
    post(mine, "/api/v1/orders/", ORDER)
    apply(open_group)
    (order,) = mine.get("/api/v1/orders/open/").json()["results"]
    path = f"/api/v1/orders/{order['order_id']}/"

    assert theirs.get(path).status_code == 404
    assert theirs.delete(path, HTTP_IDEMPOTENCY_KEY="c1").status_code == 404
    assert theirs.get("/api/v1/orders/open/").json()["results"] == []
    assert theirs.get("/api/v1/orders/history/").json()["results"] == []
    assert theirs.get("/api/v1/fills/").json()["results"] == []
    assert mine.get(path).json()["status"] == "open"


def test_writes_are_rate_limited(trader: User, monkeypatch: Any, settings: Any) -> None:
    settings.TRADING_RATE_LIMITS = True
    monkeypatch.setattr(OrderListApi, "write_limit", (1, 60.0))
    api = token_client(trader)

    post(api, "/api/v1/orders/", ORDER, key="a")
    limited = post(api, "/api/v1/orders/", ORDER | {"price": "99"}, key="b")

    assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")


def test_the_faucet_gives_a_member_once_a_day(open_group: Any) -> None:
    open_group.simulated_collateral = True
    open_group.faucet_daily_amount = Decimal("1000")
    open_group.save()
    member = member_create(open_group, UserFactory())
    api = token_client(member)
    body = {"risk_group": open_group.slug}

    taken = post(api, "/api/v1/faucet/", body, key="day1")
    repeat = post(api, "/api/v1/faucet/", body, key="day1")
    again = post(api, "/api/v1/faucet/", body, key="day1-again")
    outsider = post(token_client(UserFactory()), "/api/v1/faucet/", body)
    apply(open_group)

    assert taken.status_code == 202 and taken.json()["amount"] == "1000"
    assert repeat.json() == taken.json()
    assert (again.status_code, again.json()["code"]) == (400, "faucet_daily_limit")
    assert (outsider.status_code, outsider.json()["code"]) == (403, "terms_not_accepted")
    (usdc,) = api.get("/api/v1/balances/").json()
    assert (usdc["asset"], usdc["free"]) == ("USDC", "1000")


def test_the_faucet_is_refused_where_collateral_is_real(open_group: Any) -> None:
    member = member_create(open_group, UserFactory())

    refused = post(token_client(member), "/api/v1/faucet/", {"risk_group": open_group.slug})

    assert (refused.status_code, refused.json()["code"]) == (400, "collateral_not_simulated")


def test_listing_orders_costs_the_same_queries_for_one_or_many(
    trader: User, open_group: Any
) -> None:
    api = token_client(trader)

    def queries_of_a_page() -> int:
        api.get("/api/v1/orders/open/")  # the registry's units are cached after the first
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/v1/orders/open/").status_code == 200
        return len(captured)

    post(api, "/api/v1/orders/", ORDER, key="first")
    apply(open_group)
    one = queries_of_a_page()
    for price in ("90", "91", "92"):
        post(api, "/api/v1/orders/", ORDER | {"price": price}, key=price)
    apply(open_group)

    assert queries_of_a_page() == one
