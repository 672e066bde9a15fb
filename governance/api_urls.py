"""REST API of this app (mounted under /api/v1/ by xip_portal.urls)."""

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("governance.kyc_api_urls")),
    path("", include("governance.proposal_api_urls")),
]
