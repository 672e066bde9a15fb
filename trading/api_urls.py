from django.urls import path

from . import api, onchain

urlpatterns = [
    path("api-keys/", api.ApiKeyListApi.as_view(), name="api_api_keys"),
    path("api-keys/<str:key>/", api.ApiKeyDetailApi.as_view(), name="api_api_key"),
    path("accounts/proof/", onchain.ProofApi.as_view(), name="api_account_proof"),
    path("accounts/withdrawals/", onchain.WithdrawalListApi.as_view(), name="api_withdrawals"),
    path("revenue/", api.RevenueApi.as_view(), name="api_revenue"),
]
