from django.urls import path

from . import live, views

urlpatterns = [
    path("stream/", live.stream, name="live_stream"),
    path("account/api-keys/", views.api_keys, name="api_keys"),
    path("account/api-keys/<str:key>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
]
