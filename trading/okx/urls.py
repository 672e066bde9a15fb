"""/api/v5/: the OKX v5-compatible API."""

from django.urls import path

from . import account

urlpatterns = [
    path("asset/currencies", account.AssetCurrenciesView.as_view()),
]
