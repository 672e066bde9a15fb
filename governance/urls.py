"""Pages of this app (mounted at the site root by xip_portal.urls)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
