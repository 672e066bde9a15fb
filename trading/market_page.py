"""The trading part of a market's page (added to the registry's page through
markets.pages): the book with its spread and depth, the price chart, recent trades, the
market's figures (perps: mark, index, funding, open interest; prediction: implied
probability, close time, resolution), the order form, and the viewer's own orders, fills,
position or holdings and free collateral. Each part is a fragment that the live stream
(trading.live, topics "market" and "mine") renders again after each engine change.

A categorical prediction market trades one outcome at a time: the page shows the outcome
named by `?outcome=` (the first one otherwise)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import json_script
from django.utils.safestring import SafeString

from engine import models as engine
from engine import selectors as engine_selectors
from engine.core.markets import BPS
from engine.services import shard_of
from governance.memberships.services import membership_require
from markets.models import Market, MarketStatus
from xip_portal.cache import cache_key, kept_in_process
from xip_portal.compiled_queries import CompiledQuery
from xip_portal.errors import ApplicationError, NotFound
from xip_portal.models import User

from .instruments import Tradable, tradables
from .live import Topic, json_data
from .market_data import (
    DAY_MS,
    Level,
    book_of,
    candles_and_day,
    funding_rate_now,
    open_interest_of,
    trades_of,
)
from .order_form import OrderForm

BOOK_LEVELS = 500  # read (the depth chart draws them all)
BOOK_SHOWN = 15  # levels shown each side in the table
TRADES_SHOWN = 30
MY_FILLS_SHOWN = 20
MY_ORDERS_SHOWN = 50
CANDLE_MS = 300_000  # 5-minute bars
CANDLE_SPAN_MS = 2 * DAY_MS
DEPTH_WIDTH, DEPTH_HEIGHT = 600, 160


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def tradable_of(market: Market, outcome: str = "") -> Tradable | None:
    """The market's tradable (a categorical market's `outcome`, its first by default);
    None while the engine does not list it."""
    listed = tradables()
    if market.outcomes:
        wanted = outcome if outcome in market.outcomes else market.outcomes[0]
        return listed.get(f"{market.symbol}:{wanted}")
    return listed.get(market.symbol)


def tradable_get(key: str) -> Tradable:
    """A tradable by its engine market id, or NotFound."""
    tradable = tradables().get(key)
    if tradable is None:
        raise NotFound(f"No market {key[:80]!r} trades here.")
    return tradable


# ---------------------------------------------------------------------------- public


def text(value: Decimal) -> str:
    """A decimal as the page shows it: plain digits, never an exponent."""
    return f"{value:f}"


@dataclass
class Row:
    """A price level or a trade as shown, and the engine price (`units`) that identifies a
    level."""

    units: int
    price: str
    size: str
    total: str = ""
    orders: int = 0
    side: str = ""
    ts: int = 0

    @property
    def clock(self) -> str:
        """The time of day (UTC) of a trade."""
        return datetime.fromtimestamp(self.ts / 1000, tz=UTC).strftime("%H:%M:%S")


@dataclass
class MarketData:
    tradable: Tradable
    bids: list[Row]
    asks: list[Row]
    spread: str | None
    depth_bids: str  # SVG polyline points
    depth_asks: str
    trades: list[Row]
    candles: list[dict[str, Any]]
    stats: list[tuple[str, str]]  # (label, value)
    perp: dict[str, Any] = field(default_factory=dict)
    prediction: dict[str, Any] = field(default_factory=dict)


def _rows(tradable: Tradable, levels: list[Level]) -> list[Row]:
    rows, total = [], 0
    for level in levels:
        total += level.size
        rows.append(
            Row(
                level.price,
                text(tradable.price(level.price)),
                text(tradable.size(level.size)),
                text(tradable.size(total)),
                level.orders,
            )
        )
    return rows


def _depth(bids: list[Level], asks: list[Level]) -> tuple[str, str]:
    """The cumulative size of each side as SVG polyline points (price across, size up)."""
    if not bids and not asks:
        return "", ""
    low = (bids[-1] if bids else asks[0]).price
    high = (asks[-1] if asks else bids[0]).price
    span = max(high - low, 1)
    most = max(sum(lv.size for lv in bids), sum(lv.size for lv in asks), 1)

    def points(levels: list[Level]) -> str:
        out, total = [], 0
        for level in levels:
            x = (level.price - low) * DEPTH_WIDTH // span
            out.append(f"{x},{DEPTH_HEIGHT - total * DEPTH_HEIGHT // most}")
            total += level.size
            out.append(f"{x},{DEPTH_HEIGHT - total * DEPTH_HEIGHT // most}")
        if levels:
            edge = 0 if levels is bids else DEPTH_WIDTH
            out.append(f"{edge},{DEPTH_HEIGHT - total * DEPTH_HEIGHT // most}")
        return " ".join(out)

    return points(bids), points(asks)


def _money(tradable: Tradable, units: int) -> str:
    return f"{tradable.money(units):f} {tradable.listed.config.quote_asset}"


def market_data(tradable: Tradable, *, now: int | None = None) -> MarketData:
    """What every visitor sees of one tradable; a fixed number of queries (book, trades,
    candles with the day's range, the engine's market, and a perp's open interest)."""
    now = now if now is not None else now_ms()
    bids, asks = book_of(tradable, depth=BOOK_LEVELS)
    recent = trades_of(tradable, limit=TRADES_SHOWN)
    candles, day = candles_and_day(
        tradable, start_ms=now - CANDLE_SPAN_MS, now_ms=now, width_ms=CANDLE_MS
    )
    view = engine_selectors.market_get(
        shard=shard_of(risk_group=tradable.risk_group_id), market_id=tradable.engine_market
    )
    last = int(view.last_price) if view is not None else 0
    mark = int(view.mark) if view is not None else 0
    opened = day.open if day.open is not None else last
    price, size = tradable.price, tradable.size
    stats = [
        ("Last", text(price(last)) if last else "—"),
        (
            "24 h change",
            f"{(Decimal(last - opened) * 100 / opened).quantize(Decimal('0.01')):+f} %"
            if opened and last
            else "—",
        ),
        ("24 h high", text(price(day.high)) if day.high is not None else "—"),
        ("24 h low", text(price(day.low)) if day.low is not None else "—"),
        ("24 h volume", text(size(day.volume))),
    ]
    data = MarketData(
        tradable=tradable,
        bids=_rows(tradable, bids[:BOOK_SHOWN]),
        asks=_rows(tradable, asks[:BOOK_SHOWN]),
        spread=text(price(asks[0].price - bids[0].price)) if bids and asks else None,
        depth_bids="",
        depth_asks="",
        trades=[
            Row(
                int(fill.price),
                text(price(fill.price)),
                text(size(fill.size)),
                side="buy" if fill.taker_buys else "sell",
                ts=int(fill.ts or 0),
            )
            for fill in recent
        ],
        candles=[
            {
                "time": candle.start // 1000,
                "open": str(price(candle.open)),
                "high": str(price(candle.high)),
                "low": str(price(candle.low)),
                "close": str(price(candle.close)),
                "volume": str(size(candle.volume)),
            }
            for candle in candles
        ],
        stats=stats,
    )
    data.depth_bids, data.depth_asks = _depth(bids, asks)
    config = tradable.listed.config
    if tradable.kind == "perp":
        rate = funding_rate_now(tradable, bids, asks, mark)
        interval = config.funding_interval_ms
        next_funding = (now // interval + 1) * interval
        data.perp = {
            "mark": text(price(mark)) if mark else None,
            "index": text(price(mark)) if mark else None,
            "funding_rate": text(Decimal(rate).scaleb(-4)),  # ppm as a percentage
            "next_funding_ms": next_funding,
            "next_funding_in": (next_funding - now) // 1000,
            "open_interest": text(size(open_interest_of(tradable))),
        }
    elif tradable.kind == "prediction":
        payout = config.payout
        mid = (bids[0].price + asks[0].price) // 2 if bids and asks else last
        spec = tradable.market.spec
        data.prediction = {
            "probability": (Decimal(mid) * 100 / payout).quantize(Decimal("0.1")) if mid else None,
            "close_time": spec.get("close_time", ""),
            "resolution_source": spec.get("resolution_source", ""),
            "state": view.status if view is not None else tradable.market.status,
            "outcome": tradable.outcome,
        }
    return data


# The public fragments (book, recent trades, figures, chart bars) are the same for every
# visitor, so they are rendered once per engine change and kept in the cache (Redis when
# several processes serve), per tradable. An entry is current while the shard's high-water
# mark has not moved since it was read before the render. A page may open with an entry that
# is not current but at most MARKET_PUBLIC_STALE_SECONDS old (0.5 s by default): its live
# stream sends every public topic again the moment it connects, and after each batch, so the
# page is brought up to date at once (exchanges' pages open the same way); under a busy
# market this is what bounds the renders to a couple a second. The stream itself only takes
# current entries. The viewer's own parts (orders, fills, account) never come from here.
# Time alone moves the day's figures and the chart's window: no entry outlives PUBLIC_SECONDS.
PUBLIC_SECONDS = 60


@dataclass(frozen=True)
class PublicFragments:
    seq: int  # the shard's high-water mark read before the render
    rendered_at: float  # time.time(): comparable across processes sharing the cache
    book: str
    trades: str
    stats: str
    candles: str  # JSON (the stream's chart event)
    chart: str  # the candles as the page's json_script

    def is_current(self, seq: int) -> bool:
        return self.seq == seq

    def is_fresh(self, seq: int, stale_seconds: float) -> bool:
        return self.is_current(seq) or time.time() - self.rendered_at < stale_seconds


def market_public(tradable: Tradable, *, stale_seconds: float = 0.0) -> PublicFragments:
    """The tradable's public fragments from the cache when they are current, or at most
    `stale_seconds` old; rendered (and kept) otherwise."""
    shard = shard_of(risk_group=tradable.risk_group_id)
    seq = engine_selectors.high_water_of(shard=shard)  # before the render: never ahead of it
    key = cache_key(f"market-public:{tradable.risk_group_id}", tradable.engine_market)
    cached = cache.get(key)
    if isinstance(cached, PublicFragments) and cached.is_fresh(seq, stale_seconds):
        return cached
    data = market_data(tradable)
    context = {"data": data, "tradable": tradable}
    fragments = PublicFragments(
        seq=seq,
        rendered_at=time.time(),
        book=render_to_string("trading/market/book.html", context),
        trades=render_to_string("trading/market/trades.html", context),
        stats=render_to_string("trading/market/stats.html", context),
        candles=json_data(data.candles),
        chart=json_script(data.candles, "chart-candles"),
    )
    cache.set(key, fragments, PUBLIC_SECONDS)
    return fragments


def market_events(key: str, viewer: User | None) -> list[tuple[str, str]]:
    """Topic "market:<engine market>": the public fragments and the chart's bars, current."""
    public = market_public(tradable_get(key))
    return [
        ("book", public.book),
        ("trades", public.trades),
        ("stats", public.stats),
        ("candles", public.candles),
    ]


# ---------------------------------------------------------------------------- the viewer


@dataclass
class Viewer:
    """The visitor's side of the page: what they must do before trading (`blocker`), or
    their account in the market's risk group."""

    user: User | None
    blocker: ApplicationError | None = None
    collateral: str = ""
    free: str = "0"
    locked: str = "0"
    # rows as the template shows them: dicts of text, the quickest for it to read
    orders: list[dict[str, str]] = field(default_factory=list)
    own_prices: list[int] = field(default_factory=list)
    fills: list[dict[str, str]] = field(default_factory=list)
    position: Any = None
    holding: Any = None
    balances: list[Any] = field(default_factory=list)


def _open_orders(*, account: int, shard: int, market: str) -> QuerySet[engine.Order]:
    return engine_selectors.orders_of(
        shard=engine.Shard(pk=shard), account=account, open_only=True, market_id=market
    )


# The viewer's part of every page view: compiled once (xip_portal.compiled_queries).
VIEWER_BALANCES = CompiledQuery(
    lambda account, shard: engine_selectors.balances_of(
        shard=engine.Shard(pk=shard), account=account
    ),
    account=int,
    shard=int,
)
VIEWER_ORDERS = CompiledQuery(
    lambda **mine: _open_orders(**mine).values_list(
        "order_id", "side", "outcome", "price", "remaining", "filled"
    )[:MY_ORDERS_SHOWN],
    account=int,
    shard=int,
    market=str,
)
# the levels of all the viewer's open orders, also of those not listed
VIEWER_ORDER_PRICES = CompiledQuery(
    lambda **mine: _open_orders(**mine).order_by().values_list("outcome", "price").distinct(),
    account=int,
    shard=int,
    market=str,
)
VIEWER_FILLS = CompiledQuery(
    lambda account, shard, market: (
        engine.Fill.objects.filter(
            Q(maker_account=account) | Q(taker_account=account), shard=shard, market_id=market
        )
        .order_by("-seq", "-index")
        .values_list("taker_account", "taker_buys", "price", "size", "taker_fee", "maker_fee")[
            :MY_FILLS_SHOWN
        ]
    ),
    account=int,
    shard=int,
    market=str,
)
VIEWER_HOLDING = CompiledQuery(
    lambda account, shard, market: engine.Holding.objects.filter(
        shard=shard, account=account, market_id=market
    ).order_by("pk")[:1],
    account=int,
    shard=int,
    market=str,
)


def viewer_of(tradable: Tradable, user: User | None) -> Viewer:
    """The viewer's membership and account; a fixed number of queries."""
    if user is None:
        return Viewer(None, ApplicationError("Log in to trade."))
    viewer = Viewer(user)
    try:
        membership_require(user=user, risk_group=tradable.market.risk_group, action="trade")
    except ApplicationError as refusal:
        viewer.blocker = refusal
    shard = shard_of(risk_group=tradable.risk_group_id)
    viewer.collateral = shard.collateral
    balances = list(VIEWER_BALANCES.objects(account=user.pk, shard=shard.pk))
    for balance in balances:
        if balance.asset == shard.collateral:
            viewer.free = text(tradable.money(balance.free))
            viewer.locked = text(tradable.money(balance.locked))
    if tradable.kind == "spot":
        config = tradable.listed.config
        viewer.balances = [b for b in balances if b.asset == config.base_asset]
        for balance in viewer.balances:
            balance.display_free = text(tradable.size(balance.free))
            balance.display_locked = text(tradable.size(balance.locked))
    market_id = tradable.engine_market
    mine = {"account": user.pk, "shard": shard.pk, "market": market_id}
    # an order's buttons post to URLs made from one reversal each (reversing a URL costs
    # more than the rest of a row)
    cancel_url, amend_url = (
        _urls_of_orders(name, tradable.market.symbol)
        for name in ("market_order_cancel", "market_order_amend")
    )
    viewer.orders = [
        {
            "id": str(order_id),
            "side": f"{SIDE_WORDS[side]} {outcome.upper()}" if outcome else SIDE_WORDS[side],
            "price": text(tradable.price(price)),
            "remaining": text(tradable.size(remaining)),
            "filled": text(tradable.size(filled)),
            "cancel_url": cancel_url(order_id),
            "amend_url": amend_url(order_id),
        }
        for order_id, side, outcome, price, remaining, filled in VIEWER_ORDERS.rows(**mine)
    ]
    viewer.own_prices = sorted(
        {
            _book_price(tradable, outcome, order_price)
            for outcome, order_price in VIEWER_ORDER_PRICES.rows(**mine)
        }
    )
    for taker_account, taker_buys, price, size, taker_fee, maker_fee in VIEWER_FILLS.rows(**mine):
        taker = taker_account == user.pk
        buys = taker_buys if taker else not taker_buys
        viewer.fills.append(
            {
                "side": "Buy" if buys else "Sell",
                "price": text(tradable.price(price)),
                "size": text(tradable.size(size)),
                "fee": text(tradable.money(taker_fee if taker else maker_fee)),
                "role": "taker" if taker else "maker",
            }
        )
    if tradable.kind == "perp":
        positions = engine_selectors.positions_of(shard=shard, account=user.pk)
        position = next((p for p in positions if p.market_id == market_id), None)
        if position is not None:
            viewer.position = {
                "display_size": text(tradable.size(position.size)),
                "display_entry": text(tradable.price(position.entry_price)),
                "display_pnl": text(tradable.money(position.unrealised_pnl)),
                "display_margin": text(tradable.money(position.initial_margin)),
                "display_liquidation": text(tradable.price(position.liquidation_price))
                if position.liquidation_price is not None
                else None,
            }
    elif tradable.kind == "prediction":
        holding = next(iter(VIEWER_HOLDING.objects(**mine)), None)
        if holding is not None:
            viewer.holding = {
                "display_yes": text(tradable.size(holding.yes + holding.yes_locked)),
                "display_no": text(tradable.size(holding.no + holding.no_locked)),
            }
    return viewer


SIDE_WORDS = {"buy": "Buy", "sell": "Sell"}
# an order id no order has: it stands for each order's id in its buttons' URLs
ORDER_ID_STAND_IN = 987_654_321_987_654_321


def _urls_of_orders(name: str, symbol: str) -> Callable[[int], str]:
    """The URL `name` of the market `symbol`'s orders, for an order id."""
    head, _, tail = reverse(name, args=[symbol, ORDER_ID_STAND_IN]).rpartition(
        str(ORDER_ID_STAND_IN)
    )
    return lambda order_id: f"{head}{order_id}{tail}"


def _book_price(tradable: Tradable, outcome: str, price: Decimal) -> int:
    """Where an order rests in the merged book (a NO order at p is a YES one at 1 - p)."""
    if outcome == "no":
        return int(tradable.listed.config.payout) - int(price)
    return int(price)


def mine_events(key: str, viewer: User | None) -> list[tuple[str, str]]:
    """Topic "mine:<engine market>" (private): the viewer's orders, fills and account."""
    tradable = tradable_get(key)
    context = {"tradable": tradable, "viewer": viewer_of(tradable, viewer)}
    return [
        ("orders", render_to_string("trading/market/orders.html", context)),
        ("account", render_to_string("trading/market/account.html", context)),
    ]


MARKET_TOPIC = Topic("market", market_events, lambda change: change["markets"])
MINE_TOPIC = Topic("mine", mine_events, private=True)


# ---------------------------------------------------------------------------- the section


def market_section(request: HttpRequest, market: Market) -> SafeString:
    """The trading part of the market's page (empty before the engine lists it)."""
    tradable = tradable_of(market, request.GET.get("outcome", "")[:100])
    if tradable is None:
        return SafeString("")
    user = request.user if isinstance(request.user, User) else None
    public = market_public(tradable, stale_seconds=settings.MARKET_PUBLIC_STALE_SECONDS)
    viewer = viewer_of(tradable, user)
    topics = [f"market:{tradable.engine_market}"]
    if user is not None:
        topics.append(f"mine:{tradable.engine_market}")
    context = {
        "market": market,
        "tradable": tradable,
        # rendered here (cached): safe
        "public": {
            name: SafeString(getattr(public, name)) for name in ("book", "trades", "stats", "chart")
        },
        "viewer": viewer,
        "stream_topics": topics,
        "is_live": market.status == MarketStatus.LIVE,
        "order_form": OrderForm(tradable=tradable),
        "order_fields": order_fields(tradable),
        "limits": order_form_defaults(tradable),
    }
    return SafeString(render_to_string("trading/market/section.html", context, request=request))


def order_fields(tradable: Tradable) -> SafeString:
    """The order form's fields for a new order: the same for every visitor of the tradable,
    and the dearest part of the page to render (Django's widgets), so kept rendered in the
    process while the tradable is the same (its market, units and limits)."""

    def render() -> SafeString:
        context = {
            "tradable": tradable,
            "order_form": OrderForm(tradable=tradable),
            "limits": order_form_defaults(tradable),
        }
        return SafeString(render_to_string("trading/market/order_fields.html", context))

    return kept_in_process(cache_key("order-fields", tradable.engine_market), tradable, render)


def order_form_defaults(tradable: Tradable) -> dict[str, Any]:
    """The tick, lot and minimum as decimals, for the form's inputs and hints."""
    config = tradable.listed.config
    return {
        "tick": text(tradable.price(config.tick_size)),
        "lot": text(tradable.size(config.lot_size)),
        "min_size": text(tradable.size(config.min_size)),
        "maker_fee": text(Decimal(config.maker_fee_bps) / BPS * 100),
        "taker_fee": text(Decimal(config.taker_fee_bps) / BPS * 100),
    }
