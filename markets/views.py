"""Registry pages: the market list, a market's page, and the operators' status moves."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from governance.risk_groups.models import MarketType, RiskGroup
from xip_portal.bounded_values import bounded_time
from xip_portal.errors import errors_as_messages
from xip_portal.models import StaffRole
from xip_portal.roles import acting_user, has_role, staff_role_required, two_factor_require

from .models import Market, MarketStatus, Resolution, ResolutionStatus
from .oracles import oracle_facts, oracle_price_set
from .pages import market_sections, registry_listing
from .resolutions import (
    dispute_bond,
    market_outcome_choices,
    market_resolver,
    resolution_decide,
    resolution_decision_approve,
    resolution_dispute,
    resolution_propose,
)
from .selectors import market_changes, market_page_get, market_resolution, market_timeline
from .services import OPERATOR_MOVES, market_status_change
from .specs import spec_rows


def market_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "markets/list.html",
        {
            **registry_listing(request.GET),
            "types": MarketType.choices,
            "statuses": MarketStatus.choices,
            "groups": RiskGroup.objects.order_by("name").values_list("slug", "name"),
        },
    )


def market_detail(request: HttpRequest, symbol: str) -> HttpResponse:
    """The market's page: its registry facts, and what other rooms add (trading: book,
    chart, order form; markets.pages)."""
    market = market_page_get(symbol)
    is_operator = has_role(request.user, StaffRole.RISK_GROUP_OPERATOR, market.risk_group)
    moves = [move for move, target in OPERATOR_MOVES.items() if market.can_move_to(target)]
    # only a prediction market is ever resolved (markets.resolutions)
    resolution = market_resolution(market) if market.market_type == MarketType.PREDICTION else None
    return render(
        request,
        "markets/detail.html",
        {
            "market": market,
            "spec_rows": spec_rows(market.spec),
            "timeline": market_timeline(market, resolution),
            "changes": market_changes(market),
            "is_operator": is_operator,
            "moves": moves,
            "sections": market_sections(request, market),
            **_resolution_panel(request, market, resolution, is_operator=is_operator),
            **_oracle_panel(market, is_operator=is_operator),
        },
    )


def _oracle_panel(market: Market, *, is_operator: bool) -> dict[str, object]:
    if market.market_type != MarketType.PERP:
        return {}
    refusals = market.oracle_refusals.all()[:20] if is_operator else []
    return {**oracle_facts(market), "oracle_refusals": refusals, "is_perp": True}


@staff_role_required(StaffRole.RISK_GROUP_OPERATOR)
@require_POST
def market_oracle_price(request: HttpRequest, symbol: str) -> HttpResponse:
    """An operator sets a perpetual's index price by hand (the service checks the group)."""
    market = get_object_or_404(Market, symbol=symbol)
    with errors_as_messages(request):
        oracle_price_set(
            actor=acting_user(request),
            market=market,
            price=request.POST.get("price", "")[:60],
            reason=request.POST.get("reason", "")[:2000],
        )
        messages.success(request, "Price set.")
    return redirect("market_detail", symbol=market.symbol)


def _resolution_panel(
    request: HttpRequest, market: Market, resolution: Resolution | None, *, is_operator: bool
) -> dict[str, object]:
    """What the market page's resolution panel shows this visitor (prediction markets)."""
    if market.market_type != MarketType.PREDICTION:
        return {}
    user = request.user
    resolver = market_resolver(market)
    is_resolver = bool(
        user.is_authenticated and resolver is not None and resolver.members.filter(pk=user.pk)
    )
    status = resolution.status if resolution is not None else ""
    return {
        "resolution": resolution,
        "resolver": resolver,
        "outcome_choices": market_outcome_choices(market),
        "dispute_bond": dispute_bond(market),
        "can_propose": is_resolver and resolution is None and market.status == MarketStatus.CLOSED,
        "can_dispute": bool(
            user.is_authenticated
            and resolution is not None
            and resolution.can_be_disputed(timezone.now())
        ),
        "can_decide": status == ResolutionStatus.DISPUTED
        and has_role(user, StaffRole.XIP_EDITOR, market.risk_group),
        "can_approve": status == ResolutionStatus.DECIDED and is_operator,
    }


RESOLUTION_STEPS = ("propose", "dispute", "decide", "approve")


@login_required
@require_POST
def market_resolution_action(request: HttpRequest, symbol: str, step: str) -> HttpResponse:
    """A step of a prediction market's resolution, posted from its page; the services check
    who may take it (decide and approve are staff steps and need two-factor)."""
    market = get_object_or_404(Market, symbol=symbol)
    actor = acting_user(request)
    post = request.POST
    with errors_as_messages(request):
        if step == "propose":
            resolution_propose(
                actor=actor,
                market=market,
                outcome=post.get("outcome", "")[:80],
                evidence_url=post.get("evidence_url", "")[:500],
            )
        elif step == "dispute":
            resolution_dispute(actor=actor, market=market, reason=post.get("reason", "")[:2000])
        elif step == "decide":
            two_factor_require(actor)
            resolution_decide(
                actor=actor,
                market=market,
                outcome=post.get("outcome", "")[:80],
                reason=post.get("reason", "")[:2000],
            )
        elif step == "approve":
            two_factor_require(actor)
            resolution_decision_approve(actor=actor, market=market)
        else:
            raise Http404("No such resolution step.")
        messages.success(request, "Done.")
    return redirect("market_detail", symbol=market.symbol)


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
