from django.urls import path

from . import live, views

urlpatterns = [
    path("stream/", live.stream, name="live_stream"),
    path("markets/<str:symbol>/orders/", views.market_order_place, name="market_order_place"),
    path(
        "markets/<str:symbol>/orders/preview/",
        views.market_order_preview,
        name="market_order_preview",
    ),
    path(
        "markets/<str:symbol>/orders/<int:order_id>/cancel/",
        views.market_order_cancel,
        name="market_order_cancel",
    ),
    path(
        "markets/<str:symbol>/orders/<int:order_id>/amend/",
        views.market_order_amend,
        name="market_order_amend",
    ),
    path("account/api-keys/", views.api_keys, name="api_keys"),
    path("account/api-keys/<str:key>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
]
