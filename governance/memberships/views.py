"""Membership pages: joining a permissionless group by accepting its terms."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from governance.risk_groups.services import risk_group_get
from xip_portal.errors import ApplicationError, form_add_application_error
from xip_portal.roles import acting_user

from .forms import JoinForm
from .services import membership_join


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
