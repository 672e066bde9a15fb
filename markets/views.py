"""Registry pages: the market list, a market's page, and the operators' status moves."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from governance.risk_groups.models import MarketType, RiskGroup
from xip_portal.bounded_values import bounded_time
from xip_portal.errors import errors_as_messages
from xip_portal.models import StaffRole
from xip_portal.pagination import page_of
from xip_portal.roles import acting_user, has_role, staff_role_required

from .models import Market, MarketStatus
from .selectors import REGISTRY_SORTS, registry_rows
from .selectors import market_list as markets_filtered
from .services import OPERATOR_MOVES, market_status_change
from .specs import spec_rows


def market_list(request: HttpRequest) -> HttpResponse:
    query = {name: request.GET.get(name, "")[:100] for name in ("q", "type", "group", "status")}
    filters = {
        "market_type": request.GET.get("type", ""),
        "risk_group": request.GET.get("group", ""),
        "status": request.GET.get("status", ""),
        "q": request.GET.get("q", "")[:100],
    }
    sort = request.GET.get("sort", "")
    if sort.removeprefix("-") not in REGISTRY_SORTS:
        sort = ""
    rows = registry_rows(list(markets_filtered(**filters)), now=timezone.now(), sort=sort)
    page = page_of(request, rows)
    return render(
        request,
        "markets/list.html",
        {
            "page": page,
            "sort": sort,
            "sort_query": "".join(
                f"{urlencode({name: value})}&" for name, value in query.items() if value
            ),
            "filters": filters,
            "types": MarketType.choices,
            "statuses": MarketStatus.choices,
            "groups": RiskGroup.objects.order_by("name").values_list("slug", "name"),
        },
    )


def market_detail(request: HttpRequest, symbol: str) -> HttpResponse:
    market = get_object_or_404(
        Market.objects.select_related("risk_group", "xip", "deployer", "quote_asset", "base_asset"),
        symbol=symbol,
    )
    is_operator = has_role(request.user, StaffRole.RISK_GROUP_OPERATOR, market.risk_group)
    moves = [move for move, target in OPERATOR_MOVES.items() if market.can_move_to(target)]
    return render(
        request,
        "markets/detail.html",
        {
            "market": market,
            "spec_rows": spec_rows(market.spec),
            "history": market.status_changes.select_related("actor"),
            "changes": market.changes.select_related("xip"),
            "is_operator": is_operator,
            "moves": moves,
        },
    )


@staff_role_required(StaffRole.RISK_GROUP_OPERATOR)
@require_POST
def market_staff_action(request: HttpRequest, symbol: str) -> HttpResponse:
    """An operator's move (halt with reason, resume, schedule, ...); the service checks the
    operator's group."""
    market = get_object_or_404(Market, symbol=symbol)
    launch_text = request.POST.get("launch_at", "")
    with errors_as_messages(request):
        launch_at = bounded_time(launch_text, field="Launch time") if launch_text else None
        market_status_change(
            actor=acting_user(request),
            market=market,
            move=request.POST.get("move", ""),
            reason=request.POST.get("reason", "")[:2000],
            launch_at=launch_at,
        )
        messages.success(request, "Done.")
    return redirect("market_detail", symbol=market.symbol)
