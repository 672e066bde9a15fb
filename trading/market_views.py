"""The market page's order form, its preview, and the cancel and amend buttons of the
trader's open orders (the book, chart and account are in trading.market_page)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from engine.services import CommandReceipt
from markets.models import Market
from xip_portal.errors import ApplicationError, NotFound, errors_as_messages
from xip_portal.models import User
from xip_portal.roles import acting_user

from .instruments import Tradable, tradables
from .market_page import order_form_defaults, viewer_of
from .order_form import OrderForm, amend_values, order_preview, reason_words
from .selectors import order_find
from .services import order_amend, order_cancel, order_place


def _tradable(market: Market, engine_market: str) -> Tradable:
    """The tradable of `market` a form names (a categorical market's outcome), or 404."""
    tradable = tradables().get(engine_market)
    if tradable is None or tradable.market.pk != market.pk:
        raise NotFound(f"{market.symbol} does not trade here now.")
    return tradable


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _back(market: Market, tradable: Tradable) -> HttpResponse:
    url = reverse("market_detail", args=[market.symbol])
    if tradable.outcome:
        url += f"?outcome={quote(tradable.outcome)}"
    return redirect(url)


def _receipt_words(tradable: Tradable, receipt: CommandReceipt) -> tuple[str, str]:
    """(level, words) of what the engine did with an order."""
    if receipt.status != "applied":
        return "info", "Your order is sent; it shows in your open orders once the engine has it."
    if receipt.result == "rejected":
        return "error", reason_words(receipt.reason)
    outcome = receipt.outcome or {}
    filled = tradable.size(int(outcome.get("filled") or 0))
    if receipt.result == "filled":
        return "success", f"Filled: {filled:f}."
    if receipt.result == "partially_filled":
        return "success", f"Partly filled ({filled:f}); the rest rests on the book."
    return "success", f"Your order #{receipt.order_id} rests on the book."


@login_required
@require_POST
def market_order_place(request: HttpRequest, symbol: str) -> HttpResponse:
    """The order form: refused in words beside the form, or sent to the engine through the
    trading service (membership gate included) and its outcome shown in words."""
    market = get_object_or_404(Market, symbol=symbol)
    tradable = _tradable(market, request.POST.get("tradable", "")[:120])
    user = acting_user(request)
    form = OrderForm(request.POST, tradable=tradable)
    result: tuple[str, str] | None = None
    if form.is_valid():
        try:
            receipt = order_place(user=user, tradable=tradable, command=form.command)
        except ApplicationError as refusal:
            result = ("error", refusal.message)
            for name in refusal.fields:
                if name in form.fields:
                    form.add_error(name, refusal.message)
        else:
            result = _receipt_words(tradable, receipt)
            form = OrderForm(initial=_kept(form), tradable=tradable)
    else:
        result = ("error", "The order was not sent: see beside the fields.")
    if not _is_htmx(request):
        getattr(messages, result[0])(request, result[1])
        return _back(market, tradable)
    return render(
        request,
        "trading/market/order_panel.html",
        {
            "market": market,
            "tradable": tradable,
            "order_form": form,
            "result": result,
            "is_live": tradable.is_live,
            "limits": order_form_defaults(tradable),
        },
    )


def _kept(form: OrderForm) -> dict[str, Any]:
    """What the next order starts from: the same side, type and outcome."""
    return {name: form.cleaned_data.get(name) for name in ("side", "order_type", "outcome", "tif")}


@require_POST
def market_order_preview(request: HttpRequest, symbol: str) -> HttpResponse:
    """The form's figures before sending (htmx, as the trader types)."""
    market = get_object_or_404(Market, symbol=symbol)
    tradable = _tradable(market, request.POST.get("tradable", "")[:120])
    form = OrderForm(request.POST, tradable=tradable)
    user = request.user if isinstance(request.user, User) else None
    preview = order_preview(tradable, user, form.command) if form.is_valid() else None
    return render(
        request,
        "trading/market/order_preview.html",
        {"tradable": tradable, "preview": preview, "order_form": form},
    )


@login_required
@require_POST
def market_order_cancel(request: HttpRequest, symbol: str, order_id: int) -> HttpResponse:
    market = get_object_or_404(Market, symbol=symbol)
    tradable = _tradable(market, request.POST.get("tradable", "")[:120])
    user = acting_user(request)
    with errors_as_messages(request):
        order = order_find(user=user, tradable=tradable, order_id=order_id)
        receipt = order_cancel(user=user, order=order)
        level, words = ("success", f"Order #{order_id} is cancelled.")
        if receipt.status == "applied" and receipt.result == "rejected":
            level, words = "error", reason_words(receipt.reason)
        getattr(messages, level)(request, words)
    return _mine_or_back(request, market, tradable)


@login_required
@require_POST
def market_order_amend(request: HttpRequest, symbol: str, order_id: int) -> HttpResponse:
    """A new price and/or size for a resting order (checked against tick and lot)."""
    market = get_object_or_404(Market, symbol=symbol)
    tradable = _tradable(market, request.POST.get("tradable", "")[:120])
    user = acting_user(request)
    with errors_as_messages(request):
        order = order_find(user=user, tradable=tradable, order_id=order_id)
        price, size = amend_values(tradable, request.POST)
        receipt = order_amend(user=user, order=order, price=price, size=size)
        level, words = ("success", f"Order #{order_id} is amended.")
        if receipt.status == "applied" and receipt.result == "rejected":
            level, words = "error", reason_words(receipt.reason)
        getattr(messages, level)(request, words)
    return _mine_or_back(request, market, tradable)


def _mine_or_back(request: HttpRequest, market: Market, tradable: Tradable) -> HttpResponse:
    """htmx: the viewer's orders again (with the messages); otherwise back to the page."""
    if not _is_htmx(request):
        return _back(market, tradable)
    return render(
        request,
        "trading/market/orders.html",
        {"tradable": tradable, "viewer": viewer_of(tradable, acting_user(request))},
    )
