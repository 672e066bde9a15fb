"""What traders see and call of the chain: their balance proof (API and "verify my balance"),
deposits and withdrawals (pages and API, the `withdraw` key scope to withdraw), and a risk
group's settlement batches. The chain work itself is engine.chain's."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engine.chain.deployment import deployment_active
from engine.chain.models import Withdrawal
from engine.chain.operator import ChainTransactionFailed
from engine.chain.selectors import (
    balance_proof,
    batches_committed,
    deposits_of,
    withdrawals_of,
)
from engine.chain.withdrawals import withdrawal_claim, withdrawal_request
from engine.errors import EngineError
from governance.risk_groups.models import RiskGroup
from xip_portal.api_input import input_validated
from xip_portal.errors import (
    ApplicationError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    form_add_application_error,
)
from xip_portal.pagination import api_page
from xip_portal.roles import acting_user

from .errors import TradingError
from .forms import WithdrawalForm
from .models import ApiKey
from .okx.authentication import OkxSignatureAuthentication


def _risk_group(slug: Any) -> RiskGroup:
    group = RiskGroup.objects.filter(slug=str(slug or "")).first()
    if group is None:
        raise NotFound(f"No risk group {slug!r}.", field="risk_group")
    return group


def _proof(user_id: int, group: RiskGroup, asset: str = "") -> dict[str, Any]:
    document = balance_proof(risk_group=group, account=user_id, asset=asset)
    if document is None:
        raise NotFound(
            f"No committed batch of {group.name} holds a balance of yours yet.",
            code=EngineError.NO_COMMITTED_BALANCE,
        )
    return document


# ------------------------------------------------------------------------------------ API


class SignedKeyIfPresent(OkxSignatureAuthentication):
    """An OKX-signed API key when the request carries one; otherwise the next method."""

    def authenticate(self, request: Request) -> Any:
        if not request.META.get("HTTP_OK_ACCESS_KEY"):
            return None
        return super().authenticate(request)


class SignedKeySchema(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """How the OpenAPI schema names the signed-key method."""

    target_class = SignedKeyIfPresent
    name = "okxSignedKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "OK-ACCESS-KEY",
            "description": "An API key, signed as OKX v5 signs (OK-ACCESS-SIGN and the rest).",
        }


class FundsScope(BasePermission):
    """A signed-in person, or an API key with "read" (GET) or "withdraw" (POST)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated("Log in, or sign the request with an API key.")
        if isinstance(request.auth, ApiKey):
            wanted = "read" if request.method == "GET" else "withdraw"
            if wanted not in request.auth.scopes:
                raise PermissionDenied(
                    f"This API key has no {wanted!r} scope.", code=TradingError.SCOPE_MISSING
                )
        return True


class FundsApi(APIView):
    authentication_classes = [SignedKeyIfPresent, TokenAuthentication, SessionAuthentication]
    permission_classes = [FundsScope]


