"""The registry list with each market's day: last price or probability, 24 h change,
volume and open interest, sortable; read from the engine without the registry importing
the trading room, in a constant number of queries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def test_the_list_shows_each_markets_day_and_sorts_by_volume(client, world_cup, trader):
    # Given the maker quotes and the trader buys 4 YES of Brazil and 2 of the opener
    world_cup.quote()
    world_cup.order(trader, "WC26-WINNER:Brazil", "buy", 4, "0.31")
    world_cup.order(trader, "WC26-MEX-OPENER", "buy", 2, "0.64")
    world_cup.process()
    # When a visitor sorts the registry by volume, largest first
    response = client.get("/markets/?sort=-volume")
    rows = list(response.context["page"])
    # Then the World Cup market comes first with its leading team's probability
    assert [row.market.symbol for row in rows] == ["WC26-WINNER", "WC26-MEX-OPENER"]
    winner, opener = rows
    assert (winner.lead, winner.stats.probability, winner.volume) == (
        "Argentina",
        Decimal("0.5"),
        4,
    )
    # and the opener's last price, volume and open interest (the YES shares held)
    assert (opener.stats.last, opener.volume, opener.open_interest) == (Decimal("0.64"), 2, 2)
    html = response.content.decode()
    assert "Argentina 50.0%" in html
    # and sorted by symbol the order turns
    by_symbol = [r.market.symbol for r in client.get("/markets/?sort=symbol").context["page"]]
    assert by_symbol == ["WC26-MEX-OPENER", "WC26-WINNER"]


def test_an_unknown_sort_falls_back_to_the_symbol(client, world_cup):
    response = client.get("/markets/?sort=__class__")
    assert response.status_code == 200 and response.context["sort"] == ""


def list_queries(client, world_cup, trader, trades: int) -> int:
    world_cup.quote(levels=2)
    for _ in range(trades):
        world_cup.order(trader, "WC26-WINNER:France", "buy", 1, "0.21")
    world_cup.process()
    client.get("/markets/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/markets/?sort=-change")
    return len(queries)


def test_the_list_runs_as_many_queries_with_more_orders_and_fills(client, world_cup, trader):
    assert list_queries(client, world_cup, trader, 1) == list_queries(client, world_cup, trader, 6)
