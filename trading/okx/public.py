"""OKX v5 public endpoints: instruments, order books, tickers, trades, candles, mark price,
funding rate and its history.
Limited per address as OKX documents them."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from xip_portal.errors import ApplicationError

from ..errors import TradingError
from ..market_data import (
    BARS_MS,
    book_of,
    candles_between,
    funding_rate_now,
    ticker_of,
    trades_of,
)
from ..selectors import funding_history, funding_lines
from .envelope import OkxView, okx_ok
from .instruments import Instrument, instrument_get, instrument_row, instruments
from .openapi import (
    BAR,
    CANDLE,
    DEPTH,
    INST_ID,
    INST_ID_REQUIRED,
    INST_TYPE,
    INST_TYPE_REQUIRED,
    INST_TYPES,
    LEVELS,
    LIMIT,
    TICKER_ROW,
    ms,
    okx_schema,
    row,
)

MAX_DEPTH = 400
MAX_FUNDING_ROWS = 100
TIME_MAX_MS = 10**15


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _int_param(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text in (None, ""):
        return default
    try:
        value = int(str(text))
    except ValueError:
        raise ApplicationError(f"Parameter {name} error.", field=name) from None
    return max(low, min(value, high))


def _inst_type(request: Request) -> str:
    inst_type = str(request.query_params.get("instType", "")).upper()
    if inst_type not in INST_TYPES:
        raise ApplicationError(
            "Parameter instType error.", code=TradingError.MISSING_PARAMETER, field="instType"
        )
    return inst_type


def _of_type(inst_type: str) -> list[Instrument]:
    return [i for i in instruments() if i.inst_type == inst_type]


class InstrumentsView(OkxView):
    @okx_schema(
        "Instruments",
        tag="public",
        summary="Instruments of a type",
        parameters=[INST_TYPE_REQUIRED, INST_ID],
        data=row(
            "OkxInstrument",
            *("instType", "instId", "uly", "instFamily", "baseCcy", "quoteCcy", "settleCcy"),
            *("ctVal", "ctMult", "ctValCcy", "ctType", "tickSz", "lotSz", "minSz"),
            *("maxLmtSz", "maxMktSz", "lever", "listTime", "expTime", "state", "category"),
            *("ruleType", "outcome"),
        ),
    )
    def get(self, request: Request) -> Response:
        inst_type = _inst_type(request)
        listed = _of_type(inst_type)
        wanted = request.query_params.get("instId")
        if wanted:
            listed = [i for i in listed if i.inst_id == wanted]
        return okx_ok([instrument_row(i) for i in listed])


class BooksView(OkxView):
    rate_limit = (40, 2.0)

    @okx_schema(
        "Books",
        tag="public",
        summary="An instrument's order book",
        parameters=[INST_ID_REQUIRED, DEPTH],
        data=row("OkxBook", "ts", asks=LEVELS, bids=LEVELS),
    )
    def get(self, request: Request) -> Response:
        instrument = instrument_get(request.query_params.get("instId"))
        depth = _int_param(request, "sz", 1, low=1, high=MAX_DEPTH)
        bids, asks = book_of(instrument.tradable, depth=depth)

        def levels(side: list[Any]) -> list[list[str]]:
            return [
                [instrument.price_out(lv.price), instrument.size_out(lv.size), "0", str(lv.orders)]
                for lv in side
            ]

        return okx_ok([{"asks": levels(asks), "bids": levels(bids), "ts": str(_now_ms())}])


def _ticker_row(instrument: Instrument, now: int) -> dict[str, str]:
    ticker = ticker_of(instrument.tradable, now_ms=now)
    volume = instrument.tradable.size(ticker["volume"])
    last = instrument.tradable.price(ticker["last"])
    bid, ask = ticker["bid"], ticker["ask"]
    price, size = instrument.price_out, instrument.size_out
    return {
        "instType": instrument.inst_type,
        "instId": instrument.inst_id,
        "last": price(ticker["last"]),
        "lastSz": "",
        "askPx": price(ask.price) if ask else "",
        "askSz": size(ask.size) if ask else "",
        "bidPx": price(bid.price) if bid else "",
        "bidSz": size(bid.size) if bid else "",
        "open24h": price(ticker["open"]),
        "high24h": price(ticker["high"]),
        "low24h": price(ticker["low"]),
        "vol24h": size(ticker["volume"]),
        "volCcy24h": f"{(volume if instrument.is_swap else volume * last).normalize():f}",
        "sodUtc0": price(ticker["open"]),
        "sodUtc8": price(ticker["open"]),
        "ts": str(now),
    }


class TickerView(OkxView):
    @okx_schema(
        "Ticker",
        tag="public",
        summary="An instrument's ticker",
        parameters=[INST_ID_REQUIRED],
        data=TICKER_ROW,
    )
    def get(self, request: Request) -> Response:
        instrument = instrument_get(request.query_params.get("instId"))
        return okx_ok([_ticker_row(instrument, _now_ms())])


class TickersView(OkxView):
    @okx_schema(
        "Tickers",
        tag="public",
        summary="Tickers of a type",
        parameters=[INST_TYPE_REQUIRED],
        data=TICKER_ROW,
    )
    def get(self, request: Request) -> Response:
        now = _now_ms()
        return okx_ok([_ticker_row(i, now) for i in _of_type(_inst_type(request))])


class TradesView(OkxView):
    rate_limit = (100, 2.0)

    @okx_schema(
        "Trades",
        tag="public",
        summary="An instrument's last trades",
        parameters=[INST_ID_REQUIRED, LIMIT],
        data=row("OkxTrade", "instId", "tradeId", "px", "sz", "side", "ts"),
    )
    def get(self, request: Request) -> Response:
        instrument = instrument_get(request.query_params.get("instId"))
        limit = _int_param(request, "limit", 100, low=1, high=500)
        return okx_ok(
            [
                {
                    "instId": instrument.inst_id,
                    "tradeId": f"{fill.seq}-{fill.index}",
                    "px": instrument.price_out(fill.price),
                    "sz": instrument.size_out(fill.size),
                    "side": "buy" if fill.taker_buys else "sell",
                    "ts": str(fill.ts),
                }
                for fill in trades_of(instrument.tradable, limit=limit)
            ]
        )


class CandlesView(OkxView):
    """Candles built from the trades: [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm],
    newest first."""

    rate_limit = (40, 2.0)

    @okx_schema(
        "Candles",
        tag="public",
        summary="An instrument's candles",
        parameters=[INST_ID_REQUIRED, BAR, ms("after", "Candles before this time"), LIMIT],
        data=CANDLE,
    )
    def get(self, request: Request) -> Response:
        instrument = instrument_get(request.query_params.get("instId"))
        bar = str(request.query_params.get("bar", "1m"))
        if bar not in BARS_MS:
            raise ApplicationError("Parameter bar error.", field="bar")
        width = BARS_MS[bar]
        limit = _int_param(request, "limit", 100, low=1, high=300)
        now = _now_ms()
        # OKX's `after`: candles before this time
        before = _int_param(request, "after", now, low=0, high=now)
        start = (before // width - limit + 1) * width
        tradable = instrument.tradable
        current = now // width * width
        rows = []
        for candle in reversed(
            candles_between(tradable, start_ms=start, end_ms=before, width_ms=width)
        ):
            base = tradable.size(candle.volume)
            quote = tradable.money(candle.turnover)
            rows.append(
                [
                    str(candle.start),
                    instrument.price_out(candle.open),
                    instrument.price_out(candle.high),
                    instrument.price_out(candle.low),
                    instrument.price_out(candle.close),
                    instrument.size_out(candle.volume),
                    f"{base.normalize():f}" if instrument.is_swap else f"{quote.normalize():f}",
                    f"{quote.normalize():f}",
                    "0" if candle.start == current else "1",
                ]
            )
        return okx_ok(rows)


class MarkPriceView(OkxView):
    @okx_schema(
        "MarkPrice",
        tag="public",
        summary="Mark prices (instType or instId)",
        parameters=[INST_TYPE, INST_ID],
        data=row("OkxMarkPrice", "instType", "instId", "markPx", "ts"),
    )
    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("instId")
        if wanted:
            listed = [instrument_get(wanted)]
        else:
            listed = _of_type(_inst_type(request))
        now = _now_ms()
        return okx_ok(
            [
                {
                    "instType": i.inst_type,
                    "instId": i.inst_id,
                    "markPx": i.price_out(ticker_of(i.tradable, now_ms=now)["mark"]),
                    "ts": str(now),
                }
                for i in listed
            ]
        )


class FundingRateView(OkxView):
    """A perp's funding rate as the engine would pay it now: the premium of the book's mid
    over the mark (the oracle index), capped; 0 while either side of the book is empty.
    The engine pays funding at every multiple of the market's interval (UTC epoch)."""

    @okx_schema(
        "FundingRate",
        tag="public",
        summary="A perpetual's funding rate now",
        parameters=[INST_ID_REQUIRED],
        data=row(
            "OkxFundingRate",
            *("instType", "instId", "fundingRate", "nextFundingRate", "fundingTime"),
            *("nextFundingTime", "maxFundingRate", "minFundingRate", "method", "ts"),
        ),
    )
    def get(self, request: Request) -> Response:
        instrument = instrument_get(request.query_params.get("instId"))
        if not instrument.is_swap:
            raise ApplicationError("Funding rates are for SWAP instruments.", field="instId")
        config = instrument.tradable.listed.config
        bids, asks = book_of(instrument.tradable, depth=1)
        mark = ticker_of(instrument.tradable, now_ms=_now_ms())["mark"]
        rate = funding_rate_now(instrument.tradable, bids, asks, mark)
        interval = config.funding_interval_ms
        funding_time = (_now_ms() // interval + 1) * interval
        cap = Decimal(config.funding_cap_ppm).scaleb(-6)
        return okx_ok(
            [
                {
                    "instType": "SWAP",
                    "instId": instrument.inst_id,
                    "fundingRate": f"{Decimal(rate).scaleb(-6).normalize():f}",
                    "nextFundingRate": "",
                    "fundingTime": str(funding_time),
                    "nextFundingTime": str(funding_time + interval),
                    "maxFundingRate": f"{cap.normalize():f}",
                    "minFundingRate": f"{(-cap).normalize():f}",
                    "method": "current_period",
                    "ts": str(_now_ms()),
                }
            ]
        )


class FundingRateHistoryView(OkxView):
    """A perp's funding payments, newest first, from its engine's events (what ccxt's
    fetchFundingRateHistory reads): `before` keeps those paid after that time (ms),
    `after` those paid before it; `limit` 1 to 100."""

    @okx_schema(
        "FundingRateHistory",
        tag="public",
        summary="A perpetual's funding payments",
        parameters=[
            INST_ID_REQUIRED,
            ms("before", "Payments after this time"),
            ms("after", "Payments before this time"),
            LIMIT,
        ],
        data=row(
            "OkxFundingPayment",
            *("instType", "instId", "formulaType", "fundingRate", "realizedRate"),
            *("fundingTime", "method"),
        ),
    )
    def get(self, request: Request) -> Response:
        instrument = instrument_get(request.query_params.get("instId"))
        if not instrument.is_swap:
            raise ApplicationError("Funding rates are for SWAP instruments.", field="instId")
        limit = _int_param(request, "limit", MAX_FUNDING_ROWS, low=1, high=MAX_FUNDING_ROWS)
        entries = funding_history(
            tradable=instrument.tradable,
            after_ms=_int_param(request, "before", 0, low=0, high=TIME_MAX_MS),
            before_ms=_int_param(request, "after", 0, low=0, high=TIME_MAX_MS),
        )
        return okx_ok(
            [
                {
                    "instType": "SWAP",
                    "instId": instrument.inst_id,
                    "formulaType": "noRate",
                    "fundingRate": f"{line.rate:f}",
                    "realizedRate": f"{line.rate:f}",
                    "fundingTime": str(line.ts),
                    "method": "current_period",
                }
                for line in funding_lines(instrument.tradable, entries[:limit])
            ]
        )
