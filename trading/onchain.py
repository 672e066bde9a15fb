"""What traders see and call of the chain: their balance proof (API and "verify my balance"),
deposits and withdrawals (pages and API, the `withdraw` key scope to withdraw), and a risk
group's settlement batches. The chain work itself is engine.chain's."""

from __future__ import annotations

import dataclasses
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
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from engine.chain.deployment import deployment_active
from engine.chain.models import Withdrawal
from engine.chain.operator import ChainTransactionFailed
from engine.chain.selectors import (
    WithdrawalStep,
    balance_proof,
    batches_committed,
    chain_head,
    deposits_of,
    withdrawal_state,
    withdrawal_steps,
    withdrawals_of,
)
from engine.chain.withdrawals import withdrawal_claim, withdrawal_proof, withdrawal_request
from engine.errors import EngineError
from governance.risk_groups.models import RiskGroup
from xip_portal.api_input import input_validated
from xip_portal.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    form_add_application_error,
)
from xip_portal.pagination import api_page
from xip_portal.roles import acting_user

from .api_requests import IDEMPOTENCY_PARAMETER, DecimalText, TradingApiView
from .forms import WithdrawalForm


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


class FundsApi(TradingApiView):
    """Reads need an API key's "read" scope, withdrawing and claiming its "withdraw" scope
    (a session or the API token acts with the user's own rights)."""

    key_scope = "withdraw"


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


class WithdrawalStepOutput(serializers.Serializer[WithdrawalStep]):
    name = serializers.ChoiceField(choices=["requested", "debited", "committed", "paid"])
    state = serializers.ChoiceField(choices=["done", "waiting", "refused"])
    detail = serializers.CharField()
    tx_hash = serializers.CharField(help_text="The step's transaction (0x…), if it has one.")
    block = serializers.IntegerField(allow_null=True)
    confirmations = serializers.IntegerField(allow_null=True)


class WithdrawalOutput(serializers.ModelSerializer[Withdrawal]):
    risk_group = serializers.CharField(source="risk_group.slug", read_only=True)
    amount = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
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

    @extend_schema_field(serializers.ChoiceField(choices=Withdrawal.Status.choices))
    def get_status(self, withdrawal: Withdrawal) -> str:
        return withdrawal_state(withdrawal_steps(withdrawal, head=None))

    def get_batch(self, withdrawal: Withdrawal) -> int | None:
        return withdrawal.batch.number if withdrawal.batch else None


class WithdrawalDetailOutput(WithdrawalOutput):
    """A withdrawal with each step's state, transaction and confirmations (`context`'s
    `head` is the chain's latest block)."""

    steps = serializers.SerializerMethodField()

    class Meta(WithdrawalOutput.Meta):
        fields = [*WithdrawalOutput.Meta.fields, "steps"]

    @extend_schema_field(WithdrawalStepOutput(many=True))
    def get_steps(self, withdrawal: Withdrawal) -> list[dict[str, Any]]:
        steps = withdrawal_steps(withdrawal, head=self.context["head"])
        return [dataclasses.asdict(step) for step in steps]


class WithdrawalInput(serializers.Serializer[Any]):
    risk_group = serializers.SlugField(max_length=60)
    amount = DecimalText(max_length=40, help_text="Collateral, at most 6 decimals.")
    recipient = serializers.CharField(max_length=42)


def _withdrawal(request: Request, withdrawal_id: str) -> Withdrawal:
    withdrawal = (
        withdrawals_of(account=acting_user(request).pk).filter(withdrawal_id=withdrawal_id).first()
    )
    if withdrawal is None:
        raise NotFound("You have no such withdrawal.", field="withdrawal_id")
    return withdrawal


def _withdrawal_detail(withdrawal: Withdrawal, **kwargs: Any) -> Response:
    return Response(
        WithdrawalDetailOutput(withdrawal, context={"head": chain_head()}).data, **kwargs
    )


class WithdrawalListApi(FundsApi):
    @extend_schema(responses=WithdrawalOutput(many=True), summary="Your withdrawals")
    def get(self, request: Request) -> Response:
        rows = withdrawals_of(account=acting_user(request).pk)
        return api_page(request, self, rows, WithdrawalOutput)

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=WithdrawalInput,
        responses={201: WithdrawalDetailOutput},
        summary="Withdraw collateral to an address",
        description=(
            "Exactly once per Idempotency-Key. The engine debits it, the next settlement "
            "batch commits it; then claim it from the vault with its proof "
            "(`withdrawals/<id>/proof/`), or let the portal claim it (`withdrawals/<id>/claim/`)."
        ),
    )
    def post(self, request: Request) -> Response:
        def withdraw(_key: str) -> Response:
            data = input_validated(request, WithdrawalInput)
            withdrawal = withdrawal_request(
                risk_group=_risk_group(data["risk_group"]),
                user=acting_user(request),
                amount=data["amount"],
                recipient=data["recipient"],
            )
            return _withdrawal_detail(withdrawal, status=status.HTTP_201_CREATED)

        return self.idempotent(request, withdraw)


class WithdrawalDetailApi(FundsApi):
    @extend_schema(
        responses=WithdrawalDetailOutput,
        summary="One of your withdrawals, with each step's state and confirmations",
    )
    def get(self, request: Request, withdrawal_id: str) -> Response:
        return _withdrawal_detail(_withdrawal(request, withdrawal_id))


class WithdrawalProofApi(FundsApi):
    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        summary="A committed withdrawal's claim: CollateralVault.claim's arguments and proof",
        description=(
            "`vault_address`, `risk_group_id`, `batch`, `withdrawal_id`, `recipient`, `amount` "
            "(token units) and `proof` are `claim`'s arguments, from any wallet; `leaf.types` "
            "and `root` let you check the proof first. 409 `withdrawal_not_committed` until a "
            "committed batch holds it."
        ),
    )
    def get(self, request: Request, withdrawal_id: str) -> Response:
        return Response(withdrawal_proof(withdrawal=_withdrawal(request, withdrawal_id)))


class WithdrawalClaimApi(FundsApi):
    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=None,
        responses=WithdrawalDetailOutput,
        summary="Have the portal claim a committed withdrawal from the vault for you",
        description="The vault pays the withdrawal's recipient, once; 409 until it is committed.",
    )
    def post(self, request: Request, withdrawal_id: str) -> Response:
        withdrawal = _withdrawal(request, withdrawal_id)

        def claim(_key: str) -> Response:
            try:
                withdrawal_claim(withdrawal=withdrawal)
            except ChainTransactionFailed as exc:
                raise Conflict(
                    f"The vault did not pay it: {exc}", code=EngineError.CLAIM_FAILED
                ) from exc
            return _withdrawal_detail(_withdrawal(request, withdrawal_id))

        return self.idempotent(request, claim)


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
    # the portfolio loads the proof alone into its "verify my balance" (htmx)
    htmx = request.headers.get("HX-Request") == "true"
    return render(
        request,
        "trading/includes/balance_proof.html" if htmx else "trading/verify_balance.html",
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
    deployment = deployment_active()
    head = chain_head() if deployment else None
    withdrawals = []
    for withdrawal in withdrawals_of(account=user.pk)[:50]:
        steps = withdrawal_steps(withdrawal, head=head)
        withdrawals.append((withdrawal, steps, withdrawal_state(steps)))
    return render(
        request,
        "trading/funds.html",
        {
            "form": form,
            "deployment": deployment,
            "confirmations": settings.CHAIN_CONFIRMATIONS,
            "groups": RiskGroup.objects.order_by("name"),
            "deposits": deposits_of(account=user.pk)[:50],
            "withdrawals": withdrawals,
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
