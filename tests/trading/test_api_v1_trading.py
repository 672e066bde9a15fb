"""A trader's day on the project's own trading API (/api/v1/) against a real engine worker
(Celery, on the test database): place, amend, cancel and cancel all; a batch with one
result per order; pages of orders; a trade between two members with the fills and fees on
both sides; a perpetual position and prediction shares; the statement; market data; and
transfers between two risk groups, exactly once."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from engine import models as engine
from engine.services import command_submit, shard_of
from engine.worker_process import shard_worker_start
from tests.engine.service.test_worker import wait_until_applied
from tests.factories import UserFactory
from tests.markets.factories import (
    member_create,
    open_group_create,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BTC = 10 * 10**6  # 10 BTC


class Trader:
    """A member's API client, every write with a new Idempotency-Key."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.api = APIClient()
        self.api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        self.writes = 0

    def write(self, method: str, path: str, body: Any = None, *, key: str = "") -> Any:
        self.writes += 1
        return self.api.generic(
            method,
            path,
            json.dumps(body) if body is not None else "",
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key or f"w{self.writes}",
        )

    def place(self, key: str = "", **order: Any) -> Any:
        return self.write("POST", "/api/v1/orders/", order, key=key)

    def get(self, path: str) -> Any:
        answer = self.api.get(path)
        assert answer.status_code == 200, answer.content
        return answer.json()

    def all_pages(self, path: str) -> list[dict[str, Any]]:
        rows, page = [], self.get(path)
        while True:
            rows += page["results"]
            if not page["next"]:
                return rows
            page = self.get(page["next"])


@pytest.fixture
def venue(trading_venue: Any, tmp_path: Any) -> Any:
    """The trading venue (spot, perp and prediction markets live in the open group, two
    funded members, a real worker) and a second group the two belong to, with its own
    worker: one writer per shard, as in production (a solo worker lingering on one shard's
    inbox would hold the other's back)."""
    group, _, alice, bob = trading_venue
    second = open_group_create()
    shard = shard_of(risk_group=second)
    worker = shard_worker_start([shard.pk], log=tmp_path / "worker-second.log")
    for trader in (alice, bob):
        member_create(second, trader)
        command_submit(
            risk_group=second,
            account=trader.pk,
            command={
                "type": "Deposit",
                "asset": "BTC",
                "amount": BTC,
                "external_id": f"BTC-{trader.pk}",
            },
        )
    wait_until_applied(shard)
    yield group, second, Trader(alice), Trader(bob)
    worker.kill()
    worker.wait()


