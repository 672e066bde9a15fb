"""Reads of the trading room: API keys, and a trader's own orders as both trading APIs
look them up."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F, QuerySet

from engine import models as engine
from engine.core.reasons import Reason
from engine.selectors import (
    balances_of,
    funding_of,
    insurance_entries_of,
    insurance_fund_of,
    shards_of,
    statement_of,
)
from engine.services import shard_of
from engine.specs import asset_unit
from governance.risk_groups.models import RiskGroup
from markets.models import Asset
from xip_portal.errors import ApplicationError
from xip_portal.models import User

from .errors import TradingError
from .instruments import Tradable, tradables_of, trading_shards
from .models import ApiKey, IdempotentAnswer


def api_keys_of(*, user: User) -> QuerySet[ApiKey]:
    """The user's keys, active ones first, newest first."""
    return ApiKey.objects.filter(user=user).order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at", "-id"
    )


def api_key_active(*, key: str) -> ApiKey | None:
    """The unrevoked key with its user, for a signed request (one query)."""
    return (
        ApiKey.objects.select_related("user")
        .filter(key=key, revoked_at__isnull=True, user__is_active=True)
        .first()
    )


def asset_units(shard: engine.Shard) -> Callable[[str], Decimal]:
    """What one engine unit of each asset of the shard is worth (the collateral is kept with
    extra digits)."""
    decimals = dict(Asset.objects.values_list("symbol", "decimals"))

    def unit(asset: str) -> Decimal:
        return asset_unit(decimals=decimals.get(asset, 6), collateral=asset == shard.collateral)

    return unit


@dataclass(frozen=True)
class AccountBalance:
    risk_group_id: int
    asset: str
    free: Decimal
    locked: Decimal


def account_balances(*, user: User) -> list[AccountBalance]:
    """The user's balances of each asset in each risk group where they hold one (one that
    no longer trades included), as decimals of the asset."""
    rows = []
    for shard in shards_of(account=user.pk):
        unit = asset_units(shard)
        for balance in balances_of(shard=shard, account=user.pk):
            rows.append(
                AccountBalance(
                    int(shard.risk_group_id),
                    balance.asset,
                    (Decimal(balance.free) * unit(balance.asset)).normalize(),
                    (Decimal(balance.locked) * unit(balance.asset)).normalize(),
                )
            )
    return rows


@dataclass(frozen=True)
class StatementLine:
    risk_group_id: int
    seq: int
    kind: str
    asset: str
    amount: Decimal
    market_id: str
    reference: str


def account_statement(*, user: User, limit: int) -> list[StatementLine]:
    """The user's latest statement lines (deposits, withdrawals, transfers, fees, funding,
    payouts, liquidations, bonds): at most `limit` of each risk group that trades, by risk
    group, newest first (each group's engine has its own sequence), amounts as decimals of
    the asset (negative: paid out of the account)."""
    lines = []
    for shard in trading_shards():
        unit = asset_units(shard)
        for entry in statement_of(shard=shard, account=user.pk).reverse()[:limit]:
            lines.append(
                StatementLine(
                    int(shard.risk_group_id),
                    int(entry.seq),
                    entry.kind,
                    entry.asset,
                    (Decimal(entry.amount) * unit(entry.asset)).normalize(),
                    entry.market_id,
                    entry.reference,
                )
            )
    return lines


def order_id_of(value: Any) -> int:
    """An order's id as a client sends it (up to 18 digits); an unknown order otherwise."""
    text = str(value)
    if not text.isdecimal() or len(text) > 18:
        raise ApplicationError("Order does not exist.", code=Reason.UNKNOWN_ORDER, field="order_id")
    return int(text)


def order_find(
    *,
    user: User,
    tradable: Tradable | None = None,
    order_id: Any = None,
    client_order_id: Any = "",
) -> engine.Order:
    """One of the user's orders by its id, or by its client order id (the latest order
    that carried it), in `tradable` when given. Another trader's order is not found."""
    orders = engine.Order.objects.filter(account=user.pk).select_related("command", "shard")
    if tradable is not None:
        orders = orders.filter(
            shard=shard_of(risk_group=tradable.risk_group_id), market_id=tradable.engine_market
        )
    if order_id:
        order = orders.filter(order_id=order_id_of(order_id)).order_by("-command_id").first()
    elif client_order_id:
        order = orders.filter(client_order_id=str(client_order_id)).order_by("-order_id").first()
    else:
        raise ApplicationError(
            "Name the order by its id or its client order id.",
            code=TradingError.MISSING_PARAMETER,
        )
    if order is None:
        raise ApplicationError("Order does not exist.", code=Reason.UNKNOWN_ORDER, http_status=404)
    return order


