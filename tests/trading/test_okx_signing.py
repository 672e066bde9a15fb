"""Requests to /api/v5/ are signed as OKX v5 signs them; every wrong part is refused with
OKX's code before any view runs."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.trading.fixtures import okx_headers, okx_timestamp
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


def test_too_many_requests_answer_429_with_50011(user, make_api_key, okx, monkeypatch) -> None:
    monkeypatch.setattr(AssetCurrenciesView, "rate_limit", (2, 60.0))
    credentials = make_api_key(user)
    other_key = make_api_key(user)

    answers = [okx(credentials, "GET", CURRENCIES) for _ in range(3)]

    assert [refusal(a) for a in answers] == [(200, "0"), (200, "0"), (429, "50011")]
    assert refusal(okx(other_key, "GET", CURRENCIES)) == (200, "0")
