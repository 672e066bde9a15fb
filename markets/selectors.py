"""Reads of the registry for pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from governance.risk_groups.models import MarketType

from .models import Market, MarketStatus, Resolution, ResolutionDispute


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


def market_timeline(market: Market) -> list[TimelineEntry]:
    """The market's status moves and every step of its resolution, oldest first (the
    settlement is the status move to settled, whose reason names the outcome)."""
    entries = [
        TimelineEntry(
            change.created_at,
            change.get_to_status_display(),
            f"{change.actor or 'automatic'}{': ' + change.reason if change.reason else ''}",
        )
        for change in market.status_changes.select_related("actor")
    ]
    resolution = (
        Resolution.objects.filter(market=market)
        .select_related("proposed_by", "decided_by", "approved_by")
        .first()
    )
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
