"""REST API of this app (mounted under /api/v1/ by xip_portal.urls)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
