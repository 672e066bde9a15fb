"""OKX v5 account and asset endpoints (signed, read scope)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from markets.models import Asset

from .envelope import OkxView, okx_ok

CHAIN = "X Layer"  # where deposits and withdrawals of every collateral asset settle


class AssetCurrenciesView(OkxView):
    """The registry's assets, one chain each."""

    private = True
    rate_limit = (6, 1.0)

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
