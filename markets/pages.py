"""What rooms above the registry add to a market's page. The registry's page of a market is
the market's page: trading adds its book, chart and order form there through
`market_section_register` (from its AppConfig.ready), so the registry imports none of it.
The registry list's rows are read here too, for the page and for its live stream."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString

from xip_portal.pagination import page_numbered

from .models import Market
from .selectors import REGISTRY_SORTS, market_list, registry_rows

# (request, market) -> the section's HTML
MarketSection = Callable[[HttpRequest, Market], SafeString]

SECTIONS: list[MarketSection] = []


def market_section_register(section: MarketSection) -> None:
    if section not in SECTIONS:
        SECTIONS.append(section)


def market_sections(request: HttpRequest, market: Market) -> list[SafeString]:
    return [section(request, market) for section in SECTIONS]


# the query of a registry list a live stream may follow (longer searches are not live)
REGISTRY_LIVE_QUERY = 400


def registry_listing(params: Mapping[str, str]) -> dict[str, Any]:
    """The registry list that ?q=&type=&group=&status=&sort=&page= asks for: its page of
    rows, the filters and sort, the query its links keep (`sort_query`), and the whole
    query (`live_query`, None when too long to follow live) that names it on a stream."""
    query = {name: params.get(name, "")[:100] for name in ("q", "type", "group", "status")}
    filters = {
        "market_type": query["type"],
        "risk_group": query["group"],
        "status": query["status"],
        "q": query["q"],
    }
    sort = params.get("sort", "")
    if sort.removeprefix("-") not in REGISTRY_SORTS:
        sort = ""
    page_number = params.get("page", "")[:12]
    rows = registry_rows(list(market_list(**filters)), now=timezone.now(), sort=sort)
    kept = {name: value for name, value in query.items() if value}
    live_query = urlencode({**kept, "sort": sort, "page": page_number})
    return {
        "page": page_numbered(rows, page_number),
        "sort": sort,
        "sort_query": "".join(f"{urlencode({name: value})}&" for name, value in kept.items()),
        "filters": filters,
        "live_query": live_query if len(live_query) <= REGISTRY_LIVE_QUERY else None,
    }
