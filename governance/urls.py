"""Pages of this app (mounted at the site root by xip_portal.urls), one file per room."""

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("governance.proposals.urls")),
    path("", include("governance.risk_groups.urls")),
    path("", include("governance.memberships.urls")),
    path("", include("governance.kyc.urls")),
]
