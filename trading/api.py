"""The project's own trading API (/api/v1/): API keys, a deployer's revenue."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from xip_portal.api_input import input_validated
from xip_portal.bounded_values import bounded_integer
from xip_portal.errors import NotFound
from xip_portal.pagination import api_page
from xip_portal.roles import acting_user

from .models import ApiKey
from .revenue import MAX_DAYS, REVENUE_DAYS, deployer_revenue, institutions_of
from .selectors import api_keys_of
from .services import SCOPES, api_key_create, api_key_revoke


class ApiKeyOutput(serializers.ModelSerializer[ApiKey]):
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPES))
    ip_allowlist = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()

    class Meta:
        model = ApiKey
        fields = [
            "key",
            "name",
            "scopes",
            "ip_allowlist",
            "is_active",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]


class ApiKeyCreatedOutput(ApiKeyOutput):
    secret = serializers.CharField(help_text="Shown this once; it cannot be read again.")

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "secret"]


class ApiKeyCreateInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=50)
    passphrase = serializers.CharField(min_length=8, max_length=32, trim_whitespace=False)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SCOPES), default=["read"], max_length=3
    )
    ip_allowlist = serializers.ListField(
        child=serializers.CharField(max_length=50), default=list, max_length=20
    )


class ApiKeyListApi(APIView):
    @extend_schema(responses=ApiKeyOutput(many=True), summary="Your API keys")
    def get(self, request: Request) -> Response:
        return api_page(request, self, api_keys_of(user=acting_user(request)), ApiKeyOutput)

    @extend_schema(
        request=ApiKeyCreateInput,
        responses={201: ApiKeyCreatedOutput},
        summary="Create an API key (its secret is in this answer only)",
    )
    def post(self, request: Request) -> Response:
        fields = input_validated(request, ApiKeyCreateInput)
        api_key, secret = api_key_create(user=acting_user(request), **fields)
        api_key.secret = secret  # type: ignore[attr-defined]
        return Response(ApiKeyCreatedOutput(api_key).data, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(APIView):
    @extend_schema(request=None, responses=ApiKeyOutput, summary="Revoke an API key at once")
    def delete(self, request: Request, key: str) -> Response:
        api_key = api_key_revoke(user=acting_user(request), key=key)
        return Response(ApiKeyOutput(api_key).data)


class RevenueDayOutput(serializers.Serializer[Any]):
    market = serializers.CharField(source="market.symbol")
    day = serializers.DateField()
    trades = serializers.IntegerField()
    volume = serializers.DecimalField(max_digits=40, decimal_places=18, coerce_to_string=True)
    notional = serializers.DecimalField(max_digits=40, decimal_places=18, coerce_to_string=True)
    fees = serializers.DecimalField(max_digits=40, decimal_places=18, coerce_to_string=True)
    deployer = serializers.DecimalField(max_digits=40, decimal_places=18, coerce_to_string=True)
    protocol = serializers.DecimalField(max_digits=40, decimal_places=18, coerce_to_string=True)
    asset = serializers.CharField()


class RevenueApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("institution", str, required=True, description="Its slug."),
            OpenApiParameter("days", int, description=f"1 to {MAX_DAYS} (default 30)."),
        ],
        responses=RevenueDayOutput(many=True),
        summary="A deployer's revenue per market and day (members of the institution only)",
    )
    def get(self, request: Request) -> Response:
        slug = str(request.query_params.get("institution", ""))[:100]
        institution = next(
            (i for i in institutions_of(user=acting_user(request)) if i.slug == slug), None
        )
        if institution is None:
            raise NotFound("You belong to no such institution.")
        days = bounded_integer(
            request.query_params.get("days", REVENUE_DAYS),
            field="days",
            minimum=1,
            maximum=MAX_DAYS,
        )
        rows = deployer_revenue(institution=institution, days=days, now=timezone.now())
        return Response(RevenueDayOutput(rows, many=True).data)