def test_a_trader_places_amends_cancels_and_trades(venue: Any) -> None:
    group, second, alice, bob = venue

    # a resting order, as the engine applied it
    placed = alice.place(market="BTC-USDC", side="buy", size="0.5", price="100", key="p1")
    assert placed.status_code == 201, placed.content
    order = placed.json()["order"]
    assert (order["status"], order["price"], order["size"], order["remaining"]) == (
        "open",
        "100",
        "0.5",
        "0.5",
    )
    # its repeat is the first answer, and journals nothing
    again = alice.place(market="BTC-USDC", side="buy", size="0.5", price="100", key="p1")
    assert (again.status_code, again.json()) == (201, placed.json())
    assert engine.Command.objects.filter(account=alice.user.pk, kind="PlaceOrder").count() == 1

    # amended: a new price and a smaller size
    amended = alice.write(
        "PATCH", f"/api/v1/orders/{order['order_id']}/", {"price": "101", "size": "0.4"}
    )
    assert amended.status_code == 200, amended.content
    (resting,) = alice.get("/api/v1/orders/open/")["results"]
    assert (resting["price"], resting["size"]) == ("101", "0.4")
    book = alice.get("/api/v1/books/BTC-USDC/")
    assert book["bids"] == [{"price": "101", "size": "0.4", "orders": 1}] and book["asks"] == []

    # cancelled: gone from the open orders, in the history
    cancelled = alice.write("DELETE", f"/api/v1/orders/{resting['order_id']}/")
    assert cancelled.status_code == 200 and cancelled.json()["order"]["status"] == "cancelled"
    assert alice.get("/api/v1/orders/open/")["results"] == []
    history = alice.get("/api/v1/orders/history/")["results"]
    assert resting["order_id"] in [o["order_id"] for o in history]

    # a refusal by the engine is the error, with the engine's reason as its code
    broke = alice.place(market="BTC-USDC", side="buy", size="100000", price="199")
    assert (broke.status_code, broke.json()["code"]) == (409, "insufficient_balance")

    # a batch: one result per order, in order
    orders = [
        {"market": "BTC-USDC", "side": "sell", "size": "0.01", "price": str(200 + i)}
        for i in range(18)
    ]
    orders.insert(3, {"market": "BTC-USDC", "side": "sell", "size": "0.01", "price": "200.005"})
    orders.insert(7, {"market": "NOPE", "side": "sell", "size": "0.01", "price": "200"})
    batch = alice.write("POST", "/api/v1/orders/batch/", {"orders": orders})
    assert batch.status_code == 200, batch.content
    results = batch.json()["results"]
    assert len(results) == 20
    assert results[3]["error"]["code"] == "bad_tick" and results[3]["receipt"] is None
    assert results[7]["error"]["code"] == "unknown_market"
    placed_ok = [r for i, r in enumerate(results) if i not in (3, 7)]
    assert all(r["error"] is None and r["receipt"]["status"] == "applied" for r in placed_ok)
    too_many = alice.write("POST", "/api/v1/orders/batch/", {"orders": orders + orders[:1]})
    assert (too_many.status_code, too_many.json()["code"]) == (400, "too_many_orders")

    # pages of open orders: each order once, newest first
    first_page = alice.get("/api/v1/orders/open/?limit=5")
    assert len(first_page["results"]) == 5
    paged = alice.all_pages("/api/v1/orders/open/?limit=5")
    ids = [o["order_id"] for o in paged]
    assert len(ids) == 18 and len(set(ids)) == 18
    assert [o["price"] for o in paged[:2]] == ["217", "216"]

    # a trade with the second member: fills on both sides with the right fees
    taken = bob.place(market="BTC-USDC", side="buy", size="0.01", price="200")
    assert taken.json()["order"]["status"] == "filled"
    (bob_fill,) = bob.get("/api/v1/fills/")["results"]
    (alice_fill,) = alice.get("/api/v1/fills/")["results"]
    assert (bob_fill["side"], bob_fill["liquidity"], bob_fill["price"], bob_fill["size"]) == (
        "buy",
        "taker",
        "200",
        "0.01",
    )
    # 2 USDC traded: the taker pays 5 bps, the maker 2 bps
    assert (bob_fill["fee"], alice_fill["fee"]) == ("0.001", "0.0004")
    assert alice_fill["side"] == "sell" and alice_fill["liquidity"] == "maker"
    ticker = bob.get("/api/v1/tickers/BTC-USDC/")
    assert (ticker["last"], ticker["best_ask"]) == ("200", "201")
    (trade,) = bob.get("/api/v1/trades/BTC-USDC/")
    assert (trade["price"], trade["taker_side"]) == ("200", "buy")
    (candle,) = bob.get("/api/v1/candles/BTC-USDC/?bar=1m")
    assert (candle["open"], candle["volume"], candle["quote_volume"]) == ("200", "0.01", "2")
    balances = {
        (b["asset"]): b for b in bob.get("/api/v1/balances/") if b["risk_group"] == group.slug
    }
    assert Decimal(balances["BTC"]["free"]) == Decimal("10.01")

    # cancel all in one market
    cancelled_all = alice.write("POST", "/api/v1/orders/cancel-all/", {"market": "BTC-USDC"})
    assert cancelled_all.status_code == 200, cancelled_all.content
    assert alice.get("/api/v1/orders/open/")["results"] == []
    reserved = {b["asset"]: b["reserved"] for b in alice.get("/api/v1/balances/")}
    assert reserved["BTC"] == "0"

    # the statement of both groups in pages, newest first: the fee after the deposits
    statement = alice.all_pages("/api/v1/statement/?limit=2")
    assert (statement[0]["kind"], statement[0]["asset"]) == ("fee", "USDC")
    deposits = sorted((e["risk_group"], e["asset"], e["amount"]) for e in statement[1:])
    assert deposits == sorted(
        [(group.slug, "USDC", "1000000"), (group.slug, "BTC", "10"), (second.slug, "BTC", "10")]
    )
    assert statement[0]["amount"] == "-0.0004" and statement[0]["market"] == "BTC-USDC"
    assert {e["risk_group"] for e in statement} == {group.slug, second.slug}


