from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from .models import AuditEntry, Institution, InstitutionMembership, RoleAssignment, User
from .roles import acting_user
from .services import role_grant, role_revoke


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "display_name"]
    fieldsets = (
        (None, {"fields": ("email", "password", "display_name")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline[InstitutionMembership, Institution]):
    model = InstitutionMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin[Institution]):
    list_display = ["name", "slug", "website", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin[RoleAssignment]):
    """Granting and revoking go through the audited services."""

    list_display = ["user", "role", "risk_group", "granted_by", "created_at"]
    list_filter = ["role", "risk_group"]
    autocomplete_fields = ["user"]
    fields = ["user", "role", "risk_group"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: RoleAssignment, form: Any, change: bool
    ) -> None:
        user = acting_user(request)
        granted = role_grant(
            actor=user,
            user=obj.user,
            role=obj.role,  # type: ignore[arg-type]
            risk_group=obj.risk_group,
            reason="granted in the admin",
        )
        obj.pk = granted.pk

    def delete_model(self, request: HttpRequest, obj: RoleAssignment) -> None:
        user = acting_user(request)
        role_revoke(actor=user, assignment=obj, reason="revoked in the admin")

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for assignment in queryset:
            self.delete_model(request, assignment)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Objects that change only through their services (or never): the admin shows them and
    never adds, edits or deletes one."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Append-only."""

    list_display = ["created_at", "actor", "action", "object_type", "object_repr", "request_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "object_id", "request_id", "actor__email", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
