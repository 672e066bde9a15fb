"""The live stream (/stream/) under the ASGI server production runs: a page's topics arrive at
once, then again after each committed engine batch that touched them (pushed over Redis by
the shard's writer); a private topic reaches only its own user; a reconnect catches up."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from django.test import Client

from engine import models as engine
from engine import tasks
from engine.services import command_submit, shard_of
from governance.risk_groups.models import RiskGroup
from markets.models import Market
from tests.factories import UserFactory
from tests.markets.factories import engine_deposit, member_create
from tests.trading.fixtures import SseClient, session_of
from trading import live
from xip_portal.models import User

pytestmark = [pytest.mark.django_db(transaction=True)]


def _open_orders(key: str, account: int | None = None) -> int:
    orders = engine.Order.objects.filter(market_id=key, status="open")
    return orders.filter(account=account).count() if account is not None else orders.count()


@pytest.fixture
def probe_topics() -> Iterator[None]:
    """A public topic counting a market's resting orders, and a private one counting the
    viewer's own."""
    live.topic_register(
        live.Topic(
            "probe-book",
            lambda key, viewer: [("probe-book", str(_open_orders(key)))],
            lambda change: change["markets"],
        )
    )
    live.topic_register(
        live.Topic(
            "probe-mine",
            lambda key, viewer: [("probe-mine", str(_open_orders(key, viewer.pk)))],
            lambda change: change["markets"],
            private=True,
        )
    )
    yield
    del live.TOPICS["probe-book"], live.TOPICS["probe-mine"]


@pytest.fixture
def trader(open_group: RiskGroup, spot_market: Market) -> Callable[[], User]:
    def make() -> User:
        user = member_create(open_group, UserFactory())
        engine_deposit(group=open_group, user=user, amount=Decimal(100_000))
        return user

    return make


def _bid(group: RiskGroup, user: User, price: int, side: str = "buy") -> None:
    """A resting bid (or an ask, `side="sell"`) of 0.1 BTC, applied by the shard's writer in
    this process (it publishes on Redis)."""
    command_submit(
        risk_group=group,
        account=user.pk,
        command={
            "type": "PlaceOrder",
            "market": "BTC-USDC",
            "side": side,
            "price": price,
            "size": 100_000,
            "order_type": "limit",
            "tif": "gtc",
        },
    )
    tasks.shard_process(shard_of(risk_group=group).pk)


def test_a_topic_arrives_at_once_then_after_each_batch_and_again_on_reconnect(
    asgi_server: str, probe_topics: None, trader: Callable[[], User], open_group: RiskGroup
) -> None:
    alice = trader()
    stream = SseClient(asgi_server, "/stream/?topic=probe-book:BTC-USDC")
    assert stream.response.status == 200
    assert stream.response.getheader("Content-Type") == "text/event-stream"
    # the state at once
    assert stream.next_event() == ("probe-book", "0")

    # a committed batch that touches the market is pushed
    _bid(open_group, alice, 6_000_000)
    assert stream.next_event() == ("probe-book", "1")
    stream.close()

    # while the page is away the book changes; reconnecting, it gets the state of now
    _bid(open_group, alice, 5_900_000)
    again = SseClient(asgi_server, "/stream/?topic=probe-book:BTC-USDC")
    assert again.next_event() == ("probe-book", "2")
    again.close()


def test_a_private_topic_reaches_only_its_user(
    asgi_server: str,
    probe_topics: None,
    trader: Callable[[], User],
    open_group: RiskGroup,
    client: Client,
) -> None:
    alice, bob = trader(), trader()
    client.force_login(alice)
    stream = SseClient(
        asgi_server, "/stream/?topic=probe-mine:BTC-USDC", session=session_of(client)
    )
    assert stream.next_event() == ("probe-mine", "0")

    # Bob's order is not Alice's business: her private topic is not woken by it
    _bid(open_group, bob, 6_000_000)
    _bid(open_group, alice, 5_900_000)
    assert stream.next_event() == ("probe-mine", "1")
    stream.close()


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 400),
        ("?topic=nothing:BTC-USDC", 404),
        ("?topic=probe-mine:BTC-USDC", 401),  # private, and nobody is logged in
        ("?" + "&".join(f"topic=probe-book:M{i}" for i in range(live.MAX_TOPICS + 1)), 400),
    ],
)
def test_a_stream_that_cannot_be_served_is_refused_before_it_opens(
    asgi_server: str, probe_topics: None, query: str, status: int
) -> None:
    connection = http.client.HTTPConnection(urlsplit(asgi_server).netloc, timeout=5)
    connection.request("GET", f"/stream/{query}")
    response = connection.getresponse()
    assert response.status == status
    assert response.getheader("Content-Type") != "text/event-stream"
    connection.close()


