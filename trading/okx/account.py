"""OKX v5 account and asset endpoints (signed, read scope): currencies, balances, positions."""

from __future__ import annotations

import time
from collections import defaultdict
from decimal import Decimal

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from engine.selectors import holdings_of, positions_of
from markets.models import Asset

from ..instruments import trading_shards
from ..selectors import account_balances
from .envelope import OkxView, okx_ok
from .instruments import instrument_of_engine
from .openapi import CCY, INST_ID, INST_TYPE, okx_schema, row

CHAIN = "X Layer"  # where deposits and withdrawals of every collateral asset settle


class AssetCurrenciesView(OkxView):
    """The registry's assets, one chain each."""

    private = True
    rate_limit = (6, 1.0)

    @okx_schema(
        "Currencies",
        tag="account",
        summary="The registry's currencies",
        parameters=[CCY],
        private=True,
        data=row(
            "OkxCurrency",
            *("ccy", "name", "chain", "minDep", "minWd", "maxWd", "wdTickSz", "minFee"),
            *("maxFee", "logoLink"),
            **{
                name: serializers.BooleanField()
                for name in ("canDep", "canWd", "canInternal", "mainNet")
            },
        ),
    )
    def get(self, request: Request) -> Response:
        assets = Asset.objects.order_by("symbol")
        wanted = request.query_params.get("ccy")
        if wanted:
            assets = assets.filter(symbol__in=wanted.split(","))
        return okx_ok(
            [
                {
                    "ccy": asset.symbol,
                    "name": asset.name,
                    "chain": f"{asset.symbol}-{CHAIN}",
                    "canDep": True,
                    "canWd": True,
                    "canInternal": True,
                    "mainNet": True,
                    "minDep": "0",
                    "minWd": "0",
                    "maxWd": "",
                    "wdTickSz": str(asset.decimals),
                    "minFee": "0",
                    "maxFee": "0",
                    "logoLink": "",
                }
                for asset in assets
            ]
        )


class BalanceView(OkxView):
    """The unified account's balances, summed over the risk groups the user trades in;
    outcome shares of prediction markets are listed as their instrument's base (YES) and
    `<base>.NO`."""

    private = True
    rate_limit = (10, 2.0)

    @okx_schema(
        "Balance",
        tag="account",
        summary="The unified account's balances",
        parameters=[CCY],
        private=True,
        data=row(
            "OkxBalance",
            "totalEq",
            "adjEq",
            "uTime",
            details=serializers.ListField(
                child=row(
                    "OkxBalanceDetail",
                    *("ccy", "eq", "cashBal", "availBal", "availEq", "frozenBal"),
                    *("ordFrozen", "upl", "uTime"),
                )
            ),
        ),
    )
    def get(self, request: Request) -> Response:
        user = self.trader(request)
        totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for balance in account_balances(user=user):
            totals[balance.asset][0] += balance.free
            totals[balance.asset][1] += balance.locked
        for shard in trading_shards():
            for holding in holdings_of(shard=shard, account=user.pk):
                instrument = instrument_of_engine(holding.market_id)
                if instrument is None:
                    continue
                for name, free, locked in (
                    (instrument.base, holding.yes, holding.yes_locked),
                    (f"{instrument.base}.NO", holding.no, holding.no_locked),
                ):
                    totals[name][0] += instrument.tradable.size(int(free))
                    totals[name][1] += instrument.tradable.size(int(locked))
        wanted = request.query_params.get("ccy")
        names = sorted(totals) if not wanted else [n for n in wanted.split(",") if n in totals]
        now = str(time.time_ns() // 1_000_000)
        details = []
        for name in names:
            free, locked = totals[name]
            details.append(
                {
                    "ccy": name,
                    "eq": _text(free + locked),
                    "cashBal": _text(free + locked),
                    "availBal": _text(free),
                    "availEq": _text(free),
                    "frozenBal": _text(locked),
                    "ordFrozen": _text(locked),
                    "upl": "0",
                    "uTime": now,
                }
            )
        return okx_ok([{"totalEq": "", "adjEq": "", "uTime": now, "details": details}])


def _text(value: Decimal) -> str:
    return f"{value.normalize():f}"


class PositionsView(OkxView):
    """Open perpetual positions (cross margin, net mode), sizes in contracts."""

    private = True
    rate_limit = (10, 2.0)

    @okx_schema(
        "Positions",
        tag="account",
        summary="Open perpetual positions",
        parameters=[INST_TYPE, INST_ID],
        private=True,
        data=row(
            "OkxPosition",
            *("instType", "instId", "posId", "posSide", "pos", "availPos", "ccy", "mgnMode"),
            *("avgPx", "markPx", "liqPx", "upl", "realizedPnl", "fundingFee", "imr", "mmr"),
            *("margin", "notionalUsd", "lever", "cTime", "uTime"),
        ),
    )
    def get(self, request: Request) -> Response:
        user = self.trader(request)
        inst_type = request.query_params.get("instType")
        if inst_type and inst_type != "SWAP":
            return okx_ok([])
        wanted = set(filter(None, str(request.query_params.get("instId", "")).split(",")))
        now = str(time.time_ns() // 1_000_000)
        rows = []
        for shard in trading_shards():
            for position in positions_of(shard=shard, account=user.pk):
                instrument = instrument_of_engine(position.market_id)
                if instrument is None or (wanted and instrument.inst_id not in wanted):
                    continue
                money = instrument.tradable.money
                notional = money(abs(position.size) * position.mark)
                rows.append(
                    {
                        "instType": "SWAP",
                        "instId": instrument.inst_id,
                        "posId": f"{shard.pk}-{position.market_id}",
                        "posSide": "net",
                        "pos": str(position.size),
                        "availPos": str(abs(position.size)),
                        "ccy": instrument.quote,
                        "mgnMode": "cross",
                        "avgPx": instrument.price_out(position.entry_price),
                        "markPx": instrument.price_out(position.mark),
                        "liqPx": instrument.price_out(position.liquidation_price or 0),
                        "upl": _text(money(position.unrealised_pnl)),
                        "realizedPnl": _text(money(position.realised_pnl)),
                        "fundingFee": _text(money(position.funding)),
                        "imr": _text(money(position.initial_margin)),
                        "mmr": _text(money(position.maintenance_margin)),
                        "margin": "",
                        "notionalUsd": _text(notional),
                        "lever": "",
                        "cTime": now,
                        "uTime": now,
                    }
                )
        return okx_ok(rows)
