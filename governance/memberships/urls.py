"""Pages of memberships: joining a permissionless group (included by governance.urls)."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("risk-groups/<slug:slug>/join/", views.riskgroup_join, name="riskgroup_join"),
]
