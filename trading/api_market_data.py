"""The project's own trading API (/api/v1/), public market data: a market's book, its
latest trades and candles, and tickers. Prices and sizes are decimal strings (sizes in
the base, perpetuals too); times are engine milliseconds since the epoch (UTC)."""

from __future__ import annotations

import time
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engine.core import Side
from xip_portal.bounded_values import bounded_integer
from xip_portal.errors import ApplicationError

from .api_requests import decimal_text
from .instruments import Tradable, tradable_get, tradables
from .market_data import (
    BARS_MS,
    Level,
    book_of,
    candles_between,
    ticker_of,
    trades_of,
)

MAX_DEPTH = 400
MAX_TRADES = 500
MAX_CANDLES = 300


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _param(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text in (None, ""):
        return default
    return bounded_integer(text, field=name, minimum=low, maximum=high)


class MarketDataApi(APIView):
    """Public: no authentication, limited per address by the API's throttle."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


class LevelOutput(serializers.Serializer[Any]):
    price = serializers.CharField()
    size = serializers.CharField()
    orders = serializers.IntegerField()


class BookOutput(serializers.Serializer[Any]):
    market = serializers.CharField()
    bids = LevelOutput(many=True, help_text="Best first.")
    asks = LevelOutput(many=True, help_text="Best first.")
    ts = serializers.IntegerField()


def _levels(tradable: Tradable, levels: list[Level]) -> list[dict[str, Any]]:
    return [
        {
            "price": decimal_text(tradable.price(level.price)),
            "size": decimal_text(tradable.size(level.size)),
            "orders": level.orders,
        }
        for level in levels
    ]


class BookApi(MarketDataApi):
    @extend_schema(
        operation_id="book",
        parameters=[
            OpenApiParameter("depth", int, description=f"Levels a side, 1 to {MAX_DEPTH}.")
        ],
        responses=BookOutput,
        summary="A market's order book (a prediction market's: its YES side, merged)",
    )
    def get(self, request: Request, market: str) -> Response:
        tradable = tradable_get(market)
        depth = _param(request, "depth", 20, low=1, high=MAX_DEPTH)
        bids, asks = book_of(tradable, depth=depth)
        answer = {
            "market": tradable.engine_market,
            "bids": _levels(tradable, bids),
            "asks": _levels(tradable, asks),
            "ts": _now_ms(),
        }
        return Response(BookOutput(answer).data)


class TradeOutput(serializers.Serializer[Any]):
    trade_id = serializers.CharField()
    price = serializers.CharField()
    size = serializers.CharField()
    taker_side = serializers.ChoiceField(choices=list(Side))
    ts = serializers.IntegerField(allow_null=True)


class TradeListApi(MarketDataApi):
    @extend_schema(
        operation_id="trades",
        parameters=[OpenApiParameter("limit", int, description=f"1 to {MAX_TRADES}.")],
        responses=TradeOutput(many=True),
        summary="A market's latest trades, newest first",
    )
    def get(self, request: Request, market: str) -> Response:
        tradable = tradable_get(market)
        limit = _param(request, "limit", 100, low=1, high=MAX_TRADES)
        rows = [
            {
                "trade_id": f"{fill.seq}-{fill.index}",
                "price": decimal_text(tradable.price(int(fill.price))),
                "size": decimal_text(tradable.size(int(fill.size))),
                "taker_side": "buy" if fill.taker_buys else "sell",
                "ts": fill.ts,
            }
            for fill in trades_of(tradable, limit=limit)
        ]
        return Response(TradeOutput(rows, many=True).data)


class CandleOutput(serializers.Serializer[Any]):
    start = serializers.IntegerField(help_text="The bar's first millisecond.")
    open = serializers.CharField()
    high = serializers.CharField()
    low = serializers.CharField()
    close = serializers.CharField()
    volume = serializers.CharField(help_text="In the base.")
    quote_volume = serializers.CharField(help_text="In the quote asset.")


class CandleListApi(MarketDataApi):
    @extend_schema(
        operation_id="candles",
        parameters=[
            OpenApiParameter("bar", enum=list(BARS_MS), description="The bar's width (1m)."),
            OpenApiParameter("limit", int, description=f"1 to {MAX_CANDLES} bars."),
            OpenApiParameter("before", int, description="Bars up to this time (ms; now)."),
        ],
        responses=CandleOutput(many=True),
        summary="A market's candles built from its trades, newest first",
    )
    def get(self, request: Request, market: str) -> Response:
        tradable = tradable_get(market)
        bar = str(request.query_params.get("bar", "1m"))
        if bar not in BARS_MS:
            raise ApplicationError(
                f"bar {bar[:10]!r} is not one of {', '.join(BARS_MS)}.", field="bar"
            )
        now = _now_ms()
        limit = _param(request, "limit", 100, low=1, high=MAX_CANDLES)
        before = _param(request, "before", now, low=0, high=now)
        start = (before // BARS_MS[bar] - limit + 1) * BARS_MS[bar]
        rows = [
            {
                "start": candle.start,
                "open": decimal_text(tradable.price(candle.open)),
                "high": decimal_text(tradable.price(candle.high)),
                "low": decimal_text(tradable.price(candle.low)),
                "close": decimal_text(tradable.price(candle.close)),
                "volume": decimal_text(tradable.size(candle.volume)),
                "quote_volume": decimal_text(tradable.money(candle.turnover)),
            }
            for candle in reversed(
                candles_between(tradable, start_ms=start, end_ms=before, width_ms=BARS_MS[bar])
            )
        ]
        return Response(CandleOutput(rows, many=True).data)


class TickerOutput(serializers.Serializer[Any]):
    market = serializers.CharField()
    kind = serializers.CharField(help_text="spot, perp or prediction.")
    last = serializers.CharField()
    mark = serializers.CharField()
    best_bid = serializers.CharField(allow_null=True)
    best_ask = serializers.CharField(allow_null=True)
    open_24h = serializers.CharField()
    high_24h = serializers.CharField()
    low_24h = serializers.CharField()
    volume_24h = serializers.CharField(help_text="In the base.")


def _ticker_row(tradable: Tradable, now: int) -> dict[str, Any]:
    ticker = ticker_of(tradable, now_ms=now)
    price = tradable.price
    bid, ask = ticker["bid"], ticker["ask"]
    return {
        "market": tradable.engine_market,
        "kind": tradable.kind,
        "last": decimal_text(price(ticker["last"])),
        "mark": decimal_text(price(ticker["mark"])),
        "best_bid": decimal_text(price(bid.price)) if bid else None,
        "best_ask": decimal_text(price(ask.price)) if ask else None,
        "open_24h": decimal_text(price(ticker["open"])),
        "high_24h": decimal_text(price(ticker["high"])),
        "low_24h": decimal_text(price(ticker["low"])),
        "volume_24h": decimal_text(tradable.size(ticker["volume"])),
    }


class TickerListApi(MarketDataApi):
    @extend_schema(
        operation_id="tickers",
        responses=TickerOutput(many=True),
        summary="Every trading market's ticker (last, best bid and ask, 24 h)",
    )
    def get(self, request: Request) -> Response:
        now = _now_ms()
        rows = [_ticker_row(tradable, now) for tradable in tradables().values()]
        return Response(TickerOutput(rows, many=True).data)


class TickerApi(MarketDataApi):
    @extend_schema(operation_id="ticker", responses=TickerOutput, summary="A market's ticker")
    def get(self, request: Request, market: str) -> Response:
        tradable = tradable_get(market)
        return Response(TickerOutput(_ticker_row(tradable, _now_ms())).data)
