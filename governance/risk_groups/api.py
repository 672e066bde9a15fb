"""REST API of risk groups: anyone reads groups; site admins create them; operators edit
their group's policy, bounds and collateral."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engine.core.markets import BPS
from xip_portal.api_input import input_validated
from xip_portal.bounded_values import BoundedDecimalSerializerField, BoundedIntegerSerializerField
from xip_portal.models import Institution
from xip_portal.roles import HasStaffRoleWithTwoFactor, acting_user

from .models import CollateralAsset, MarketBounds, RiskGroup
from .services import (
    BOUNDS_FIELDS,
    BOUNDS_INTEGER_LIMITS,
    POLICY_FIELDS,
    POLICY_INTEGER_LIMITS,
    collateral_asset_remove,
    collateral_asset_set,
    risk_group_create,
    risk_group_get,
    risk_group_policy_update,
)


class BoundsOutput(serializers.ModelSerializer[MarketBounds]):
    class Meta:
        model = MarketBounds
        fields = list(BOUNDS_FIELDS)


class CollateralOutput(serializers.ModelSerializer[CollateralAsset]):
    class Meta:
        model = CollateralAsset
        fields = ["symbol", "haircut_bps"]


class RiskGroupOutput(serializers.ModelSerializer[RiskGroup]):
    operator = serializers.SlugRelatedField[Institution](slug_field="slug", read_only=True)
    is_regulated = serializers.BooleanField(read_only=True)
    bounds = BoundsOutput(read_only=True, allow_null=True)
    collateral_assets = CollateralOutput(many=True, read_only=True)

    class Meta:
        model = RiskGroup
        fields = [
            "name",
            "slug",
            "kind",
            "is_regulated",
            "operator",
            *POLICY_FIELDS,
            "bounds",
            "collateral_assets",
        ]


def _whole(name: str) -> BoundedIntegerSerializerField:
    """An optional whole number with the limits the service holds `name` to."""
    minimum, maximum = (POLICY_INTEGER_LIMITS | BOUNDS_INTEGER_LIMITS)[name]
    return BoundedIntegerSerializerField(min_value=minimum, max_value=maximum, required=False)


def _bound_decimal() -> BoundedDecimalSerializerField:
    return BoundedDecimalSerializerField(max_digits=30, decimal_places=18, required=False)


class PolicyInput(serializers.Serializer[Any]):
    description = serializers.CharField(required=False, allow_blank=True)
    last_call_minutes = _whole("last_call_minutes")
    vote_quorum = _whole("vote_quorum")
    vote_threshold_bps = _whole("vote_threshold_bps")
    operator_approval_required = serializers.BooleanField(required=False)
    stagnant_after_days = _whole("stagnant_after_days")
    proposal_bond_amount = BoundedDecimalSerializerField(
        max_digits=20, decimal_places=6, min_value=0, required=False
    )
    proposal_bond_asset = serializers.CharField(required=False, allow_blank=True)
    simulated_collateral = serializers.BooleanField(required=False)
    faucet_daily_amount = BoundedDecimalSerializerField(
        max_digits=20, decimal_places=6, min_value=0, required=False
    )
    reverification_days = _whole("reverification_days")
    four_eyes_for_institutions = serializers.BooleanField(required=False)
    high_risk_countries = serializers.ListField(child=serializers.CharField(), required=False)
    blocked_jurisdictions = serializers.ListField(child=serializers.CharField(), required=False)
    allowed_jurisdictions = serializers.ListField(child=serializers.CharField(), required=False)
    terms = serializers.CharField(required=False, allow_blank=True)


class BoundsInput(serializers.Serializer[Any]):
    min_tick = _bound_decimal()
    max_tick = _bound_decimal()
    min_lot = _bound_decimal()
    max_lot = _bound_decimal()
    min_maker_fee_bps = _whole("min_maker_fee_bps")
    max_maker_fee_bps = _whole("max_maker_fee_bps")
    min_taker_fee_bps = _whole("min_taker_fee_bps")
    max_taker_fee_bps = _whole("max_taker_fee_bps")
    max_leverage = _whole("max_leverage")
    allowed_market_types = serializers.ListField(child=serializers.CharField(), required=False)
    allowed_oracle_kinds = serializers.ListField(child=serializers.CharField(), required=False)


class ReadOrStaff(BasePermission):
    """Anyone reads; writing needs a staff role with two-factor (the service checks which)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return bool(
            IsAuthenticated().has_permission(request, view)
            and HasStaffRoleWithTwoFactor().has_permission(request, view)
        )


