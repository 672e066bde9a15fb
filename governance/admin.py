from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from governance.kyc.models import KycApplication, KycDocument
from governance.memberships.models import Membership
from governance.risk_groups.models import RiskGroup
from governance.risk_groups.services import (
    POLICY_FIELDS,
    risk_group_create,
    risk_group_policy_update,
)
from xip_portal.admin import ReadOnlyAdmin
from xip_portal.roles import acting_user


@admin.register(RiskGroup)
class RiskGroupAdmin(admin.ModelAdmin[RiskGroup]):
    """Creating and editing go through the audited services (bounds and collateral are
    edited on the group's staff page)."""

    list_display = ["name", "slug", "kind", "operator"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    fields = ["name", "slug", "kind", "operator", *POLICY_FIELDS]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["name", "slug", "kind", "operator"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: RiskGroup, form: Any, change: bool) -> None:
        user = acting_user(request)
        policy = {
            name: form.cleaned_data[name] for name in POLICY_FIELDS if name in form.cleaned_data
        }
        if change:
            risk_group_policy_update(
                actor=user, risk_group=obj, policy=policy, reason="changed in the admin"
            )
        else:
            created = risk_group_create(
                actor=user,
                name=obj.name,
                slug=obj.slug,
                kind=obj.kind,
                operator=obj.operator,
                policy=policy,
            )
            obj.pk = created.pk


@admin.register(KycApplication)
class KycApplicationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "risk_group", "kind", "applicant", "institution", "status"]
    list_filter = ["status", "kind", "risk_group"]
    list_select_related = ["risk_group", "applicant", "institution"]
    search_fields = ["legal_name", "applicant__email", "institution__name"]


@admin.register(KycDocument)
class KycDocumentAdmin(ReadOnlyAdmin):
    list_display = ["pk", "application", "kind", "content_type", "size", "created_at"]
    exclude = ["file"]  # opened only through the auditing staff view


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["risk_group", "user", "institution", "tier", "status", "valid_until"]
    list_filter = ["status", "source", "risk_group"]
    list_select_related = ["risk_group", "user", "institution"]
