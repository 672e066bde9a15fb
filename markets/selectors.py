"""Reads of the registry for pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from engine.selectors import market_summaries
from engine.specs import ListedMarket
from governance.risk_groups.models import MarketType, RiskGroup
from xip_portal.cache import cache_key, kept_in_process
from xip_portal.compiled_queries import CompiledQuery

from .models import (
    Market,
    MarketChange,
    MarketStatus,
    MarketStatusChange,
    OutcomeElimination,
    Resolution,
    ResolutionDispute,
)
from .services import market_engine_configs

# What a registry market is read with changes (a market, its risk group, assets or deployer
# saved; a market added, removed, or set live or halted) when this does: one query on every
# page and API call, written out because building it with the ORM cost ten times what
# running it does. A market's XIP is Final, so its number and title no longer change.
REGISTRY_MARK = """
    SELECT count(*), count(*) FILTER (WHERE status = %s), count(*) FILTER (WHERE status = %s),
        max(updated_at),
        (SELECT max(updated_at) FROM governance_riskgroup),
        (SELECT max(updated_at) FROM markets_asset),
        (SELECT max(updated_at) FROM xip_portal_institution)
    FROM markets_market
"""


def registry_mark() -> tuple[object, ...]:
    """The registry's mark (REGISTRY_MARK): values read from it may be kept while it holds."""
    with connection.cursor() as cursor:
        cursor.execute(REGISTRY_MARK, [MarketStatus.LIVE.value, MarketStatus.HALTED.value])
        return tuple(cursor.fetchone())


def risk_groups_kept(mark: tuple[object, ...] | None = None) -> dict[int, RiskGroup]:
    """Every risk group by id, kept in the process while the registry is unchanged (its mark
    has the groups' last save; `mark`, when the caller read it already): shared by every
    request, never changed."""
    mark = registry_mark() if mark is None else mark
    return kept_in_process("risk-groups", mark, RiskGroup.objects.in_bulk)


def market_page_get(symbol: str) -> Market:
    """The market `symbol` with what its page shows of its risk group, XIP, deployer and
    assets (kept in the process while the registry is unchanged), or Http404."""
    return kept_in_process(
        cache_key("market-page", symbol),
        registry_mark(),
        lambda: get_object_or_404(
            Market.objects.select_related(
                "risk_group", "xip", "deployer", "quote_asset", "base_asset"
            ),
            symbol=symbol,
        ),
    )


def market_list(
    *, market_type: str = "", risk_group: str = "", status: str = "", q: str = ""
) -> QuerySet[Market]:
    """Listed markets filtered by type, group slug and status, searched by symbol, name,
    outcome or the title of the XIP that listed them."""
    markets = Market.objects.select_related("risk_group", "xip", "quote_asset", "base_asset")
    if market_type in MarketType.values:
        markets = markets.filter(market_type=market_type)
    if risk_group:
        markets = markets.filter(risk_group__slug=risk_group)
    if status in MarketStatus.values:
        markets = markets.filter(status=status)
    q = q.strip()
    if q:
        markets = markets.filter(
            Q(symbol__icontains=q)
            | Q(spec__name__icontains=q)
            | Q(spec__outcomes__icontains=q)
            | Q(xip__title__icontains=q)
        )
    return markets.order_by("symbol")


@dataclass(frozen=True)
class TimelineEntry:
    """One step of a market's life as its page shows it."""

    at: datetime
    title: str
    detail: str = ""
    link: str = ""


def market_resolution(market: Market) -> Resolution | None:
    """The market's resolution (prediction markets), with who proposed, decided and approved it."""
    return (
        Resolution.objects.filter(market=market)
        .select_related("proposed_by", "decided_by", "approved_by")
        .first()
    )


# a market page's history, compiled once (xip_portal.compiled_queries): through the ORM,
# building these queries cost more than the rest of the registry's half of the page
_STATUS_CHANGES = CompiledQuery(
    lambda market: MarketStatusChange.objects.filter(market=market).select_related("actor"),
    market=int,
)
_ELIMINATIONS = CompiledQuery(
    lambda market: OutcomeElimination.objects.filter(market=market).select_related("eliminated_by"),
    market=int,
)
_CHANGES = CompiledQuery(
    lambda market: MarketChange.objects.filter(market=market).select_related("xip"), market=int
)


def market_changes(market: Market) -> list[MarketChange]:
    """The changes that XIPs decided for `market`, by effective time, with their XIPs."""
    changes = _CHANGES.objects(market=market.pk)
    for change in changes:
        change.market = market
    return changes


