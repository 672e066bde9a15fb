"""Pages of a risk group's perpetual risk, from its engine's events: the insurance fund's
own page (balance, inflows, payouts, auto-deleveragings) and the funding history section
of a perpetual's page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from governance.risk_groups.models import MarketType, RiskGroup
from markets.models import Market
from xip_portal.pagination import page_of

from .instruments import tradable_of
from .selectors import (
    funding_history,
    funding_lines,
    insurance_entries,
    insurance_fund,
    insurance_lines,
)

FUNDING_ON_PAGE = 24


def insurance_fund_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A risk group's insurance fund: its balance and flows, then its entries, newest first."""
    group = get_object_or_404(RiskGroup, slug=slug)
    fund = insurance_fund(risk_group=group)
    page = page_of(request, insurance_entries(fund))
    return render(
        request,
        "trading/insurance_fund.html",
        {"group": group, "fund": fund, "page": page, "lines": insurance_lines(fund, page)},
    )


def funding_section(request: HttpRequest, market: Market) -> SafeString:
    """A perpetual's latest funding payments and where its insurance fund is (empty for
    other markets and before the engine lists it)."""
    if market.market_type != MarketType.PERP:
        return SafeString("")
    tradable = tradable_of(market.symbol)
    if tradable is None:
        return SafeString("")
    lines = funding_lines(tradable, funding_history(tradable=tradable)[:FUNDING_ON_PAGE])
    context = {"market": market, "lines": lines, "tradable": tradable}
    return SafeString(render_to_string("trading/market/funding_history.html", context))
