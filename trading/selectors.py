"""Reads of the trading room."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, QuerySet

from engine import models as engine
from engine.selectors import balances_of, statement_of
from engine.specs import asset_unit
from markets.models import Asset
from xip_portal.models import User

from .instruments import trading_shards
from .models import ApiKey


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


def _asset_units(shard: engine.Shard) -> Callable[[str], Decimal]:
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
    """The user's balances of each asset in each risk group that trades, as decimals of the
    asset."""
    rows = []
    for shard in trading_shards():
        unit = _asset_units(shard)
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
        unit = _asset_units(shard)
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
