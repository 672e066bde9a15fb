"""Pages of risk groups: the public list and detail, and the staff pages (included by
governance.urls)."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("risk-groups/", views.riskgroup_list, name="riskgroup_list"),
    path("risk-groups/<slug:slug>/", views.riskgroup_detail, name="riskgroup_detail"),
    path("staff/risk-groups/new/", views.riskgroup_new, name="riskgroup_new"),
    path("staff/risk-groups/<slug:slug>/", views.riskgroup_edit, name="riskgroup_edit"),
    path(
        "staff/risk-groups/<slug:slug>/collateral/",
        views.riskgroup_collateral,
        name="riskgroup_collateral",
    ),
]
