"""A prediction market's resolution through /api/v1: its state and timeline (public), and
its steps, each the service the market page calls, once per Idempotency-Key: a member of
the resolver proposes an outcome with evidence; a member of the group disputes it within
the window, locking the dispute bond; an XIP editor of the group decides a dispute; a
regulated group's operator approves the decision. Deciding and approving are staff steps:
they need two-factor authentication, as on the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.risk_groups.models import MarketType
from markets.errors import MarketError
from markets.models import Market, Resolution, ResolutionDispute
from markets.resolutions import (
    dispute_bond,
    market_outcome_choices,
    market_resolver,
    resolution_decide,
    resolution_decision_approve,
    resolution_dispute,
    resolution_propose,
)
from markets.selectors import market_resolution, market_timeline
from xip_portal.api_input import input_validated
from xip_portal.errors import ApplicationError
from xip_portal.models import User
from xip_portal.roles import acting_user, two_factor_require

from .api_requests import IDEMPOTENCY_PARAMETER, TradingApiView, decimal_text


class TimelineOutput(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    title = serializers.CharField()
    detail = serializers.CharField()
    link = serializers.CharField(help_text="The evidence of a proposal, else empty.")


class DisputeOutput(serializers.Serializer[Any]):
    reason = serializers.CharField()
    bond_asset = serializers.CharField()
    bond_amount = serializers.CharField()
    result = serializers.ChoiceField(choices=ResolutionDispute.Result.choices)
    created_at = serializers.DateTimeField()


class ResolutionOutput(serializers.Serializer[Any]):
    market = serializers.CharField()
    market_status = serializers.CharField()
    status = serializers.CharField(
        help_text="none (no outcome proposed yet), proposed, disputed, decided or settled."
    )
    outcome = serializers.CharField(help_text="The proposed outcome.")
    evidence_url = serializers.CharField()
    proposed_at = serializers.DateTimeField(allow_null=True)
    dispute_until = serializers.DateTimeField(allow_null=True)
    disputable = serializers.BooleanField(help_text="Whether a dispute is taken now.")
    final_outcome = serializers.CharField(help_text="What was decided or paid.")
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    settled_at = serializers.DateTimeField(allow_null=True)
    dispute = DisputeOutput(allow_null=True)
    resolver = serializers.CharField(help_text="The institution whose members propose.")
    outcome_choices = serializers.ListField(child=serializers.CharField())
    dispute_bond_asset = serializers.CharField()
    dispute_bond_amount = serializers.CharField()
    timeline = TimelineOutput(many=True)


def _prediction(symbol: str) -> Market:
    market = get_object_or_404(
        Market.objects.select_related("risk_group", "deployer"), symbol=symbol[:40]
    )
    if market.market_type != MarketType.PREDICTION:
        raise ApplicationError(
            f"{market.symbol} is not a prediction market.",
            code=MarketError.NOT_A_PREDICTION_MARKET,
        )
    return market


def resolution_answer(market: Market) -> dict[str, Any]:
    """The market's resolution as ResolutionOutput reads it."""
    resolution: Resolution | None = market_resolution(market)
    dispute = (
        ResolutionDispute.objects.filter(resolution=resolution).first()
        if resolution is not None
        else None
    )
    resolver = market_resolver(market)
    bond = dispute_bond(market)
    return {
        "market": market.symbol,
        "market_status": market.status,
        "status": resolution.status if resolution is not None else "none",
        "outcome": resolution.outcome if resolution is not None else "",
        "evidence_url": resolution.evidence_url if resolution is not None else "",
        "proposed_at": resolution.proposed_at if resolution is not None else None,
        "dispute_until": resolution.dispute_until if resolution is not None else None,
        "disputable": resolution is not None and resolution.can_be_disputed(timezone.now()),
        "final_outcome": resolution.final_outcome if resolution is not None else "",
        "decided_at": resolution.decided_at if resolution is not None else None,
        "decision_reason": resolution.decision_reason if resolution is not None else "",
        "settled_at": resolution.settled_at if resolution is not None else None,
        "dispute": None
        if dispute is None
        else {
            "reason": dispute.reason,
            "bond_asset": dispute.bond_asset,
            "bond_amount": decimal_text(dispute.bond_amount),
            "result": dispute.result,
            "created_at": dispute.created_at,
        },
        "resolver": resolver.name if resolver is not None else "",
        "outcome_choices": list(market_outcome_choices(market)),
        "dispute_bond_asset": bond.asset,
        "dispute_bond_amount": decimal_text(bond.amount),
        "timeline": [
            {"at": e.at, "title": e.title, "detail": e.detail, "link": e.link or ""}
            for e in market_timeline(market, resolution)
        ],
    }


class ResolutionApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="resolution",
        responses=ResolutionOutput,
        summary="A prediction market's resolution: its state, the dispute bond and timeline",
    )
    def get(self, request: Request, symbol: str) -> Response:
        return Response(ResolutionOutput(resolution_answer(_prediction(symbol))).data)


class ResolutionStepApi(TradingApiView):
    """One step: `take(user, market, fields)` calls its service with the validated body."""

    write_limit = (10, 10.0)
    staff_step = False

    def take(self, user: User, market: Market, fields: dict[str, Any]) -> None:
        raise NotImplementedError

    def step(
        self, request: Request, symbol: str, body: type[serializers.Serializer[Any]]
    ) -> Response:
        user = acting_user(request)
        if self.staff_step:
            two_factor_require(user)
        market = _prediction(symbol)

        def write(_engine_key: str) -> Response:
            self.take(user, market, input_validated(request, body))
            market.refresh_from_db()
            return Response(ResolutionOutput(resolution_answer(market)).data)

        return self.idempotent(request, write)


def _step_schema(summary: str, body: type[serializers.Serializer[Any]]) -> Callable[..., Any]:
    return extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=body,
        responses=ResolutionOutput,
        summary=summary,
    )


class ProposeInput(serializers.Serializer[Any]):
    outcome = serializers.CharField(max_length=80)
    evidence_url = serializers.CharField(max_length=500)


class ResolutionProposeApi(ResolutionStepApi):
    def take(self, user: User, market: Market, fields: dict[str, Any]) -> None:
        resolution_propose(actor=user, market=market, **fields)

    @_step_schema("The resolver: propose a closed market's outcome with evidence", ProposeInput)
    def post(self, request: Request, symbol: str) -> Response:
        return self.step(request, symbol, ProposeInput)


class DisputeInput(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000)


class ResolutionDisputeApi(ResolutionStepApi):
    def take(self, user: User, market: Market, fields: dict[str, Any]) -> None:
        resolution_dispute(actor=user, market=market, **fields)

    @_step_schema(
        "A member of the group: dispute the proposed outcome, locking the dispute bond",
        DisputeInput,
    )
    def post(self, request: Request, symbol: str) -> Response:
        return self.step(request, symbol, DisputeInput)


class DecideInput(serializers.Serializer[Any]):
    outcome = serializers.CharField(max_length=80)
    reason = serializers.CharField(max_length=2000)


class ResolutionDecideApi(ResolutionStepApi):
    staff_step = True

    def take(self, user: User, market: Market, fields: dict[str, Any]) -> None:
        resolution_decide(actor=user, market=market, **fields)

    @_step_schema("An XIP editor of the group: decide a disputed outcome (2FA)", DecideInput)
    def post(self, request: Request, symbol: str) -> Response:
        return self.step(request, symbol, DecideInput)


class ApproveInput(serializers.Serializer[Any]):
    """No fields: the decision approved is the market's."""


class ResolutionApproveApi(ResolutionStepApi):
    staff_step = True

    def take(self, user: User, market: Market, fields: dict[str, Any]) -> None:
        resolution_decision_approve(actor=user, market=market)

    @_step_schema("A regulated group's operator: approve the editors' decision (2FA)", ApproveInput)
    def post(self, request: Request, symbol: str) -> Response:
        return self.step(request, symbol, ApproveInput)