class ProofApi(FundsApi):
    @extend_schema(
        summary="Your balance leaf and Merkle proof in the latest committed root",
        parameters=[
            OpenApiParameter("risk_group", str, required=True, description="Risk group slug"),
            OpenApiParameter("asset", str, description="Asset (default: the collateral)"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        group = _risk_group(request.query_params.get("risk_group"))
        return Response(_proof(user.pk, group, str(request.query_params.get("asset", ""))))


class WithdrawalOutput(serializers.ModelSerializer[Withdrawal]):
    risk_group = serializers.CharField(source="risk_group.slug", read_only=True)
    amount = serializers.SerializerMethodField()
    batch = serializers.SerializerMethodField()

    class Meta:
        model = Withdrawal
        fields = [
            "withdrawal_id",
            "risk_group",
            "amount",
            "recipient",
            "status",
            "reason",
            "batch",
            "claim_tx_hash",
            "created_at",
        ]

    def get_amount(self, withdrawal: Withdrawal) -> str:
        return f"{Decimal(withdrawal.token_amount).scaleb(-6).normalize():f}"

    def get_batch(self, withdrawal: Withdrawal) -> int | None:
        return withdrawal.batch.number if withdrawal.batch else None


class WithdrawalInput(serializers.Serializer[Any]):
    risk_group = serializers.SlugField(max_length=60)
    amount = serializers.CharField(max_length=40)
    recipient = serializers.CharField(max_length=42)


class WithdrawalListApi(FundsApi):
    @extend_schema(responses=WithdrawalOutput(many=True), summary="Your withdrawals")
    def get(self, request: Request) -> Response:
        rows = withdrawals_of(account=acting_user(request).pk)
        return api_page(request, self, rows, WithdrawalOutput)

    @extend_schema(
        request=WithdrawalInput,
        responses={201: WithdrawalOutput},
        summary="Withdraw collateral to an address (the engine debits it; the next batch "
        "commits it; then claim it from the vault with its proof)",
    )
    def post(self, request: Request) -> Response:
        data = input_validated(request, WithdrawalInput)
        withdrawal = withdrawal_request(
            risk_group=_risk_group(data["risk_group"]),
            user=acting_user(request),
            amount=data["amount"],
            recipient=data["recipient"],
        )
        return Response(WithdrawalOutput(withdrawal).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------- pages


@login_required
def verify_balance(request: HttpRequest) -> HttpResponse:
    """The portfolio's "verify my balance": the proof, a download, and the one command that
    checks it against the chain independently."""
    groups = RiskGroup.objects.filter(engine_shard__isnull=False).order_by("name")
    slug = request.GET.get("risk_group") or (groups[0].slug if groups else "")
    document, problem = None, ""
    if slug:
        try:
            document = _proof(acting_user(request).pk, _risk_group(slug))
        except ApplicationError as exc:
            problem = exc.message
    if document is not None and request.GET.get("download"):
        response = JsonResponse(document, json_dumps_params={"indent": 2})
        response["Content-Disposition"] = f'attachment; filename="balance-proof-{slug}.json"'
        return response
    return render(
        request,
        "trading/verify_balance.html",
        {
            "groups": groups,
            "slug": slug,
            "document": json.dumps(document, indent=2) if document else "",
            "problem": problem,
        },
    )


@login_required
def funds(request: HttpRequest) -> HttpResponse:
    """Deposits (where to send them, each one's confirmations) and withdrawals (request one,
    each one's state, claim a committed one)."""
    user = acting_user(request)
    form = WithdrawalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            withdrawal_request(
                risk_group=form.cleaned_data["risk_group"],
                user=user,
                amount=form.cleaned_data["amount"],
                recipient=form.cleaned_data["recipient"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, "Withdrawal requested: the engine debits it now.")
            return redirect("funds")
    return render(
        request,
        "trading/funds.html",
        {
            "form": form,
            "deployment": deployment_active(),
            "confirmations": settings.CHAIN_CONFIRMATIONS,
            "groups": RiskGroup.objects.order_by("name"),
            "deposits": deposits_of(account=user.pk)[:50],
            "withdrawals": withdrawals_of(account=user.pk)[:50],
        },
    )


@login_required
@require_POST
def withdrawal_claim_view(request: HttpRequest, withdrawal_id: str) -> HttpResponse:
    """The portal claims a committed withdrawal from the vault for its owner (relayer)."""
    withdrawal = get_object_or_404(
        Withdrawal, withdrawal_id=withdrawal_id, account=acting_user(request).pk
    )
    try:
        tx = withdrawal_claim(withdrawal=withdrawal)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    except ChainTransactionFailed as exc:
        messages.error(request, f"The claim did not go through; try again later ({exc}).")
    else:
        messages.success(request, f"Paid to {withdrawal.recipient} in {tx.tx_hash}.")
    return redirect(reverse("funds"))


def settlement(request: HttpRequest, slug: str) -> HttpResponse:
    """A risk group's settlement batches on the chain."""
    group = get_object_or_404(RiskGroup, slug=slug)
    return render(
        request,
        "trading/settlement.html",
        {
            "group": group,
            "deployment": deployment_active(),
            "batches": batches_committed(risk_group=group)[:100],
        },
    )
