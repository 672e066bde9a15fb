"""The market page (the registry's page of a live market with trading's section): every kind
shows its book, trades, chart data, figures and the order form to a member; a visitor who
may not trade is told what to do; the form refuses in words and places through the trading
service; the page runs the same number of queries whatever the size of the book and the
history."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engine import models as engine
from engine import tasks
from engine.services import BatchItem, command_submit, commands_submit, shard_of
from governance.risk_groups.models import RiskGroup
from markets.models import Market
from markets.services import market_engine_config
from tests.factories import UserFactory
from tests.markets.factories import engine_deposit, member_create, perp_spec, prediction_spec
from tests.trading.fixtures import market_go_live
from trading.instruments import tradables
from trading.market_data import DAY_MS, candles_and_day, candles_between, day_of, trades_of
from trading.market_page import market_events
from xip_portal.models import StaffRole, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def venue(open_group: RiskGroup, spot_market: Market, make_staff: Callable[..., User]) -> Any:
    """Spot, perp (with a mark) and the categorical World Cup market live in the open group."""
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group)
    market_go_live(open_group, operator, perp_spec())
    market_go_live(open_group, operator, prediction_spec())
    perp = market_engine_config(Market.objects.get(symbol="ETH-PERP"))
    command_submit(
        risk_group=open_group,
        account=0,
        command={"type": "OraclePrice", "market": "ETH-PERP", "price": perp.price("2000")},
    )
    tasks.shard_process(shard_of(risk_group=open_group).pk)
    return open_group


def trader_in(group: RiskGroup) -> User:
    user = member_create(group, UserFactory())
    engine_deposit(group=group, user=user, amount=Decimal(1_000_000))
    engine_deposit(group=group, user=user, amount=Decimal(100), asset="BTC")
    return user


def book_fill(group: RiskGroup, maker: User, taker: User, *, levels: int, fills: int) -> None:
    """`levels` resting bids and asks on BTC-USDC around 60,000 and `fills` trades."""
    listed = market_engine_config(Market.objects.get(symbol="BTC-USDC"))
    size = listed.size("0.001")
    items = []
    for i in range(levels):
        for side, price in (("buy", 59_000 - i), ("sell", 61_000 + i)):
            items.append(
                BatchItem(
                    maker.pk,
                    {
                        "type": "PlaceOrder",
                        "market": "BTC-USDC",
                        "side": side,
                        "price": listed.price(price),
                        "size": size,
                        "order_type": "limit",
                        "tif": "gtc",
                    },
                )
            )
    for _ in range(fills):
        for account, side in ((maker.pk, "sell"), (taker.pk, "buy")):
            items.append(
                BatchItem(
                    account,
                    {
                        "type": "PlaceOrder",
                        "market": "BTC-USDC",
                        "side": side,
                        "price": listed.price(60_000),
                        "size": size,
                        "order_type": "limit",
                        "tif": "gtc",
                    },
                )
            )
    for start in range(0, len(items), 1000):
        commands_submit(risk_group=group, items=items[start : start + 1000])
    tasks.shard_process(shard_of(risk_group=group).pk)


@pytest.mark.parametrize("symbol", ["BTC-USDC", "ETH-PERP", "WC26-WINNER"])
def test_a_member_sees_the_book_chart_figures_and_the_form(
    venue: RiskGroup, client: Client, symbol: str
) -> None:
    trader = trader_in(venue)
    client.force_login(trader)
    page = client.get(f"/markets/{symbol}/").content.decode()
    for part in ('id="order-book"', 'id="recent-trades"', 'id="chart-candles"', "Place order"):
        assert part in page
    assert 'sse-connect="/stream/?topic=market%3A' in page
    assert "Free collateral" in page
    if symbol == "ETH-PERP":
        assert "Funding rate" in page and "Open interest" in page and "Reduce only" in page
    if symbol == "WC26-WINNER":
        assert "Implied probability (Argentina)" in page and "fifa.com final match report" in page
        assert 'name="outcome"' in page


def test_a_visitor_who_is_not_a_member_is_told_what_to_do(venue: RiskGroup, client: Client) -> None:
    client.force_login(UserFactory())
    page = client.get("/markets/BTC-USDC/").content.decode()
    assert "Place order" not in page
    assert 'id="trade-blocker"' in page
    assert "Join " in page  # the permissionless group's terms, to accept here


def page_queries(client: Client) -> tuple[int, int]:
    """(queries of the market page that renders its public part, of the next one, which
    takes it from the cache)."""
    cache.clear()
    with CaptureQueriesContext(connection) as rendering:
        assert client.get("/markets/BTC-USDC/").status_code == 200
    with CaptureQueriesContext(connection) as cached:
        assert client.get("/markets/BTC-USDC/").status_code == 200
    return len(rendering.captured_queries), len(cached.captured_queries)


def test_the_page_runs_the_same_queries_whatever_the_book_and_history(
    venue: RiskGroup, client: Client
) -> None:
    maker, taker = trader_in(venue), trader_in(venue)
    client.force_login(maker)
    book_fill(venue, maker, taker, levels=2, fills=2)
    client.get("/markets/BTC-USDC/")  # the session and the registry's tradables, read once
    small = page_queries(client)
    book_fill(venue, maker, taker, levels=60, fills=40)
    assert engine.Order.objects.filter(status="open").count() > 100
    assert page_queries(client) == small
    # the public part (book, trades, candles, figures) costs its queries once per change
    rendering, cached = small
    assert cached <= rendering - 5


def resting(group: RiskGroup, user: User, side: str, price: str) -> int:
    """A resting BTC-USDC order of `user` at `price`; its order id (the user's newest)."""
    listed = market_engine_config(Market.objects.get(symbol="BTC-USDC"))
    command_submit(
        risk_group=group,
        account=user.pk,
        command={
            "type": "PlaceOrder",
            "market": "BTC-USDC",
            "side": side,
            "price": listed.price(price),
            "size": listed.size("0.001"),
            "order_type": "limit",
            "tif": "gtc",
        },
    )
    tasks.shard_process(shard_of(risk_group=group).pk)
    orders = engine.Order.objects.filter(account=user.pk, status="open", market_id="BTC-USDC")
    return orders.latest("order_id").order_id


def part(page: str, element_id: str) -> str:
    """The inside of the page's element `element_id` (a div holding one fragment)."""
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</div>", start)]


def test_two_members_never_see_each_others_orders_or_balances_through_the_cache(
    venue: RiskGroup,
) -> None:
    # given two members, each with a resting order and a balance of their own
    alice, bob = trader_in(venue), member_create(venue, UserFactory())
    engine_deposit(group=venue, user=bob, amount=Decimal(777_777))
    alice_order = resting(venue, alice, "buy", "58123")
    bob_order = resting(venue, bob, "buy", "56456")
    pages = {}
    for user in (alice, bob, alice, bob):  # each page after the other's, the cache warm
        client = Client()
        client.force_login(user)
        pages[user] = client.get("/markets/BTC-USDC/").content.decode()
        # then each sees both orders in the public book ...
        for price in ("58123", "56456"):
            assert price in part(pages[user], "order-book")
    # ... and only their own orders and balances
    mine, theirs = part(pages[alice], "my-orders"), part(pages[bob], "my-orders")
    assert f'id="order-{alice_order}"' in mine and f'id="order-{bob_order}"' not in mine
    assert f'id="order-{bob_order}"' in theirs and f'id="order-{alice_order}"' not in theirs
    assert 'id="free-collateral">7777' in part(pages[bob], "my-account")
    assert 'id="free-collateral">9999' in part(pages[alice], "my-account")
    # and a visitor who is not logged in sees the book, nobody's orders or account
    visitor = Client().get("/markets/BTC-USDC/").content.decode()
    assert "56456" in part(visitor, "order-book")
    assert 'id="my-orders"' not in visitor and 'id="my-account"' not in visitor


def test_an_open_order_shows_with_its_cancel_and_amend_forms(
    venue: RiskGroup, client: Client
) -> None:
    # given a member with two resting orders
    trader = trader_in(venue)
    first = resting(venue, trader, "buy", "58123.5")
    second = resting(venue, trader, "sell", "64000")
    client.force_login(trader)
    # when they open the page, then each order's row has its figures and its two forms,
    # posting to its own URLs with the CSRF token
    mine = part(client.get("/markets/BTC-USDC/").content.decode(), "my-orders")
    for order, side, price in ((first, "Buy", "58123.5"), (second, "Sell", "64000")):
        row = mine[mine.index(f'<tr id="order-{order}">') :]
        row = row[: row.index("</tr>")]
        assert f"<td>#{order}</td>" in row and f"<td>{side}</td>" in row
        assert f"<td>{price}</td><td>0.001</td><td>0</td>" in "".join(row.split())
        for name in ("market_order_cancel", "market_order_amend"):
            url = reverse(name, args=["BTC-USDC", order])
            assert f'action="{url}" hx-post="{url}"' in row
        assert row.count('name="csrfmiddlewaretoken"') == 2
        assert row.count('name="tradable" value="BTC-USDC"') == 2
        assert f'name="price" inputmode="decimal" value="{price}"' in row


def test_the_public_part_is_rendered_again_after_each_engine_change(
    venue: RiskGroup, client: Client
) -> None:
    # given a page whose public part is cached
    alice, bob = trader_in(venue), trader_in(venue)
    client.force_login(alice)
    assert "57001" not in part(client.get("/markets/BTC-USDC/").content.decode(), "order-book")
    # when the engine applies an order (Bob's), then the next page shows it in the book
    resting(venue, bob, "buy", "57001")
    assert "57001" in part(client.get("/markets/BTC-USDC/").content.decode(), "order-book")


def test_a_page_may_open_with_a_public_part_a_moment_old_which_its_stream_replaces(
    venue: RiskGroup, client: Client, settings: Any
) -> None:
    # given a page whose public part is cached, with a moment's staleness allowed
    settings.MARKET_PUBLIC_STALE_SECONDS = 60.0
    alice, bob = trader_in(venue), trader_in(venue)
    client.force_login(alice)
    client.get("/markets/BTC-USDC/")
    # when the engine applies orders of Bob's and Alice's
    resting(venue, bob, "buy", "57002")
    order = resting(venue, alice, "sell", "64001")
    # then the page may open with the book as it was, but Alice's own orders are current
    page = client.get("/markets/BTC-USDC/").content.decode()
    assert "57002" not in part(page, "order-book")
    assert f'id="order-{order}"' in part(page, "my-orders")
    # and the stream the page opens sends the current book at once
    events = dict(market_events("BTC-USDC", alice))
    assert "57002" in events["book"] and "64001" in events["book"]
    # and once the allowance has passed, the page renders it again
    settings.MARKET_PUBLIC_STALE_SECONDS = 0.0
    assert "57002" in part(client.get("/markets/BTC-USDC/").content.decode(), "order-book")


def test_the_candles_and_the_day_read_together_are_those_read_apart(venue: RiskGroup) -> None:
    # given trades at several engine times, in one hour's bar
    maker, taker = trader_in(venue), trader_in(venue)
    for _ in range(4):
        book_fill(venue, maker, taker, levels=0, fills=2)
        time.sleep(0.005)
    tradable = tradables()["BTC-USDC"]
    times = sorted({int(fill.ts) for fill in trades_of(tradable, limit=100)})
    assert len(times) >= 4
    # when the day begins before, between and after them, then both reads agree
    for day_start in [times[0] - 1, *times, times[-1] + 1]:
        now = day_start + DAY_MS
        start = now - 2 * DAY_MS
        together = candles_and_day(tradable, start_ms=start, now_ms=now, width_ms=3_600_000)
        apart = (
            candles_between(tradable, start_ms=start, end_ms=now, width_ms=3_600_000),
            day_of(tradable, now_ms=now),
        )
        assert together == apart
