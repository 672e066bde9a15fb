"""A deployer's revenue: for an institution that listed markets, per market and per day,
the volume traded and the fees its revenue model earned it (the deployer's share of the
engine's fee split) beside the protocol's share, in the fee asset's decimals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from engine.selectors import fees_by_day
from markets.models import Market
from markets.services import market_engine_configs
from xip_portal.models import Institution, User

MAX_DAYS = 366
REVENUE_DAYS = 30  # shown unless asked


@dataclass(frozen=True)
class RevenueDay:
    market: Market
    day: date
    trades: int
    volume: Decimal  # in the base (spot), contracts' base (perp) or shares (prediction)
    notional: Decimal  # in the fee asset
    fees: Decimal
    deployer: Decimal
    protocol: Decimal
    asset: str


def institutions_of(*, user: User) -> list[Institution]:
    """The institutions whose revenue `user` may see: those they belong to."""
    return list(Institution.objects.filter(members=user).order_by("name"))


def deployer_revenue(*, institution: Institution, days: int, now: datetime) -> list[RevenueDay]:
    """The institution's markets' days from `days` ago up to `now`, newest first. Two
    queries and the registry's."""
    markets = list(Market.objects.filter(deployer=institution).order_by("symbol"))
    engine_ids = {
        (f"{market.symbol}:{outcome}" if outcome else market.symbol): market
        for market in markets
        for outcome in market.outcomes or [""]
    }
    since = now - timedelta(days=days)
    rows = fees_by_day(market_ids=list(engine_ids), since_ms=int(since.timestamp() * 1000))
    configs = market_engine_configs(list({engine_ids[row.market_id] for row in rows}))
    # a categorical market's outcomes add up to the market's day
    totals: dict[tuple[int, int], list[int]] = {}
    for row in rows:
        total = totals.setdefault((engine_ids[row.market_id].pk, row.day), [0] * 5)
        for index, value in enumerate(
            (row.trades, row.volume, row.notional, row.fees, row.deployer)
        ):
            total[index] += value
    by_pk = {market.pk: market for market in markets}
    days_out = []
    for (market_pk, day), (trades, volume, notional, fees, deployer) in totals.items():
        market = by_pk[market_pk]
        listed = configs[market_pk]
        money = listed.price_unit * listed.size_unit
        days_out.append(
            RevenueDay(
                market=market,
                day=date(1970, 1, 1) + timedelta(days=day),
                trades=trades,
                volume=(volume * listed.size_unit).normalize(),
                notional=(notional * money).normalize(),
                fees=(fees * money).normalize(),
                deployer=(deployer * money).normalize(),
                protocol=((fees - deployer) * money).normalize(),
                asset=str(market.spec["quote_asset"]),
            )
        )
    return sorted(days_out, key=lambda d: (-d.day.toordinal(), d.market.symbol))
