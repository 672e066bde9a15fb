"""Market data of one tradable, read from the engine's projections: the book (resting
orders by price level), the latest trades with their engine time, and the day's ticker.
A prediction book is the engine's merged one: a resting NO order at p is a YES order on
the other side at payout - p."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet, Sum

from engine import models as engine
from engine.core.perp import funding_rate_ppm
from engine.selectors import fill_time
from engine.services import shard_of

from .instruments import Tradable

DAY_MS = 86_400_000
# candle widths by name (OKX's names; the ...utc ones are the same bars)
BARS_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1H": 3_600_000,
    "2H": 7_200_000,
    "4H": 14_400_000,
    "6Hutc": 21_600_000,
    "12Hutc": 43_200_000,
    "1Dutc": 86_400_000,
    "6H": 21_600_000,
    "12H": 43_200_000,
    "1D": 86_400_000,
}


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


@dataclass
class Candle:
    """One bar of trades: open time (ms), prices and size in engine units; `turnover` is
    the sum of price * size (the quote volume in engine units of money)."""

    start: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    turnover: int


def candles_of(fills: Iterable[Any], *, width_ms: int) -> list[Candle]:
    """Bars of `width_ms` built from fills annotated with `ts` (oldest first), oldest
    first; bars without trades are left out."""
    candles: dict[int, Candle] = {}
    for fill in fills:
        start = int(fill.ts) // width_ms * width_ms
        price, size = int(fill.price), int(fill.size)
        candle = candles.get(start)
        if candle is None:
            candles[start] = Candle(start, price, price, price, price, size, price * size)
            continue
        candle.high, candle.low = max(candle.high, price), min(candle.low, price)
        candle.close = price
        candle.volume += size
        candle.turnover += price * size
    return [candles[start] for start in sorted(candles)]


def funding_rate_now(tradable: Tradable, bids: list[Level], asks: list[Level], mark: int) -> int:
    """A perp's funding rate (ppm) as the engine would pay it now: the premium of the
    book's mid over the mark (the oracle index), capped; 0 while either side is empty."""
    if not (bids and asks and mark):
        return 0
    mid = (bids[0].price + asks[0].price) // 2
    return funding_rate_ppm(mid, mark, tradable.listed.config.funding_cap_ppm)


def open_interest_of(tradable: Tradable) -> int:
    """A perp's open interest: the size of all long positions (= all short ones)."""
    total = engine.Position.objects.filter(
        shard=_shard(tradable), market_id=tradable.engine_market, size__gt=0
    ).aggregate(total=Sum("size"))["total"]
    return int(total or 0)
