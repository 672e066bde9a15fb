"""REST API of the registry: assets, markets (filtered), one market with its spec, config
hash and status history, and the operators' status moves."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.risk_groups.models import MarketType, RiskGroup
from xip_portal.bounded_values import BoundedTimeSerializerField
from xip_portal.models import User
from xip_portal.pagination import api_page
from xip_portal.roles import acting_user, two_factor_require

from .models import Asset, Market, MarketStatus, MarketStatusChange
from .oracles import oracle_price_push
from .selectors import market_list
from .services import OPERATOR_MOVES, market_operator_require, market_status_change


class AssetOutput(serializers.ModelSerializer[Asset]):
    class Meta:
        model = Asset
        fields = ["symbol", "name", "decimals"]


class MarketOutput(serializers.ModelSerializer[Market]):
    market_type = serializers.ChoiceField(choices=MarketType.choices)
    status = serializers.ChoiceField(choices=MarketStatus.choices)
    name = serializers.CharField(source="title")
    risk_group: serializers.SlugRelatedField[RiskGroup] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    xip = serializers.CharField(source="xip.label")
    xip_id = serializers.IntegerField()
    base_asset: serializers.SlugRelatedField[Asset] = serializers.SlugRelatedField(
        slug_field="symbol", read_only=True
    )
    quote_asset: serializers.SlugRelatedField[Asset] = serializers.SlugRelatedField(
        slug_field="symbol", read_only=True
    )

    class Meta:
        model = Market
        fields = [
            "symbol",
            "name",
            "market_type",
            "status",
            "risk_group",
            "xip",
            "xip_id",
            "base_asset",
            "quote_asset",
            "config_hash",
            "launch_at",
        ]


class StatusChangeOutput(serializers.ModelSerializer[MarketStatusChange]):
    actor: serializers.StringRelatedField[User] = serializers.StringRelatedField()

    class Meta:
        model = MarketStatusChange
        fields = ["from_status", "to_status", "actor", "reason", "created_at"]


class MarketDetailOutput(MarketOutput):
    spec = serializers.JSONField()
    status_reason = serializers.CharField()
    history = StatusChangeOutput(source="status_changes", many=True)

    class Meta(MarketOutput.Meta):
        fields = [*MarketOutput.Meta.fields, "spec", "status_reason", "history"]


def _market(symbol: str) -> Market:
    return get_object_or_404(
        Market.objects.select_related("risk_group", "xip", "base_asset", "quote_asset"),
        symbol=symbol,
    )


class AssetListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=AssetOutput(many=True), summary="Registered assets")
    def get(self, request: Request) -> Response:
        return Response(AssetOutput(Asset.objects.all(), many=True).data)


class MarketListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("type", enum=MarketType.values),
            OpenApiParameter("group", description="Risk group slug"),
            OpenApiParameter("status", enum=MarketStatus.values),
            OpenApiParameter("q", description="Symbol or name"),
        ],
        responses=MarketOutput(many=True),
        summary="The market registry",
    )
    def get(self, request: Request) -> Response:
        markets = market_list(
            market_type=request.query_params.get("type", ""),
            risk_group=request.query_params.get("group", ""),
            status=request.query_params.get("status", ""),
            q=request.query_params.get("q", "")[:100],
        )
        return api_page(request, self, markets, MarketOutput)


class MarketDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        responses=MarketDetailOutput, summary="One market: spec, config hash, status history"
    )
    def get(self, request: Request, symbol: str) -> Response:
        return Response(MarketDetailOutput(_market(symbol)).data)


class MarketStatusApi(APIView):
    class MarketStatusInput(serializers.Serializer[Any]):
        move = serializers.ChoiceField(choices=sorted(OPERATOR_MOVES))
        reason = serializers.CharField(max_length=2000)
        launch_at = BoundedTimeSerializerField(required=False, allow_null=True, default=None)

    @extend_schema(
        request=MarketStatusInput,
        responses=MarketDetailOutput,
        summary="Operators: schedule, launch, halt, resume, close or settle a market",
    )
    def post(self, request: Request, symbol: str) -> Response:
        user = acting_user(request)
        two_factor_require(user)
        market = _market(symbol)
        market_operator_require(user, market)
        payload = self.MarketStatusInput(data=request.data)
        payload.is_valid(raise_exception=True)
        market = market_status_change(actor=user, market=market, **payload.validated_data)
        return Response(MarketDetailOutput(_market(market.symbol)).data)


class OraclePriceApi(APIView):
    """Signed oracle pushes: no login, the EIP-191 signature of one of the market's oracle
    signers authenticates the price (markets.oracles.oracle_message says what is signed)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    class OraclePushInput(serializers.Serializer[Any]):
        price = serializers.CharField(max_length=60)
        timestamp = serializers.IntegerField(min_value=1, max_value=10**11)
        signature = serializers.CharField(max_length=200)

    class OraclePriceOutput(serializers.Serializer[Any]):
        market = serializers.CharField(source="market.symbol")
        index_price = serializers.DecimalField(max_digits=40, decimal_places=18)
        price_at = serializers.DateTimeField()
        origin = serializers.CharField(source="source")

    @extend_schema(
        request=OraclePushInput,
        responses=OraclePriceOutput,
        summary="Oracle signers: push a signed index price of a perpetual",
    )
    def post(self, request: Request, symbol: str) -> Response:
        payload = self.OraclePushInput(data=request.data)
        payload.is_valid(raise_exception=True)
        state = oracle_price_push(market=_market(symbol), **payload.validated_data)
        return Response(self.OraclePriceOutput(state).data)
