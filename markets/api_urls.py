"""REST API of this app (mounted under /api/v1/ by xip_portal.urls)."""

from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("assets/", api.AssetListApi.as_view(), name="api_assets"),
    path("markets/", api.MarketListApi.as_view(), name="api_markets"),
    path("markets/<str:symbol>/", api.MarketDetailApi.as_view(), name="api_market"),
    path("markets/<str:symbol>/status/", api.MarketStatusApi.as_view(), name="api_market_status"),
    path(
        "markets/<str:symbol>/oracle-prices/",
        api.OraclePriceApi.as_view(),
        name="api_market_oracle_prices",
    ),
]
