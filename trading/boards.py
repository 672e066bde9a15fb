"""The board of a categorical prediction market (the 2026 World Cup winner): every
outcome with its implied probability, best bid and ask, 24 h change and volume, most
likely first, the sum of the probabilities, and the group's single-question markets
beside it; with the visitor's holdings when they are signed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from engine import models as engine
from engine.services import shard_of
from markets.models import Market, MarketStatus
from markets.selectors import TradableStats, market_stats
from xip_portal.models import User


@dataclass(frozen=True)
class Board:
    market: Market
    outcomes: list[TradableStats]
    probability_sum: Decimal
    singles: list[TradableStats]
    # engine market id -> (YES shares, NO shares) the visitor holds
    holdings: dict[str, tuple[Decimal, Decimal]]


def board_of(market: Market, *, user: User | None, now: datetime) -> Board:
    """A constant number of queries whatever the number of outcomes, orders and fills."""
    singles = list(
        Market.objects.filter(
            risk_group_id=market.risk_group_id,
            market_type=market.market_type,
            status__in=(MarketStatus.LIVE, MarketStatus.HALTED),
            spec__outcomes__isnull=True,
        )
        .exclude(pk=market.pk)
        .select_related("risk_group")
        .order_by("symbol")
    )
    stats = market_stats([market, *singles], now=now)
    outcomes = sorted(
        (s for s in stats.values() if s.market.pk == market.pk),
        key=lambda s: (-(s.probability or 0), s.outcome),
    )
    holdings: dict[str, tuple[Decimal, Decimal]] = {}
    if user is not None and user.is_authenticated:
        rows = engine.Holding.objects.filter(
            shard=shard_of(risk_group=market.risk_group_id),
            account=user.pk,
            market_id__in=list(stats),
        ).values_list("market_id", "yes", "yes_locked", "no", "no_locked")
        for market_id, yes, yes_locked, no, no_locked in rows:
            unit = stats[market_id].listed.size_unit
            holdings[market_id] = (
                ((yes + yes_locked) * unit).normalize(),
                ((no + no_locked) * unit).normalize(),
            )
    return Board(
        market=market,
        outcomes=outcomes,
        probability_sum=sum((s.probability or Decimal(0) for s in outcomes), Decimal(0)),
        singles=[stats[m.symbol] for m in singles if m.symbol in stats],
        holdings=holdings,
    )
