"""REST API of this app (mounted under /api/v1/ by xip_portal.urls), one file per room."""

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("governance.risk_groups.api_urls")),
    path("", include("governance.memberships.api_urls")),
    path("", include("governance.kyc.api_urls")),
    path("", include("governance.proposals.api_urls")),
]
