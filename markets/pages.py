"""What rooms above the registry add to a market's page. The registry's page of a market is
the market's page: trading adds its book, chart and order form there through
`market_section_register` (from its AppConfig.ready), so the registry imports none of it."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from .models import Market

# (request, market) -> the section's HTML
MarketSection = Callable[[HttpRequest, Market], SafeString]

SECTIONS: list[MarketSection] = []


def market_section_register(section: MarketSection) -> None:
    if section not in SECTIONS:
        SECTIONS.append(section)


def market_sections(request: HttpRequest, market: Market) -> list[SafeString]:
    return [section(request, market) for section in SECTIONS]
