"""Market data of one tradable, read from the engine's projections: the book (resting
orders by price level), the latest trades with their engine time, and the day's ticker.
A prediction book is the engine's merged one: a resting NO order at p is a YES order on
the other side at payout - p."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from engine import models as engine
from engine.selectors import fill_time as fill_time  # the trading room reads it here too
from engine.services import shard_of

from .instruments import Tradable

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Level:
    price: int
    size: int
    orders: int


def _shard(tradable: Tradable) -> engine.Shard:
    return shard_of(risk_group=tradable.risk_group_id)


def book_of(tradable: Tradable, *, depth: int) -> tuple[list[Level], list[Level]]:
    """(bids best first, asks best first), at most `depth` levels each."""
    payout = int(tradable.listed.config.payout or 0)
    rows = (
        engine.Order.objects.filter(
            shard=_shard(tradable), market_id=tradable.engine_market, status="open"
        )
        .values_list("side", "outcome", "price", "remaining")
        .iterator()
    )
    sides: dict[str, dict[int, list[int]]] = {
        "buy": defaultdict(lambda: [0, 0]),
        "sell": defaultdict(lambda: [0, 0]),
    }
    for side, outcome, price, remaining in rows:
        price = int(price)
        if outcome == "no":
            side, price = ("sell" if side == "buy" else "buy"), payout - price
        level = sides[side][price]
        level[0] += int(remaining)
        level[1] += 1
    bids = [Level(p, s, n) for p, (s, n) in sorted(sides["buy"].items(), reverse=True)]
    asks = [Level(p, s, n) for p, (s, n) in sorted(sides["sell"].items())]
    return bids[:depth], asks[:depth]


def _fills(tradable: Tradable) -> QuerySet[Any]:
    """The tradable's fills with `ts`."""
    return engine.Fill.objects.filter(
        shard=_shard(tradable), market_id=tradable.engine_market
    ).annotate(ts=fill_time())


def trades_of(tradable: Tradable, *, limit: int) -> list[Any]:
    """The latest trades, newest first."""
    return list(_fills(tradable).order_by("-seq", "-index")[:limit])


def trades_between(tradable: Tradable, *, start_ms: int, end_ms: int) -> QuerySet[Any]:
    """The trades from `start_ms` to `end_ms` (engine time), oldest first."""
    return _fills(tradable).filter(ts__gte=start_ms, ts__lte=end_ms).order_by("seq", "index")


def ticker_of(tradable: Tradable, *, now_ms: int) -> dict[str, Any]:
    """Last price, best bid and ask, and the last 24 hours' open, high, low and volume."""
    bids, asks = book_of(tradable, depth=1)
    day = [
        (int(fill.price), int(fill.size))
        for fill in trades_between(tradable, start_ms=now_ms - DAY_MS, end_ms=now_ms)
    ]
    market = engine.MarketView.objects.filter(
        shard=_shard(tradable), market_id=tradable.engine_market
    ).first()
    last = int(market.last_price) if market is not None else 0
    return {
        "last": last,
        "bid": bids[0] if bids else None,
        "ask": asks[0] if asks else None,
        "open": day[0][0] if day else last,
        "high": max((p for p, _ in day), default=last),
        "low": min((p for p, _ in day), default=last),
        "volume": sum(s for _, s in day),
        "mark": int(market.mark) if market is not None else 0,
    }
