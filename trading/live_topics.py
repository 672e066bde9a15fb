"""The live topics of the trader pages other than the market page (trading.market_page has
"market" and "mine"): the board of a categorical market and the viewer's holdings on it,
the viewer's portfolio, and the registry list. Each renders the whole current state of
what it shows (trading.live), so a page that reconnects catches up at once."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from django.template.loader import render_to_string
from django.utils import timezone

from engine.services import shard_of
from markets.models import Market
from markets.pages import registry_listing
from xip_portal.errors import NotAuthenticated, NotFound
from xip_portal.models import User

from .boards import board_holdings, board_of
from .live import Events, Topic, json_data
from .portfolio import portfolio_of

# board symbol -> the id of its risk group's shard, learnt as boards render: which engine
# changes touch a board (its outcomes' and the single-match markets' beside it) without
# reading the database in the event loop
_board_shards: dict[str, int] = {}


def _board_market(symbol: str) -> Market:
    market = (
        Market.objects.filter(symbol=symbol, market_type="prediction", spec__outcomes__isnull=False)
        .select_related("risk_group")
        .first()
    )
    if market is None:
        raise NotFound(f"There is no board {symbol[:80]!r}.")
    return market


def _signed_in(viewer: User | None) -> User:
    """The viewer of a private topic (the stream refuses one without a login first)."""
    if viewer is None:
        raise NotAuthenticated("Log in to follow your own figures.")
    return viewer


def board_events(key: str, viewer: User | None) -> Events:
    """Topic "board:<symbol>": every figure of the board (static/js/live_cells.js places them)."""
    market = _board_market(key)
    _board_shards[key] = shard_of(risk_group=market.risk_group_id).pk
    return [("board", json_data(board_of(market, user=None, now=timezone.now()).cells))]


def boards_touched(change: dict[str, Any]) -> list[str]:
    return [symbol for symbol, shard in _board_shards.items() if shard == change["shard"]]


def holdings_events(key: str, viewer: User | None) -> Events:
    """Topic "holdings:<board symbol>" (private): what the viewer holds on the board."""
    held = board_holdings(_board_market(key), user=_signed_in(viewer))
    rows = {market_id: {"cells": {"holding": text}} for market_id, text in held.items()}
    return [("holdings", json_data({"rows": rows}))]


def portfolio_events(key: str, viewer: User | None) -> Events:
    """Topic "portfolio:" (private): the viewer's accounts (collateral, positions, holdings,
    open orders) and history (fills, statement, transfers)."""
    portfolio = portfolio_of(user_id=_signed_in(viewer).pk)
    return [
        (
            "accounts",
            render_to_string("trading/includes/portfolio_accounts.html", {"portfolio": portfolio}),
        ),
        ("history", portfolio.history),
    ]


def registry_events(key: str, viewer: User | None) -> Events:
    """Topic "registry:<the list's query>": the rows of that page of the registry list."""
    context = registry_listing(QueryDict(key))
    return [("registry", render_to_string("markets/includes/registry_rows.html", context))]


BOARD_TOPIC = Topic("board", board_events, boards_touched)
HOLDINGS_TOPIC = Topic("holdings", holdings_events, private=True)
PORTFOLIO_TOPIC = Topic("portfolio", portfolio_events, private=True)
REGISTRY_TOPIC = Topic("registry", registry_events)
