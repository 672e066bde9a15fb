"""Reads of the trading room: API keys, and a trader's own orders as both trading APIs
look them up."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet

from engine import models as engine
from engine.core.reasons import Reason
from engine.services import shard_of
from xip_portal.errors import ApplicationError
from xip_portal.models import User

from .errors import TradingError
from .instruments import Tradable
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
