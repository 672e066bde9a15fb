"""Market data of one tradable, read from the engine's projections: the book (resting
orders by price level), the latest trades with their engine time, candles and the day's
ticker. A prediction book is the engine's merged one: a resting NO order at p is a YES
order on the other side at payout - p.

The database does the grouping (levels by price, candles by bar, the day's range), so a
page or an API call reads one row per level or bar, never one per order or fill; candles
and the day's figures are made of the writer's one-minute bars (`engine.Candle`), so
their cost does not grow with the trades."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, F, Max, Min, Q, QuerySet, Sum

from engine import models as engine
from engine.core.perp import funding_rate_ppm
from engine.core.projection import CANDLE_MS
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
        .values("side", "outcome", "price")
        .annotate(size=Sum("remaining"), orders=Count("pk"))
        .order_by()
        .values_list("side", "outcome", "price", "size", "orders")
    )
    sides: dict[str, dict[int, list[int]]] = {
        "buy": defaultdict(lambda: [0, 0]),
        "sell": defaultdict(lambda: [0, 0]),
    }
    for side, outcome, price, size, orders in rows:
        price = int(price)
        if outcome == "no":
            side, price = ("sell" if side == "buy" else "buy"), payout - price
        level = sides[side][price]
        level[0] += int(size)
        level[1] += orders
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


def _minutes(tradable: Tradable, *, start_ms: int, end_ms: int) -> QuerySet[Any]:
    """The tradable's one-minute bars (the writer's candle projection) of the trades from
    `start_ms` to `end_ms` (engine time), to the minute: a minute with a trade in the span
    counts whole."""
    return engine.Candle.objects.filter(
        shard=_shard(tradable),
        market_id=tradable.engine_market,
        start__gt=start_ms - CANDLE_MS,
        start__lte=end_ms,
    )


def _ends_at(tradable: Tradable, minutes: set[int]) -> dict[int, tuple[int, int]]:
    """The open and close of the one-minute bars beginning at `minutes` (one query)."""
    rows = engine.Candle.objects.filter(
        shard=_shard(tradable), market_id=tradable.engine_market, start__in=minutes
    ).values_list("start", "open", "close")
    return {start: (int(opened), int(closed)) for start, opened, closed in rows}


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


def _bar_rows(
    tradable: Tradable, *, start_ms: int, end_ms: int, width_ms: int, split_ms: int | None = None
) -> list[dict[str, Any]]:
    """One row per bar of `width_ms` (a whole number of minutes) of the trades from
    `start_ms` to `end_ms`, oldest first: its range, volume, turnover and first and last
    minute. Given `split_ms`, a bar is two rows, its minutes before and from `split_ms`'s
    (`late`), cut where day_of cuts."""
    bars = (
        _minutes(tradable, start_ms=start_ms, end_ms=end_ms)
        .order_by()
        .annotate(bar=F("start") / width_ms * width_ms)
    )
    group = ["bar"]
    if split_ms is not None:
        late = Q(start__gt=split_ms - CANDLE_MS)
        bars = bars.annotate(late=ExpressionWrapper(late, BooleanField()))
        group.append("late")
    return list(
        bars.values(*group)
        .annotate(
            high=Max("high"),
            low=Min("low"),
            volume=Sum("volume"),
            turnover=Sum("turnover"),
            first=Min("start"),
            last=Max("start"),
        )
        .order_by("bar")
    )


def _candle(bar: dict[str, Any], ends: dict[int, tuple[int, int]]) -> Candle:
    return Candle(
        start=int(bar["bar"]),
        open=ends[bar["first"]][0],
        high=int(bar["high"]),
        low=int(bar["low"]),
        close=ends[bar["last"]][1],
        volume=int(bar["volume"]),
        turnover=int(bar["turnover"]),
    )


def candles_between(
    tradable: Tradable, *, start_ms: int, end_ms: int, width_ms: int
) -> list[Candle]:
    """Bars of `width_ms` of the trades from `start_ms` to `end_ms`, oldest first; bars
    without trades are left out. Two queries, one row per minute with trades."""
    bars = _bar_rows(tradable, start_ms=start_ms, end_ms=end_ms, width_ms=width_ms)
    ends = _ends_at(tradable, {bar[end] for bar in bars for end in ("first", "last")})
    return [_candle(bar, ends) for bar in bars]


@dataclass(frozen=True)
class Day:
    """The last 24 hours' trading in engine units, to the minute (None: no trade)."""

    open: int | None
    high: int | None
    low: int | None
    volume: int


def day_of(tradable: Tradable, *, now_ms: int) -> Day:
    """The 24 hours before `now_ms`: first price, range and volume. Two queries."""
    day = (
        _minutes(tradable, start_ms=now_ms - DAY_MS, end_ms=now_ms)
        .order_by()
        .aggregate(high=Max("high"), low=Min("low"), volume=Sum("volume"), first=Min("start"))
    )
    if day["first"] is None:
        return Day(None, None, None, 0)
    opened = _ends_at(tradable, {day["first"]})[day["first"]][0]
    return Day(opened, int(day["high"]), int(day["low"]), int(day["volume"]))


def candles_and_day(
    tradable: Tradable, *, start_ms: int, now_ms: int, width_ms: int
) -> tuple[list[Candle], Day]:
    """candles_between(start_ms, now_ms) and day_of(now_ms) in two queries instead of four
    (a market page shows both): the bars, split where the day begins, make both; `start_ms`
    is at least a day before `now_ms`."""
    day_start = now_ms - DAY_MS
    if start_ms > day_start:
        raise ValueError("The candles must span the day.")
    rows = _bar_rows(
        tradable, start_ms=start_ms, end_ms=now_ms, width_ms=width_ms, split_ms=day_start
    )
    bars: dict[int, dict[str, Any]] = {}
    for row in rows:
        bar = bars.get(row["bar"])
        if bar is None:
            bars[row["bar"]] = dict(row)
            continue
        bar["high"], bar["low"] = max(bar["high"], row["high"]), min(bar["low"], row["low"])
        bar["volume"] += row["volume"]
        bar["turnover"] += row["turnover"]
        bar["first"], bar["last"] = min(bar["first"], row["first"]), max(bar["last"], row["last"])
    late = [row for row in rows if row["late"]]
    minutes = {bar[end] for bar in bars.values() for end in ("first", "last")}
    first = min(row["first"] for row in late) if late else None
    ends = _ends_at(tradable, minutes | ({first} if first is not None else set()))
    candles = [_candle(bar, ends) for bar in bars.values()]
    if first is None:
        return candles, Day(None, None, None, 0)
    return candles, Day(
        ends[first][0],
        int(max(row["high"] for row in late)),
        int(min(row["low"] for row in late)),
        int(sum(row["volume"] for row in late)),
    )


def ticker_of(tradable: Tradable, *, now_ms: int) -> dict[str, Any]:
    """Last price, best bid and ask, and the last 24 hours' open, high, low and volume."""
    bids, asks = book_of(tradable, depth=1)
    day = day_of(tradable, now_ms=now_ms)
    market = engine.MarketView.objects.filter(
        shard=_shard(tradable), market_id=tradable.engine_market
    ).first()
    last = int(market.last_price) if market is not None else 0
    return {
        "last": last,
        "bid": bids[0] if bids else None,
        "ask": asks[0] if asks else None,
        "open": day.open if day.open is not None else last,
        "high": day.high if day.high is not None else last,
        "low": day.low if day.low is not None else last,
        "volume": day.volume,
        "mark": int(market.mark) if market is not None else 0,
    }


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
