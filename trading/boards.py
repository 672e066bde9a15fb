"""The board of a categorical prediction market (the 2026 World Cup winner): every
outcome with its implied probability, best bid and ask, 24 h change and volume, most
likely first, the sum of the probabilities, and the group's single-question markets
beside it; with the visitor's holdings when they are signed in.

The board's figures and the visitor's holdings are also kept live (trading.live_topics):
`board_cells` and `board_holdings` format every cell once, for the page and the stream."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from engine import models as engine
from engine.services import shard_of
from markets.models import Market, MarketStatus
from markets.selectors import TradableStats, market_stats
from xip_portal.models import User
from xip_portal.templatetags.numbers import amount, percent, signed_percent

from .instruments import tradables


@dataclass(frozen=True)
class Board:
    market: Market
    outcomes: list[TradableStats]
    probability_sum: Decimal
    singles: list[TradableStats]
    # engine market id -> what the visitor holds of it in words ("3 YES 1 NO"; "–" for nothing)
    holdings: dict[str, str]

    @cached_property
    def cells(self) -> dict[str, Any]:
        return board_cells(self)


def board_of(market: Market, *, user: User | None, now: datetime) -> Board:
    """A constant number of queries whatever the number of outcomes, orders and fills."""
    singles = list(
        Market.objects.filter(
            risk_group_id=market.risk_group_id,
            market_type=market.market_type,
            status__in=(MarketStatus.LIVE, MarketStatus.HALTED),
            spec__outcomes__isnull=True,
        )
        .exclude(pk=market.pk)
        .select_related("risk_group")
        .order_by("symbol")
    )
    stats = market_stats([market, *singles], now=now)
    outcomes = sorted(
        (s for s in stats.values() if s.market.pk == market.pk),
        key=lambda s: (-(s.probability or 0), s.outcome),
    )
    return Board(
        market=market,
        outcomes=outcomes,
        probability_sum=sum((s.probability or Decimal(0) for s in outcomes), Decimal(0)),
        singles=[stats[m.symbol] for m in singles if m.symbol in stats],
        holdings=board_holdings(market, user=user) if user is not None else {},
    )


def board_holdings(market: Market, *, user: User) -> dict[str, str]:
    """What `user` holds of every tradable of the board's risk group, in words, by engine
    market id ("–" for nothing, so that a holding sold off is cleared on a live page)."""
    known = {
        key: tradable
        for key, tradable in tradables().items()
        if tradable.risk_group_id == market.risk_group_id and tradable.kind == "prediction"
    }
    held = dict.fromkeys(known, "–")
    rows = engine.Holding.objects.filter(
        shard=shard_of(risk_group=market.risk_group_id), account=user.pk, market_id__in=list(known)
    ).values_list("market_id", "yes", "yes_locked", "no", "no_locked")
    for market_id, yes, yes_locked, no, no_locked in rows:
        size = known[market_id].size
        shares = [(yes + yes_locked, "YES"), (no + no_locked, "NO")]
        held[market_id] = " ".join(f"{amount(size(n))} {side}" for n, side in shares if n)
    return held


def board_cells(board: Board) -> dict[str, Any]:
    """The board's figures as the page shows them, in the shape static/js/live_cells.js
    places: each tradable's cells and trend, the outcomes' order and the sum."""
    rows = {}
    for stats in [*board.outcomes, *board.singles]:
        change = stats.change
        rows[stats.engine_market] = {
            "cells": {
                "probability": percent(stats.probability),
                "bid": amount(stats.bid),
                "ask": amount(stats.ask),
                "change": "–" if change is None else f"{signed_percent(change)} pts",
                "volume": amount(stats.volume),
            },
            "trend": "" if not change else ("up" if change > 0 else "down"),
        }
    total = percent(board.probability_sum)
    return {
        "rows": rows,
        "order": [stats.engine_market for stats in board.outcomes],
        "totals": {"probability-sum": total, "probability-sum-total": total},
    }