def _both(stream: SseClient, *names: str) -> dict[str, str]:
    """The next event of each of `names` (a batch's topics come in no set order)."""
    seen: dict[str, str] = {}
    stream.events_until(
        lambda name, data: bool(seen.update({name: data})) or set(names) <= set(seen)
    )
    return seen


def test_the_board_its_holdings_and_the_portfolio_follow_the_engine(
    asgi_server: str, world_cup: Any, client: Client
) -> None:
    # Given the maker quotes every team and a trader holds nothing yet
    world_cup.quote()
    buyer = member_create(world_cup.group, UserFactory())
    engine_deposit(group=world_cup.group, user=buyer, amount=Decimal(1_000))
    client.force_login(buyer)
    board = SseClient(
        asgi_server,
        "/stream/?topic=board:WC26-WINNER&topic=holdings:WC26-WINNER",
        session=session_of(client),
    )
    portfolio = SseClient(asgi_server, "/stream/?topic=portfolio:", session=session_of(client))
    # the state at once: every team's figures, most likely first, and the sum
    state = _both(board, "board", "holdings")
    figures = json.loads(state["board"])
    assert figures["order"] == [f"WC26-WINNER:{team}" for team in ("Argentina", "Brazil", "France")]
    assert figures["rows"]["WC26-WINNER:Brazil"]["cells"]["ask"] == "0.31"
    assert figures["totals"]["probability-sum"] == "100.0%"
    assert json.loads(state["holdings"])["rows"]["WC26-WINNER:Brazil"]["cells"]["holding"] == "–"
    assert "No fills yet." in dict(portfolio.events_until(lambda n, d: n == "history"))["history"]

    # When the trader buys 5 YES of Brazil (the maker's whole ask at 0.31)
    world_cup.order(buyer, "WC26-WINNER:Brazil", "buy", 5, "0.31")
    world_cup.process()
    # Then the board shows the new ask, the day's volume and the trader's holding
    state = _both(board, "board", "holdings")
    brazil = json.loads(state["board"])["rows"]["WC26-WINNER:Brazil"]["cells"]
    assert (brazil["ask"], brazil["volume"]) == ("–", "5")
    assert json.loads(state["holdings"])["rows"]["WC26-WINNER:Brazil"]["cells"]["holding"] == (
        "5 YES"
    )
    # and the portfolio shows the fill and the holding
    history = portfolio.events_until(lambda name, data: name == "history")[-1][1]
    assert "WC26-WINNER:Brazil" in history and "0.31" in history
    board.close()
    portfolio.close()


def test_the_registry_list_follows_the_engine(
    asgi_server: str, trader: Callable[[], User], open_group: RiskGroup
) -> None:
    alice, bob = trader(), trader()
    engine_deposit(group=open_group, user=bob, amount=Decimal(1), asset="BTC")
    stream = SseClient(asgi_server, "/stream/?topic=registry:" + quote("sort=-volume&page="))
    name, rows = stream.next_event()
    assert name == "registry" and "BTC-USDC" in rows
    # a trade moves the market's last price and volume: the rows are sent again
    _bid(open_group, alice, 6_000_000)
    _bid(open_group, bob, 6_000_000, side="sell")
    traded = '<td class="num">0.1</td>'  # the day's volume: one fill of 0.1 BTC
    rows = stream.events_until(lambda name, data: name == "registry" and traded in data)[-1][1]
    assert "BTC-USDC" in rows
    stream.close()
