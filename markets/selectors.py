"""Reads of the registry for pages and the API."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from governance.risk_groups.models import MarketType

from .models import Market, MarketStatus


def market_list(
    *, market_type: str = "", risk_group: str = "", status: str = "", q: str = ""
) -> QuerySet[Market]:
    """Listed markets filtered by type, group slug and status, searched by symbol or name."""
    markets = Market.objects.select_related("risk_group", "xip", "quote_asset", "base_asset")
    if market_type in MarketType.values:
        markets = markets.filter(market_type=market_type)
    if risk_group:
        markets = markets.filter(risk_group__slug=risk_group)
    if status in MarketStatus.values:
        markets = markets.filter(status=status)
    q = q.strip()
    if q:
        markets = markets.filter(Q(symbol__icontains=q) | Q(spec__name__icontains=q))
    return markets.order_by("symbol")
