"""Pages of this app (mounted at the site root by xip_portal.urls)."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("markets/", views.market_list, name="market_list"),
    path("markets/<str:symbol>/", views.market_detail, name="market_detail"),
    path(
        "markets/<str:symbol>/resolution/<str:step>/",
        views.market_resolution_action,
        name="market_resolution_action",
    ),
    path(
        "staff/markets/<str:symbol>/oracle-price/",
        views.market_oracle_price,
        name="market_oracle_price",
    ),
    path(
        "staff/markets/<str:symbol>/status/",
        views.market_staff_action,
        name="market_staff_action",
    ),
]
