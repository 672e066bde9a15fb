"""Trading pages: the World Cup board (any categorical market's board) with its one-click
buys, the portfolio, the deployer's revenue, and the user's API keys."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from governance.memberships.models import MembershipStatus
from governance.memberships.services import membership_allows
from governance.proposals.demo import WORLD_CUP_SYMBOL
from governance.risk_groups.models import RiskGroup
from markets.models import Market
from xip_portal.bounded_values import bounded_integer
from xip_portal.compiled_queries import CompiledQuery
from xip_portal.errors import ApplicationError, errors_as_messages, form_add_application_error
from xip_portal.models import User
from xip_portal.roles import acting_user

from .boards import board_of
from .forms import ApiKeyForm, FaucetForm, QuickBuyForm, TransferForm, transfer_fields
from .portfolio import fills_csv, portfolio_of
from .revenue import MAX_DAYS, REVENUE_DAYS, deployer_revenue, institutions_of
from .selectors import api_keys_of
from .services import (
    api_key_create,
    api_key_revoke,
    collateral_transfer,
    faucet_take,
    quick_buy,
)


def world_cup(request: HttpRequest) -> HttpResponse:
    return outcome_board(request, WORLD_CUP_SYMBOL)


def outcome_board(request: HttpRequest, symbol: str) -> HttpResponse:
    """Every outcome of a categorical prediction market, most likely first."""
    market = get_object_or_404(
        Market.objects.select_related("risk_group"),
        symbol=symbol,
        market_type="prediction",
        spec__outcomes__isnull=False,
    )
    user = request.user if request.user.is_authenticated else None
    return render(
        request,
        "trading/board.html",
        {
            "board": board_of(market, user=user, now=timezone.now()),
            "group": market.risk_group,
            "may_trade": user is not None
            and membership_allows(user=user, risk_group=market.risk_group, action="trade"),
        },
    )


@login_required
@require_POST
def board_buy(request: HttpRequest, symbol: str) -> HttpResponse:
    """One click: buy YES or NO shares of one of the board's markets at the market."""
    market = get_object_or_404(Market, symbol=symbol, market_type="prediction")
    form = QuickBuyForm(request.POST)
    with errors_as_messages(request):
        if not form.is_valid():
            raise ApplicationError(
                " ".join(str(error) for errors in form.errors.values() for error in errors)
            )
        data = form.cleaned_data
        receipt, bought = quick_buy(
            user=acting_user(request),
            board=market,
            engine_market=data["market"],
            outcome=data["outcome"],
            size=data["size"],
        )
        what = f"{data['outcome'].upper()} on {data['market'].replace(':', ': ')}"
        if receipt.status != "applied":
            messages.info(request, f"Your order for {what} is queued; it shows below once applied.")
        elif bought:
            messages.success(
                request, f"Bought {bought:f} {what} ({receipt.result.replace('_', ' ')})."
            )
        else:
            messages.warning(request, f"Nobody sells {what} now: nothing was bought.")
    if symbol == WORLD_CUP_SYMBOL:
        return redirect("world_cup")
    return redirect("outcome_board", symbol=symbol)


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """The list and the form; a created key's secret is shown in this answer only."""
    user = acting_user(request)
    form = ApiKeyForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            api_key, secret = api_key_create(
                user=user,
                name=form.cleaned_data["name"],
                passphrase=form.cleaned_data["passphrase"],
                scopes=form.cleaned_data["scopes"],
                ip_allowlist=form.cleaned_data["ip_allowlist"].split(),
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            created = {"key": api_key.key, "secret": secret}
            form = ApiKeyForm()
    return render(
        request,
        "trading/api_keys.html",
        {"form": form, "created": created, "keys": api_keys_of(user=user)},
    )


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key: str) -> HttpResponse:
    with errors_as_messages(request):
        api_key = api_key_revoke(user=acting_user(request), key=key)
        messages.success(request, f"The key “{api_key.name}” is revoked.")
    return redirect("api_keys")


def _member_groups(user: User | int) -> QuerySet[RiskGroup]:
    return (
        RiskGroup.objects.filter(
            memberships__user=user, memberships__status=MembershipStatus.ACTIVE
        )
        .distinct()
        .order_by("name")
    )


# read on every portfolio page view (xip_portal.compiled_queries)
_MEMBER_GROUPS = CompiledQuery(_member_groups, user=int)


@login_required
def portfolio(request: HttpRequest, transfer_form: TransferForm | None = None) -> HttpResponse:
    """The unified account across risk groups and market types; a refused transfer's form
    shows again with its errors."""
    user = acting_user(request)
    groups = _MEMBER_GROUPS.objects(user=user.pk)
    return render(
        request,
        "trading/portfolio.html",
        {
            "portfolio": portfolio_of(user_id=user.pk),
            "transfer_form": transfer_form,
            "transfer_fields": None if transfer_form else transfer_fields(groups),
            "faucet_groups": [g for g in groups if g.simulated_collateral],
        },
    )


@login_required
def portfolio_fills_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every fill of the user as CSV, streamed."""
    response = StreamingHttpResponse(
        fills_csv(user_id=acting_user(request).pk), content_type="text/csv"
    )
    response["Content-Disposition"] = 'attachment; filename="fills.csv"'
    return response


@login_required
@require_POST
def portfolio_transfer(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = TransferForm(request.POST, groups=_member_groups(user))
    if not form.is_valid():
        return portfolio(request, transfer_form=form)
    data = form.cleaned_data
    try:
        transfer = collateral_transfer(
            user=user,
            from_group=data["from_group"],
            to_group=data["to_group"],
            amount=data["amount"],
            transfer_id=str(data["transfer_id"]),
        )
    except ApplicationError as exc:
        form_add_application_error(form, exc)
        return portfolio(request, transfer_form=form)
    messages.success(
        request,
        f"Transfer of {data['amount'].normalize():f} from {data['from_group'].name} to "
        f"{data['to_group'].name}: {transfer.get_status_display().lower()}.",
    )
    return redirect("portfolio")


@login_required
@require_POST
def portfolio_faucet(request: HttpRequest) -> HttpResponse:
    form = FaucetForm(request.POST)
    with errors_as_messages(request):
        if not form.is_valid():
            raise ApplicationError("Choose a risk group whose collateral is simulated.")
        group = form.cleaned_data["risk_group"]
        faucet_take(user=acting_user(request), risk_group=group)
        messages.success(
            request,
            f"Today's simulated {group.faucet_daily_amount.normalize():f} from the faucet of "
            f"{group.name} is on its way to your account.",
        )
    return redirect("portfolio")


@login_required
def revenue(request: HttpRequest) -> HttpResponse:
    """The deployer's revenue of one of the user's institutions (?institution=<slug>)."""
    user = acting_user(request)
    institutions = institutions_of(user=user)
    slug = request.GET.get("institution", "")[:100]
    chosen = next((i for i in institutions if i.slug == slug), None) or (
        institutions[0] if institutions and not slug else None
    )
    if slug and chosen is None:
        raise Http404("You belong to no such institution.")
    days = bounded_integer(
        request.GET.get("days", REVENUE_DAYS), field="days", minimum=1, maximum=MAX_DAYS
    )
    rows = deployer_revenue(institution=chosen, days=days, now=timezone.now()) if chosen else []
    return render(
        request,
        "trading/revenue.html",
        {"institutions": institutions, "institution": chosen, "days": days, "rows": rows},
    )
