"""The visitor's membership panel on a risk group's page: `{% membership_panel group %}`.

The risk group's page belongs to the lowest governance room; memberships and KYC sit above
it, so the panel that shows them is composed here, in the app's shell, not in its view."""

from typing import Any

from django import template

from governance.kyc.models import KYC_OPEN_STATUSES
from governance.kyc.services import kyc_applications_of
from governance.memberships.forms import JoinForm
from governance.memberships.models import Membership
from governance.risk_groups.models import RiskGroup

register = template.Library()


@register.inclusion_tag("governance/includes/membership_panel.html", takes_context=True)
def membership_panel(context: Any, group: RiskGroup, join_form: Any = None) -> dict[str, Any]:
    """The user's membership of `group` and, for a regulated group, their open KYC
    application; for a permissionless one, the form to join (`join_form` if the join page
    hands back a refused one)."""
    request = context["request"]
    user = request.user
    membership = application = None
    if user.is_authenticated:
        membership = Membership.objects.filter(user=user, risk_group=group).first()
        application = (
            kyc_applications_of(user=user)
            .filter(risk_group=group, status__in=KYC_OPEN_STATUSES)
            .first()
        )
    if group.is_regulated:
        join_form = None
    elif not join_form:
        join_form = JoinForm()
    return {
        "group": group,
        "user": user,
        "request": request,
        "membership": membership,
        "application": application,
        "join_form": join_form,
    }
