"""Requests to /api/v5/ are signed as OKX v5 signs them; every wrong part is refused with
OKX's code before any view runs."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from engine import models as engine_models
from tests.markets.factories import member_create
from tests.trading.fixtures import Credentials, okx_headers, okx_timestamp
from trading.key_vault import secret_encrypt
from trading.models import ApiKey
from trading.okx.account import AssetCurrenciesView
from trading.services import api_key_revoke

pytestmark = pytest.mark.django_db

CURRENCIES = "/api/v5/asset/currencies"


def refusal(response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def test_a_signed_read_is_answered_in_the_okx_envelope(user, make_api_key, okx, assets) -> None:
    credentials = make_api_key(user, scopes=("read",))

    answer = okx(credentials, "GET", CURRENCIES + "?ccy=USDC")

    body = answer.json()
    assert (answer.status_code, body["code"], body["msg"]) == (200, "0", "")
    assert [(c["ccy"], c["wdTickSz"]) for c in body["data"]] == [("USDC", "6")]
    credentials.api_key.refresh_from_db()
    assert credentials.api_key.last_used_at is not None


def test_a_tampered_query_is_refused(user, make_api_key, okx) -> None:
    credentials = make_api_key(user)
    headers = okx_headers(credentials, "GET", CURRENCIES + "?ccy=USDC")

    answer = okx(None, "GET", CURRENCIES + "?ccy=BTC", **headers)

    assert refusal(answer) == (401, "50113")
    assert "bad_signature" in answer.json()["msg"]


def test_a_wrong_secret_is_refused(user, make_api_key, okx) -> None:
    credentials = make_api_key(user)
    credentials.secret = "0" * 32

    assert refusal(okx(credentials, "GET", CURRENCIES)) == (401, "50113")


def test_a_stale_or_future_timestamp_is_refused(user, make_api_key, okx) -> None:
    credentials = make_api_key(user)
    now = datetime.now(UTC)

    for moment in (now - timedelta(seconds=31), now + timedelta(seconds=31)):
        headers = okx_headers(credentials, "GET", CURRENCIES, timestamp=okx_timestamp(moment))
        assert refusal(okx(None, "GET", CURRENCIES, **headers)) == (401, "50102")
    headers = okx_headers(credentials, "GET", CURRENCIES, timestamp="yesterday")
    assert refusal(okx(None, "GET", CURRENCIES, **headers)) == (401, "50112")


def test_a_revoked_or_unknown_key_is_refused(user, make_api_key, okx) -> None:
    credentials = make_api_key(user)
    api_key_revoke(user=user, key=credentials.key)

    assert refusal(okx(credentials, "GET", CURRENCIES)) == (401, "50111")
    credentials.api_key = ApiKey(key="00000000-0000-0000-0000-000000000000")
    assert refusal(okx(credentials, "GET", CURRENCIES)) == (401, "50111")


def test_a_wrong_passphrase_or_missing_header_is_refused(user, make_api_key, okx) -> None:
    credentials = make_api_key(user)
    credentials.passphrase = "Passphrase-2"

    assert refusal(okx(credentials, "GET", CURRENCIES)) == (401, "50105")
    assert refusal(okx(None, "GET", CURRENCIES)) == (401, "50103")


def test_an_address_outside_the_allow_list_is_refused(user, make_api_key, okx) -> None:
    inside = make_api_key(user, ip_allowlist=("127.0.0.0/8",))
    outside = make_api_key(user, ip_allowlist=("10.0.0.0/8", "192.0.2.7"))

    assert refusal(okx(inside, "GET", CURRENCIES)) == (200, "0")
    assert refusal(okx(outside, "GET", CURRENCIES)) == (401, "50110")


def test_behind_a_trusted_proxy_the_allow_list_sees_the_forwarded_address(
    user, make_api_key, okx, settings
) -> None:
    fenced = make_api_key(user, ip_allowlist=("203.0.113.7",))
    via_proxy = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}

    assert refusal(okx(fenced, "GET", CURRENCIES, **via_proxy)) == (401, "50110")
    settings.TRUSTED_PROXY_COUNT = 1
    assert refusal(okx(fenced, "GET", CURRENCIES, **via_proxy)) == (200, "0")


def test_too_many_requests_answer_429_with_50011(user, make_api_key, okx, monkeypatch) -> None:
    monkeypatch.setattr(AssetCurrenciesView, "rate_limit", (2, 60.0))
    credentials = make_api_key(user)
    other_key = make_api_key(user)

    answers = [okx(credentials, "GET", CURRENCIES) for _ in range(3)]

    assert [refusal(a) for a in answers] == [(200, "0"), (200, "0"), (429, "50011")]
    assert refusal(okx(other_key, "GET", CURRENCIES)) == (200, "0")


ORDER = "/api/v5/trade/order"
BODY = {
    "instId": "BTC-USDC",
    "tdMode": "cash",
    "side": "buy",
    "ordType": "limit",
    "sz": "0.01",
    "px": "100",
}


def journaled() -> int:
    return engine_models.Command.objects.filter(kind="PlaceOrder").count()


def test_refused_orders_journal_nothing(spot_market, make_api_key, okx) -> None:
    trader = member_create(spot_market.risk_group)
    trading_key = make_api_key(trader)
    read_key = make_api_key(trader, scopes=("read",))
    fenced_key = make_api_key(trader, ("read", "trade"), ip_allowlist=("10.0.0.0/8",))
    revoked_key = make_api_key(trader)
    api_key_revoke(user=trader, key=revoked_key.key)
    tampered = okx_headers(trading_key, "POST", ORDER, json.dumps(BODY))
    stale = okx_headers(
        trading_key,
        "POST",
        ORDER,
        json.dumps(BODY),
        timestamp=okx_timestamp(datetime.now(UTC) - timedelta(minutes=1)),
    )

    refusals = [
        refusal(okx(None, "POST", ORDER, {**BODY, "sz": "5"}, **tampered)),
        refusal(okx(None, "POST", ORDER, BODY, **stale)),
        refusal(okx(revoked_key, "POST", ORDER, BODY)),
        refusal(okx(read_key, "POST", ORDER, BODY)),
        refusal(okx(fenced_key, "POST", ORDER, BODY)),
    ]

    assert refusals == [
        (401, "50113"),
        (401, "50102"),
        (401, "50111"),
        (401, "50120"),
        (401, "50110"),
    ]
    assert journaled() == 0
    # the same order, signed right by a trading key, is journaled
    assert refusal(okx(trading_key, "POST", ORDER, BODY))[0] == 200
    assert journaled() == 1


def test_a_read_key_still_reads_orders(spot_market, make_api_key, okx) -> None:
    trader = member_create(spot_market.risk_group)
    read_key = make_api_key(trader, scopes=("read",))

    answer = okx(read_key, "GET", "/api/v5/trade/orders-pending?instType=SPOT")

    assert (answer.status_code, answer.json()) == (200, {"code": "0", "msg": "", "data": []})


def test_a_non_member_cannot_place_an_order(spot_market, user, make_api_key, okx) -> None:
    answer = okx(make_api_key(user), "POST", ORDER, BODY).json()

    assert (answer["code"], answer["data"][0]["sCode"]) == ("1", "51009")
    assert journaled() == 0


def test_client_order_ids_follow_okx_rules(spot_market, make_api_key, okx) -> None:
    trader = member_create(spot_market.risk_group)
    credentials = make_api_key(trader)

    answers = [
        okx(credentials, "POST", ORDER, {**BODY, "clOrdId": bad}).json()["data"][0]
        for bad in ("has-dash", "x" * 33)
    ]

    assert [a["sCode"] for a in answers] == ["51000", "51000"]
    assert journaled() == 0


def test_a_batch_answers_per_order(spot_market, make_api_key, okx) -> None:
    trader = member_create(spot_market.risk_group)
    credentials = make_api_key(trader)

    answer = okx(
        credentials,
        "POST",
        "/api/v5/trade/batch-orders",
        [BODY, {**BODY, "instId": "NOPE-USDC"}],
    ).json()
    too_many = okx(credentials, "POST", "/api/v5/trade/batch-orders", [BODY] * 21).json()

    # no writer runs here: the first is journaled, accepted for processing with its id
    assert answer["code"] == "2"
    assert [item["sCode"] for item in answer["data"]] == ["0", "51001"]
    placed = engine_models.Command.objects.get(kind="PlaceOrder")
    assert answer["data"][0]["ordId"] == str(placed.pk)
    assert too_many["code"] == "51111"
    assert journaled() == 1


def test_a_key_revoked_or_given_a_new_secret_is_refused_at_once(user, make_api_key, okx) -> None:
    credentials = make_api_key(user)
    other = make_api_key(user)
    assert okx(credentials, "GET", CURRENCIES).status_code == 200  # its secret now known here
    assert okx(other, "GET", CURRENCIES).status_code == 200

    api_key_revoke(user=user, key=credentials.key)
    # a new secret for the other key, as re-issuing it would store
    ApiKey.objects.filter(key=other.key).update(secret_encrypted=secret_encrypt("a-new-secret"))

    assert refusal(okx(credentials, "GET", CURRENCIES)) == (401, "50111")
    assert refusal(okx(other, "GET", CURRENCIES)) == (401, "50113")
    renewed = Credentials(ApiKey.objects.get(key=other.key), "a-new-secret")
    assert okx(renewed, "GET", CURRENCIES).status_code == 200
