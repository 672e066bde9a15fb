"""Pages of memberships: joining a permissionless group, revoking memberships (staff)
(included by governance.urls)."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("risk-groups/<slug:slug>/join/", views.riskgroup_join, name="riskgroup_join"),
    path(
        "staff/risk-groups/<slug:slug>/members/", views.riskgroup_members, name="riskgroup_members"
    ),
    path(
        "staff/memberships/<int:pk>/revoke/",
        views.membership_revoke_page,
        name="membership_revoke",
    ),
]
