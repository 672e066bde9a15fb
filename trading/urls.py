from django.urls import path

from . import live, onchain, views

urlpatterns = [
    path("stream/", live.stream, name="live_stream"),
    path("account/api-keys/", views.api_keys, name="api_keys"),
    path("account/api-keys/<str:key>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
    path("account/funds/", onchain.funds, name="funds"),
    path(
        "account/funds/withdrawals/<str:withdrawal_id>/claim/",
        onchain.withdrawal_claim_view,
        name="withdrawal_claim",
    ),
    path("account/verify-balance/", onchain.verify_balance, name="verify_balance"),
    path("settlement/<slug:slug>/", onchain.settlement, name="settlement"),
]
