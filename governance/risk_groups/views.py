"""Risk group pages: the public list and detail, joining a permissionless group, and the
staff pages where site admins create groups and operators edit their group's policy."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from xip_portal.errors import (
    ApplicationError,
    NotFound,
    errors_as_messages,
    form_add_application_error,
)
from xip_portal.models import RoleAssignment, StaffRole
from xip_portal.roles import acting_user, staff_role_required

from .forms import CollateralForm, RiskGroupCreateForm, RiskGroupPolicyForm
from .services import (
    collateral_asset_remove,
    collateral_asset_set,
    risk_group_create,
    risk_group_get,
    risk_group_is_operator,
    risk_group_list,
    risk_group_policy_update,
)


def riskgroup_list(request: HttpRequest) -> HttpResponse:
    return render(request, "governance/riskgroup_list.html", {"groups": risk_group_list()})


def riskgroup_detail(request: HttpRequest, slug: str) -> HttpResponse:
    group = risk_group_get(slug=slug)
    editors = RoleAssignment.objects.filter(
        role=StaffRole.XIP_EDITOR, risk_group=group
    ).select_related("user")
    can_edit = request.user.is_authenticated and risk_group_is_operator(acting_user(request), group)
    # The visitor's membership panel comes from {% membership_panel %} (memberships and KYC
    # sit above this room).
    context = {
        "group": group,
        "bounds": getattr(group, "bounds", None),
        "collateral": group.collateral_assets.all(),
        "markets": group.markets.order_by("symbol"),
        "editors": editors,
        "can_edit": can_edit,
    }
    return render(request, "governance/riskgroup_detail.html", context)


@staff_role_required(StaffRole.SITE_ADMIN)
@require_http_methods(["GET", "POST"])
def riskgroup_new(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = RiskGroupCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = risk_group_create(actor=user, **form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, f"{group.name} is created.")
            return redirect("riskgroup_edit", slug=group.slug)
    return render(
        request, "governance/riskgroup_new.html", {"form": form}, status=400 if form.errors else 200
    )


def _operated_group(request: HttpRequest, slug: str):  # type: ignore[no-untyped-def]
    user = acting_user(request)
    group = risk_group_get(slug=slug)
    if not risk_group_is_operator(user, group):
        raise NotFound(f"There is no risk group {slug!r} that you operate.")
    return user, group


@staff_role_required(StaffRole.RISK_GROUP_OPERATOR)
@require_http_methods(["GET", "POST"])
def riskgroup_edit(request: HttpRequest, slug: str) -> HttpResponse:
    user, group = _operated_group(request, slug)
    form = RiskGroupPolicyForm.for_group(group, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        policy, bounds = form.split()
        try:
            risk_group_policy_update(
                actor=user,
                risk_group=group,
                policy=policy,
                bounds=bounds,
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, f"The policy of {group.name} is saved.")
            return redirect("riskgroup_edit", slug=group.slug)
    context = {
        "group": group,
        "form": form,
        "collateral": group.collateral_assets.all(),
        "collateral_form": CollateralForm(),
    }
    return render(
        request, "governance/riskgroup_edit.html", context, status=400 if form.errors else 200
    )


@staff_role_required(StaffRole.RISK_GROUP_OPERATOR)
@require_POST
def riskgroup_collateral(request: HttpRequest, slug: str) -> HttpResponse:
    user, group = _operated_group(request, slug)
    form = CollateralForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        with errors_as_messages(request):
            if data["remove"]:
                collateral_asset_remove(actor=user, risk_group=group, symbol=data["symbol"])
            else:
                collateral_asset_set(
                    actor=user,
                    risk_group=group,
                    symbol=data["symbol"],
                    haircut_bps=data["haircut_bps"] or 0,
                )
            messages.success(request, "The collateral assets are saved.")
    else:
        messages.error(request, "Give a symbol and a haircut from 0 to 9999 basis points.")
    return redirect("riskgroup_edit", slug=group.slug)