def market_timeline(market: Market, resolution: Resolution | None) -> list[TimelineEntry]:
    """The market's status moves, its outcomes' eliminations and every step of its
    `resolution` (market_resolution), oldest first (the settlement is the status move to
    settled, whose reason names the outcome)."""
    entries = [
        TimelineEntry(
            change.created_at,
            change.get_to_status_display(),
            f"{change.actor or 'automatic'}{': ' + change.reason if change.reason else ''}",
        )
        for change in _STATUS_CHANGES.objects(market=market.pk)
    ]
    entries += [
        TimelineEntry(
            elimination.eliminated_at,
            f"Outcome eliminated: {elimination.outcome}",
            f"by {elimination.eliminated_by}; its NO shares paid 1, its YES shares 0",
            elimination.evidence_url,
        )
        for elimination in (_ELIMINATIONS.objects(market=market.pk) if market.outcomes else ())
    ]
    if resolution is not None:
        entries.append(
            TimelineEntry(
                resolution.proposed_at,
                f"Outcome proposed: {resolution.outcome}",
                f"by {resolution.proposed_by}; disputes until "
                f"{resolution.dispute_until:%Y-%m-%d %H:%M} UTC",
                resolution.evidence_url,
            )
        )
        dispute = ResolutionDispute.objects.filter(resolution=resolution).first()
        if dispute is not None:
            entries.append(
                TimelineEntry(
                    dispute.created_at,
                    "Disputed",
                    f"{dispute.reason} (bond {dispute.bond_amount.normalize():f} "
                    f"{dispute.bond_asset})",
                )
            )
        if resolution.decided_at is not None:
            entries.append(
                TimelineEntry(
                    resolution.decided_at,
                    f"Decided: {resolution.final_outcome}",
                    f"by {resolution.decided_by}: {resolution.decision_reason}"
                    + (f"; dispute {dispute.get_result_display().lower()}" if dispute else ""),
                )
            )
    entries.sort(key=lambda entry: entry.at)
    return entries


@dataclass(frozen=True)
class TradableStats:
    """A tradable's day in the trader's decimals: a spot or perp market, a binary
    prediction market, or one outcome of a categorical one. `probability` (prediction
    only) is the YES price as a fraction of the payout: the mid of the best bid and ask
    when both are there, else the last trade. `change` is the move since the day's start
    (a fraction of the price for spot and perps, probability points for prediction)."""

    market: Market
    engine_market: str
    outcome: str
    listed: ListedMarket
    last: Decimal | None
    bid: Decimal | None
    ask: Decimal | None
    probability: Decimal | None
    change: Decimal | None
    volume: Decimal
    open_interest: Decimal


DAY = timedelta(days=1)


def market_stats(markets: list[Market], *, now: datetime) -> dict[str, TradableStats]:
    """The stats of every tradable of `markets` by engine market id (a categorical
    market's outcomes as `<symbol>:<outcome>`), for the 24 hours before `now`. A
    constant number of queries."""
    tradables = [
        (market, f"{market.symbol}:{outcome}" if outcome else market.symbol, outcome)
        for market in markets
        for outcome in (market.outcomes if market.market_type == MarketType.PREDICTION else [])
        or [""]
    ]
    summaries = market_summaries(
        market_ids=[engine_market for _, engine_market, _ in tradables],
        since_ms=int((now - DAY).timestamp() * 1000),
    )
    # only the markets the engine lists have units to convert (and a shard)
    configs = market_engine_configs(
        [market for market, engine_market, _ in tradables if engine_market in summaries]
    )
    stats = {}
    for market, engine_market, outcome in tradables:
        summary = summaries.get(engine_market)
        if summary is None:
            continue
        listed = configs[market.pk]

        def price(units: int | None, listed: ListedMarket = listed) -> Decimal | None:
            return (Decimal(units) * listed.price_unit).normalize() if units else None

        quote = summary.quote
        last, previous = quote.last_price, summary.previous
        probability = change = None
        if quote.payout:
            quoted = quote.quoted
            probability = Decimal(quoted) / quote.payout if quoted else None
            if previous:
                change = Decimal(last - previous) / quote.payout
        elif previous:
            change = Decimal(last - previous) / previous
        stats[engine_market] = TradableStats(
            market=market,
            engine_market=engine_market,
            outcome=outcome,
            listed=listed,
            last=price(last),
            bid=price(quote.bid),
            ask=price(quote.ask),
            probability=probability,
            change=change,
            volume=(Decimal(summary.volume) * listed.size_unit).normalize(),
            open_interest=(Decimal(summary.open_interest) * listed.size_unit).normalize(),
        )
    return stats


@dataclass(frozen=True)
class RegistryRow:
    """A market in the registry list. `lead` is the categorical market's most likely
    outcome, whose stats `stats` then are; volume and open interest are the market's."""

    market: Market
    stats: TradableStats | None
    lead: str
    volume: Decimal
    open_interest: Decimal


REGISTRY_SORTS = {
    "symbol": lambda row: row.market.symbol,
    "price": lambda row: (row.stats and (row.stats.probability or row.stats.last)) or 0,
    "change": lambda row: (row.stats and row.stats.change) or 0,
    "volume": lambda row: row.volume,
    "open_interest": lambda row: row.open_interest,
}


def registry_rows(markets: list[Market], *, now: datetime, sort: str = "") -> list[RegistryRow]:
    """`markets` with their day's stats, sorted by `sort` (a REGISTRY_SORTS key, "-" first
    for descending; the symbol otherwise)."""
    by_market: dict[int, list[TradableStats]] = {}
    for stats in market_stats(markets, now=now).values():
        by_market.setdefault(stats.market.pk, []).append(stats)
    rows = []
    for market in markets:
        parts = by_market.get(market.pk, [])
        lead = max(parts, key=lambda s: s.probability or 0, default=None)
        rows.append(
            RegistryRow(
                market=market,
                stats=lead,
                lead=lead.outcome if lead is not None else "",
                volume=sum((s.volume for s in parts), Decimal(0)),
                open_interest=sum((s.open_interest for s in parts), Decimal(0)),
            )
        )
    descending = sort.startswith("-")
    key = REGISTRY_SORTS.get(sort.removeprefix("-"), REGISTRY_SORTS["symbol"])
    return sorted(rows, key=key, reverse=descending)
