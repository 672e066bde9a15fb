"""REST API of memberships (included by governance.api_urls under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("risk-groups/<slug:slug>/join/", api.JoinApi.as_view(), name="api_riskgroup_join"),
    path("memberships/", api.MembershipListApi.as_view(), name="api_memberships"),
    path(
        "staff/risk-groups/<slug:slug>/members/",
        api.GroupMembersApi.as_view(),
        name="api_riskgroup_members",
    ),
    path(
        "staff/memberships/<int:pk>/revoke/",
        api.MembershipRevokeApi.as_view(),
        name="api_membership_revoke",
    ),
]
