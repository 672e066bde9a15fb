"""Reads of the trading room: API keys, and a trader's own orders as both trading APIs
look them up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F, QuerySet

from engine import models as engine
from engine.core.reasons import Reason
from engine.selectors import balances_of, shards_of, statement_of
from engine.services import shard_of
from engine.specs import asset_unit
from markets.models import Asset
from xip_portal.errors import ApplicationError
from xip_portal.models import User

from .errors import TradingError
from .instruments import Tradable, trading_shards
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
        if not str(order_id).isdigit() or len(str(order_id)) > 18:
            raise ApplicationError(
                "Order does not exist.", code=Reason.UNKNOWN_ORDER, field="order_id"
            )
        order = orders.filter(order_id=int(order_id)).order_by("-command_id").first()
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
