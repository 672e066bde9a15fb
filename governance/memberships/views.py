"""Membership pages: joining a permissionless group by accepting its terms; the staff page
where a group's operator or KYC admin revokes memberships."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from governance.risk_groups.services import risk_group_get
from xip_portal.errors import ApplicationError, errors_as_messages, form_add_application_error
from xip_portal.models import StaffRole
from xip_portal.roles import acting_user, staff_role_required

from .forms import JoinForm
from .models import Membership
from .services import membership_join, membership_revoke, memberships_of_group


@login_required
@require_POST
def riskgroup_join(request: HttpRequest, slug: str) -> HttpResponse:
    user = acting_user(request)
    group = risk_group_get(slug=slug)
    form = JoinForm(request.POST)
    if form.is_valid():
        try:
            membership_join(user=user, risk_group=group, **form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, f"You are a member of {group.name}.")
            return redirect("riskgroup_detail", slug=group.slug)
    context: dict[str, Any] = {
        "group": group,
        "bounds": getattr(group, "bounds", None),
        "collateral": group.collateral_assets.all(),
        "editors": [],
        "join_form": form,
    }
    return render(request, "governance/riskgroup_detail.html", context, status=400)


@staff_role_required(StaffRole.RISK_GROUP_OPERATOR, StaffRole.KYC_ADMIN)
@require_GET
def riskgroup_members(request: HttpRequest, slug: str) -> HttpResponse:
    """The group's active members, each with a form to revoke the membership."""
    group = risk_group_get(slug=slug)
    memberships = memberships_of_group(actor=acting_user(request), risk_group=group)
    return render(
        request, "governance/riskgroup_members.html", {"group": group, "memberships": memberships}
    )


@staff_role_required(StaffRole.RISK_GROUP_OPERATOR, StaffRole.KYC_ADMIN)
@require_POST
def membership_revoke_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke with a reason (the service cancels the member's orders). Only who may see the
    group's members may post here: anyone else is refused, not sent back with a message."""
    membership = get_object_or_404(Membership.objects.select_related("risk_group"), pk=pk)
    memberships_of_group(actor=acting_user(request), risk_group=membership.risk_group)
    with errors_as_messages(request):
        membership_revoke(
            actor=acting_user(request),
            membership=membership,
            reason=request.POST.get("reason", "")[:2000],
        )
        messages.success(request, f"Membership of {membership} revoked; its orders are cancelled.")
    return redirect("riskgroup_members", slug=membership.risk_group.slug)