def _groups() -> Any:
    return RiskGroup.objects.select_related("operator", "bounds").prefetch_related(
        "collateral_assets"
    )


class RiskGroupListApi(APIView):
    permission_classes = [ReadOrStaff]

    class RiskGroupCreateInput(PolicyInput):
        name = serializers.CharField(max_length=120)
        slug = serializers.SlugField(max_length=60, required=False, default="")
        kind = serializers.ChoiceField(choices=RiskGroup.Kind.choices)
        operator = serializers.SlugRelatedField(
            slug_field="slug", queryset=Institution.objects.all(), required=False, allow_null=True
        )
        bounds = BoundsInput(required=False)

    @extend_schema(responses=RiskGroupOutput(many=True), summary="Every risk group")
    def get(self, request: Request) -> Response:
        return Response(RiskGroupOutput(_groups().order_by("name"), many=True).data)

    @extend_schema(
        request=RiskGroupCreateInput,
        responses={201: RiskGroupOutput},
        summary="Create a risk group (site admins)",
    )
    def post(self, request: Request) -> Response:
        user = acting_user(request)
        fields = input_validated(request, self.RiskGroupCreateInput)
        data = dict(fields)
        name, slug, kind = data.pop("name"), data.pop("slug"), data.pop("kind")
        operator, bounds = data.pop("operator", None), data.pop("bounds", None)
        group = risk_group_create(
            actor=user,
            name=name,
            slug=slug,
            kind=kind,
            operator=operator,
            policy=data,
            bounds=dict(bounds) if bounds else None,
        )
        return Response(RiskGroupOutput(_groups().get(pk=group.pk)).data, status=201)


class RiskGroupDetailApi(APIView):
    permission_classes = [ReadOrStaff]

    class RiskGroupPolicyInput(PolicyInput):
        bounds = BoundsInput(required=False)
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(responses=RiskGroupOutput, summary="One risk group with its policy")
    def get(self, request: Request, slug: str) -> Response:
        return Response(RiskGroupOutput(get_object_or_404(_groups(), slug=slug)).data)

    @extend_schema(
        request=RiskGroupPolicyInput,
        responses=RiskGroupOutput,
        summary="Change the group's policy and market bounds (its operators)",
    )
    def patch(self, request: Request, slug: str) -> Response:
        user = acting_user(request)
        group = risk_group_get(slug=slug)
        fields = input_validated(request, self.RiskGroupPolicyInput, partial=True)
        data = dict(fields)
        reason = data.pop("reason", "")
        bounds = data.pop("bounds", None)
        risk_group_policy_update(
            actor=user,
            risk_group=group,
            policy=data,
            bounds=dict(bounds) if bounds else None,
            reason=reason,
        )
        return Response(RiskGroupOutput(_groups().get(pk=group.pk)).data)


class CollateralApi(APIView):
    permission_classes = [IsAuthenticated, HasStaffRoleWithTwoFactor]

    class CollateralInput(serializers.Serializer[Any]):
        haircut_bps = BoundedIntegerSerializerField(min_value=0, max_value=BPS - 1)

    @extend_schema(
        request=CollateralInput,
        responses=CollateralOutput,
        summary="Add a collateral asset or change its haircut (the group's operators)",
    )
    def put(self, request: Request, slug: str, symbol: str) -> Response:
        fields = input_validated(request, self.CollateralInput)
        asset = collateral_asset_set(
            actor=acting_user(request),
            risk_group=risk_group_get(slug=slug),
            symbol=symbol,
            haircut_bps=fields["haircut_bps"],
        )
        return Response(CollateralOutput(asset).data)

    @extend_schema(responses={204: None}, summary="Remove a collateral asset (operators)")
    def delete(self, request: Request, slug: str, symbol: str) -> Response:
        collateral_asset_remove(
            actor=acting_user(request), risk_group=risk_group_get(slug=slug), symbol=symbol
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
