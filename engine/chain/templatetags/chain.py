"""`{% registry_entry market.symbol as entry %}`: a market's on-chain registry entry for its
page (None when the chain has none yet or cannot be reached), cached while unchanged."""

from __future__ import annotations

import logging

from django import template

from ..registry import OnChainEntry, registry_entry_shown

register = template.Library()
logger = logging.getLogger(__name__)


@register.simple_tag
def registry_entry(market_id: str) -> OnChainEntry | None:
    try:
        return registry_entry_shown(market_id=market_id)
    except (ConnectionError, TimeoutError, OSError) as exc:
        logger.warning("The chain is not reachable for %s's entry: %s", market_id, exc)
        return None