def test_positions_and_outcome_shares(venue: Any) -> None:
    group, _, alice, bob = venue

    alice.place(market="ETH-PERP", side="sell", size="0.01", price="2000")
    bob.place(market="ETH-PERP", side="buy", size="0.01", price="2000")
    alice.place(market="WC26-WINNER:Argentina", side="sell", size="10", price="0.3")
    bob.place(market="WC26-WINNER:Argentina", side="buy", size="10", price="0.3")

    (position,) = bob.get("/api/v1/positions/")
    assert (position["market"], position["size"], position["entry_price"]) == (
        "ETH-PERP",
        "0.01",
        "2000",
    )
    assert (position["mark_price"], position["unrealised_pnl"]) == ("2000", "0")
    assert Decimal(position["initial_margin"]) == Decimal("2")  # 10% of 20 USDC
    assert position["liquidation_price"] is None  # a long this small is never liquidated
    (short,) = alice.get("/api/v1/positions/")
    assert short["size"] == "-0.01" and Decimal(short["liquidation_price"]) > 2000
    (holding,) = bob.get("/api/v1/holdings/")
    assert (holding["market"], holding["yes"], holding["no"]) == (
        "WC26-WINNER:Argentina",
        "10",
        "0",
    )
    (sold,) = alice.get("/api/v1/holdings/")
    assert (sold["yes"], sold["no"]) == ("0", "10")


def test_transfers_between_risk_groups_happen_once(venue: Any) -> None:
    group, second, alice, bob = venue
    transfer = {
        "from_group": group.slug,
        "to_group": second.slug,
        "amount": "250.5",
    }

    moved = alice.write("POST", "/api/v1/transfers/", transfer, key="t1")
    repeat = alice.write("POST", "/api/v1/transfers/", transfer, key="t1")
    too_much = alice.write("POST", "/api/v1/transfers/", transfer | {"amount": "2000000"})
    same = alice.write("POST", "/api/v1/transfers/", transfer | {"to_group": group.slug})
    outsider = Trader(UserFactory())
    not_member = outsider.write("POST", "/api/v1/transfers/", transfer)

    # 201 once credited; on a busy machine the credit may take longer than the wait (202)
    assert moved.status_code in (201, 202), moved.content
    assert moved.json()["amount"] == "250.5"
    assert repeat.json() == moved.json()
    deadline = time.monotonic() + 30
    while alice.get("/api/v1/transfers/")["results"][-1]["status"] != "done":
        assert time.monotonic() < deadline, "the transfer was not credited"
        time.sleep(0.1)
    assert engine.Transfer.objects.filter(account=alice.user.pk, status="done").count() == 1
    assert (too_much.status_code, too_much.json()["code"]) == (409, "insufficient_balance")
    assert (same.status_code, same.json()["code"]) == (400, "same_group")
    assert not_member.status_code == 403
    usdc = {
        b["risk_group"]: Decimal(b["free"])
        for b in alice.get("/api/v1/balances/")
        if b["asset"] == "USDC"
    }
    assert usdc == {group.slug: Decimal("999749.5"), second.slug: Decimal("250.5")}
    listed = alice.get("/api/v1/transfers/")["results"]
    assert [t["status"] for t in listed] == ["failed", "done"]
