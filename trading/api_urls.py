from django.urls import path

from . import api

urlpatterns = [
    path("api-keys/", api.ApiKeyListApi.as_view(), name="api_api_keys"),
    path("api-keys/<str:key>/", api.ApiKeyDetailApi.as_view(), name="api_api_key"),
    path("revenue/", api.RevenueApi.as_view(), name="api_revenue"),
]