def answer_kept(*, user: User, key: str) -> IdempotentAnswer | None:
    """The answer kept under the user's Idempotency-Key, if any."""
    return IdempotentAnswer.objects.filter(user=user, key=key).first()


@dataclass(frozen=True)
class InsuranceFundView:
    """A risk group's insurance fund in decimals of its collateral (engine.selectors'
    InsuranceFund), with the entries' conversion."""

    asset: str
    balance: Decimal
    inflows: Decimal
    payouts: Decimal
    bad_debt: Decimal
    liquidations: int
    deleveragings: int
    as_of: int
    shard: engine.Shard | None


@dataclass(frozen=True)
class InsuranceLine:
    """One move of the fund or one auto-deleveraging, for pages and the API. Accounts are
    left out: the fund's history is public, who was liquidated is not."""

    seq: int
    ts: int
    kind: str
    label: str
    amount: Decimal
    market_id: str
    size: Decimal | None
    price: Decimal | None
    clawed_back: Decimal
    bad_debt: Decimal
    reference: str


def insurance_fund(*, risk_group: RiskGroup) -> InsuranceFundView:
    """The group's insurance fund from its engine's events (zero before it has one)."""
    shard = engine.Shard.objects.filter(risk_group=risk_group).first()
    asset = shard.collateral if shard is not None else ""
    if shard is None:
        return InsuranceFundView(asset, *(Decimal(0),) * 4, 0, 0, 0, None)
    fund = insurance_fund_of(shard=shard)
    unit = asset_units(shard)(shard.collateral)

    def money(units: int) -> Decimal:
        return (Decimal(units) * unit).normalize()

    return InsuranceFundView(
        asset,
        money(fund.balance),
        money(fund.inflows),
        money(fund.payouts),
        money(fund.bad_debt),
        fund.liquidations,
        fund.deleveragings,
        fund.as_of,
        shard,
    )


def insurance_entries(fund: InsuranceFundView) -> QuerySet[engine.InsuranceEntry]:
    """The fund's entries, newest first (with `ts`)."""
    if fund.shard is None:
        return engine.InsuranceEntry.objects.none()
    return insurance_entries_of(shard=fund.shard)


def insurance_lines(
    fund: InsuranceFundView, entries: Iterable[engine.InsuranceEntry]
) -> list[InsuranceLine]:
    """The fund's entries (insurance_entries_of) in decimals: amounts of the collateral, an
    auto-deleveraging's size and price in its market's units."""
    if fund.shard is None:
        return []
    unit = asset_units(fund.shard)(fund.shard.collateral)
    entries = list(entries)
    markets = tradables_of(entry.market_id for entry in entries if entry.market_id)
    labels = dict(engine.InsuranceEntry.Kind.choices)
    lines = []
    for entry in entries:
        tradable = markets.get(entry.market_id) if entry.market_id else None
        lines.append(
            InsuranceLine(
                int(entry.seq),
                int(getattr(entry, "ts", 0) or 0),
                entry.kind,
                str(labels.get(entry.kind, entry.kind)),
                (entry.amount * unit).normalize(),
                entry.market_id,
                tradable.size(entry.size) if tradable and entry.size else None,
                tradable.price(entry.price) if tradable and entry.price else None,
                (entry.clawed_back * unit).normalize(),
                (entry.bad_debt * unit).normalize(),
                entry.reference,
            )
        )
    return lines


@dataclass(frozen=True)
class FundingLine:
    """One funding payment of a perpetual: `rate` of notional at `mark` (positive: longs
    paid shorts), what payers paid and receivers got, at engine time `ts` (ms)."""

    seq: int
    ts: int
    rate: Decimal
    mark: Decimal
    paid: Decimal
    received: Decimal


def funding_lines(tradable: Tradable, entries: Iterable[engine.FundingEntry]) -> list[FundingLine]:
    """A perpetual's funding entries (funding_of) in its decimals."""
    return [
        FundingLine(
            int(entry.seq),
            int(getattr(entry, "ts", 0) or 0),
            Decimal(entry.rate_ppm).scaleb(-6).normalize(),
            tradable.price(entry.mark),
            tradable.money(entry.paid),
            tradable.money(entry.received),
        )
        for entry in entries
    ]


def funding_history(
    *, tradable: Tradable, after_ms: int = 0, before_ms: int = 0
) -> QuerySet[engine.FundingEntry]:
    """The perpetual's funding entries, newest first (with `ts`), paid after `after_ms`
    and before `before_ms` when given."""
    return funding_of(
        shard=shard_of(risk_group=tradable.risk_group_id),
        market_id=tradable.engine_market,
        after_ms=after_ms,
        before_ms=before_ms,
    )
