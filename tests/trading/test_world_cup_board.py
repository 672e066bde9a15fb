"""The World Cup board from the trader's side: every team with its probability, best
bid and ask, 24 h change and volume, most likely first, with the sum; one click buys YES or
NO through the membership gate; a non-member is told what to do; the page's query count
does not grow with the book or the history."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engine import selectors
from engine.services import shard_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/world-cup/"  # the board of WC26-WINNER


def rows_of(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('data-outcome="')[1:]]


def test_the_board_lists_every_team_by_probability_with_bid_ask_and_the_sum(client, world_cup):
    # Given the maker quotes every team
    world_cup.quote()
    # When a visitor opens the board
    response = client.get(URL)
    html = response.content.decode()
    # Then the teams come most likely first, each with its mid probability, bid and ask
    assert response.status_code == 200
    assert rows_of(html) == ["Argentina", "Brazil", "France"]
    board = response.context["board"]
    argentina = board.outcomes[0]
    assert (argentina.bid, argentina.ask, argentina.probability) == (
        Decimal("0.49"),
        Decimal("0.51"),
        Decimal("0.5"),
    )
    # and the sum of the implied probabilities is shown: 50% + 30% + 20%
    assert board.probability_sum == Decimal("1")
    assert 'id="probability-sum">100.0%' in html
    # and the single-match market sits beside it
    assert [s.market.symbol for s in board.singles] == ["WC26-MEX-OPENER"]
    assert board.singles[0].probability == Decimal("0.62")
    # and a visitor who is not logged in is asked to log in, not shown buy buttons
    assert "Log in</a> to trade" in html and "Buy YES" not in html


def test_a_member_buys_yes_on_a_team_in_one_click_and_holds_it(client, world_cup, trader):
    world_cup.quote()
    client.force_login(trader)
    # When the trader clicks YES on Brazil for 3 shares
    response = client.post(
        reverse("board_buy", args=["WC26-WINNER"]),
        {"market": "WC26-WINNER:Brazil", "outcome": "yes", "size": "3"},
    )
    assert response.status_code == 302 and response["Location"] == URL
    world_cup.process()
    # Then they hold 3 YES shares of Brazil bought at the maker's ask, paid with the fee
    shard = shard_of(risk_group=world_cup.group)
    (holding,) = selectors.holdings_of(shard=shard, account=trader.pk)
    assert (holding.market_id, holding.yes) == ("WC26-WINNER:Brazil", 3)
    (fill,) = selectors.fills_of(shard=shard, account=trader.pk)
    assert fill.taker_buys and fill.price * Decimal("1e-12") == Decimal("0.31")
    # and the board shows the holding and the day's volume
    page = client.get(URL)
    assert "3 YES" in page.content.decode()
    brazil = next(r for r in page.context["board"].outcomes if r.outcome == "Brazil")
    assert brazil.volume == 3


def test_buying_no_on_a_team_and_yes_on_the_single_match_market(client, world_cup, trader):
    world_cup.quote()
    client.force_login(trader)
    client.post(
        reverse("board_buy", args=["WC26-WINNER"]),
        {"market": "WC26-WINNER:France", "outcome": "no", "size": "2"},
    )
    client.post(
        reverse("board_buy", args=["WC26-WINNER"]),
        {"market": "WC26-MEX-OPENER", "outcome": "yes", "size": "1"},
    )
    world_cup.process()
    held = {
        h.market_id: (h.yes, h.no)
        for h in selectors.holdings_of(
            shard=shard_of(risk_group=world_cup.group), account=trader.pk
        )
    }
    assert held == {"WC26-WINNER:France": (0, 2), "WC26-MEX-OPENER": (1, 0)}


def test_a_non_member_is_told_what_to_do_and_cannot_buy(client, world_cup):
    world_cup.quote()
    outsider = UserFactory()
    client.force_login(outsider)
    page = client.get(URL).content.decode()
    assert "YES 0.31" not in page
    assert "Buy YES" not in page and "KYC" in page
    # When they post the buy form anyway
    response = client.post(
        reverse("board_buy", args=["WC26-WINNER"]),
        {"market": "WC26-WINNER:Brazil", "outcome": "yes", "size": "3"},
        follow=True,
    )
    # Then the membership gate refuses it in words and nothing is journaled for them
    assert "KYC" in response.content.decode()
    assert not shard_of(risk_group=world_cup.group).commands.filter(account=outsider.pk).exists()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"market": "BTC-USDC", "outcome": "yes", "size": "1"}, "is not traded on this board"),
        ({"market": "WC26-WINNER:Brazil", "outcome": "maybe", "size": "1"}, "valid choice"),
        ({"market": "WC26-WINNER:Brazil", "outcome": "yes", "size": "0.5"}, "not a whole number"),
    ],
)
def test_bad_quick_buys_are_refused_in_words(client, world_cup, trader, data, words):
    client.force_login(trader)
    response = client.post(reverse("board_buy", args=["WC26-WINNER"]), data, follow=True)
    assert response.status_code == 200 and words in response.content.decode()
    commands = shard_of(risk_group=world_cup.group).commands.filter(account=trader.pk)
    assert not commands.filter(kind="PlaceOrder").exists()


def board_queries(client, world_cup, trader, *, levels: int, trades: int) -> int:
    world_cup.quote(levels=levels)
    for _ in range(trades):
        world_cup.order(trader, "WC26-WINNER:Argentina", "buy", 1, "0.60")
    world_cup.process()
    client.force_login(trader)
    client.get(URL)  # warm the per-process caches (shards, tradables)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_the_board_runs_as_many_queries_with_a_deep_book_and_a_long_history(
    client, world_cup, trader
):
    few = board_queries(client, world_cup, trader, levels=1, trades=1)
    many = board_queries(client, world_cup, trader, levels=6, trades=20)
    assert few == many
