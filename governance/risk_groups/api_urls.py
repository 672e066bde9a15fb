"""REST API of risk groups (included by governance.api_urls under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("risk-groups/", api.RiskGroupListApi.as_view(), name="api_riskgroups"),
    path("risk-groups/<slug:slug>/", api.RiskGroupDetailApi.as_view(), name="api_riskgroup"),
    path(
        "risk-groups/<slug:slug>/collateral/<str:symbol>/",
        api.CollateralApi.as_view(),
        name="api_riskgroup_collateral",
    ),
]
