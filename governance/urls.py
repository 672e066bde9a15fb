"""Pages of this app (mounted at the site root by xip_portal.urls)."""

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("governance.proposal_urls")),
    path("", include("governance.risk_group_urls")),
]
