"""The project's own trading API (/api/v1/): the trader's account in each risk group
(balances, perpetual positions, outcome holdings, statement), transfers between risk
groups, and the faucet of a group whose collateral is simulated. Amounts are decimal
strings of the asset."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from engine import models as engine
from engine.selectors import holdings_of, positions_of, shards_of, statement_of
from engine.services import shard_of
from governance.risk_groups.models import RiskGroup
from xip_portal.api_input import input_validated
from xip_portal.pagination import api_cursor_page, cursor_page_serializer
from xip_portal.roles import acting_user

from .api_requests import (
    IDEMPOTENCY_PARAMETER,
    DecimalText,
    TradingApiView,
    decimal_text,
    receipt_refusal,
)
from .instruments import tradable_of
from .selectors import account_balances, asset_units
from .services import collateral_transfer, faucet_take, receipts_wait, transfer_wait


class _AssetUnits:
    """Engine amounts as decimal strings of their asset, each shard's units read once."""

    def __init__(self) -> None:
        self.units: dict[int, Callable[[str], Decimal]] = {}

    def text(self, shard: engine.Shard, asset: str, units: Any) -> str:
        unit = self.units.get(shard.pk)
        if unit is None:
            unit = self.units[shard.pk] = asset_units(shard)
        return decimal_text(Decimal(int(units)) * unit(asset))


def _group(slug: Any) -> RiskGroup:
    return get_object_or_404(RiskGroup, slug=str(slug or "")[:100])


# ---------------------------------------------------------------------------- balances


class BalanceOutput(serializers.Serializer[Any]):
    risk_group = serializers.CharField(help_text="The risk group's slug.")
    asset = serializers.CharField()
    free = serializers.CharField(help_text="Decimal: available to trade or move.")
    reserved = serializers.CharField(help_text="Decimal: held for open orders and bonds.")


class BalanceListApi(TradingApiView):
    @extend_schema(
        operation_id="balances",
        responses=BalanceOutput(many=True),
        summary="Your free and reserved balances, per asset per risk group",
    )
    def get(self, request: Request) -> Response:
        balances = account_balances(user=acting_user(request))
        slugs = dict(RiskGroup.objects.values_list("pk", "slug"))
        rows = [
            {
                "risk_group": slugs[balance.risk_group_id],
                "asset": balance.asset,
                "free": decimal_text(balance.free),
                "reserved": decimal_text(balance.locked),
            }
            for balance in balances
        ]
        return Response(BalanceOutput(rows, many=True).data)


# ---------------------------------------------------------------------------- positions


class PositionOutput(serializers.Serializer[Any]):
    risk_group = serializers.CharField()
    market = serializers.CharField()
    size = serializers.CharField(help_text="Decimal amount of the base; negative: short.")
    entry_price = serializers.CharField()
    mark_price = serializers.CharField()
    unrealised_pnl = serializers.CharField()
    realised_pnl = serializers.CharField()
    funding = serializers.CharField(help_text="Funding paid (negative) or received so far.")
    initial_margin = serializers.CharField()
    maintenance_margin = serializers.CharField()
    liquidation_price = serializers.CharField(
        allow_null=True, help_text="None: no price would liquidate the account."
    )


class PositionListApi(TradingApiView):
    @extend_schema(
        operation_id="positions",
        responses=PositionOutput(many=True),
        summary="Your open perpetual positions at the mark (cross margin per risk group)",
    )
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        rows = []
        for shard in shards_of(account=user.pk):
            for position in positions_of(shard=shard, account=user.pk):
                tradable = tradable_of(position.market_id)
                if tradable is None:
                    continue
                price, money = tradable.price, tradable.money
                liquidation = position.liquidation_price
                rows.append(
                    {
                        "risk_group": shard.risk_group.slug,
                        "market": position.market_id,
                        "size": decimal_text(tradable.size(position.size)),
                        "entry_price": decimal_text(price(position.entry_price)),
                        "mark_price": decimal_text(price(position.mark)),
                        "unrealised_pnl": decimal_text(money(position.unrealised_pnl)),
                        "realised_pnl": decimal_text(money(position.realised_pnl)),
                        "funding": decimal_text(money(position.funding)),
                        "initial_margin": decimal_text(money(position.initial_margin)),
                        "maintenance_margin": decimal_text(money(position.maintenance_margin)),
                        "liquidation_price": (
                            decimal_text(price(liquidation)) if liquidation is not None else None
                        ),
                    }
                )
        return Response(PositionOutput(rows, many=True).data)


# ---------------------------------------------------------------------------- holdings


class HoldingOutput(serializers.Serializer[Any]):
    risk_group = serializers.CharField()
    market = serializers.CharField()
    yes = serializers.CharField(help_text="YES shares free to sell.")
    no = serializers.CharField(help_text="NO shares free to sell.")
    yes_reserved = serializers.CharField(help_text="YES shares held for open sell orders.")
    no_reserved = serializers.CharField()


class HoldingListApi(TradingApiView):
    @extend_schema(
        operation_id="holdings",
        responses=HoldingOutput(many=True),
        summary="Your outcome shares in prediction markets",
    )
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        rows = []
        for shard in shards_of(account=user.pk):
            for holding in holdings_of(shard=shard, account=user.pk):
                tradable = tradable_of(holding.market_id)
                if tradable is None:
                    continue
                rows.append(
                    {
                        "risk_group": shard.risk_group.slug,
                        "market": holding.market_id,
                        "yes": decimal_text(tradable.size(int(holding.yes))),
                        "no": decimal_text(tradable.size(int(holding.no))),
                        "yes_reserved": decimal_text(tradable.size(int(holding.yes_locked))),
                        "no_reserved": decimal_text(tradable.size(int(holding.no_locked))),
                    }
                )
        return Response(HoldingOutput(rows, many=True).data)


# ---------------------------------------------------------------------------- statement


class StatementOutput(serializers.Serializer[Any]):
    risk_group = serializers.CharField()
    seq = serializers.IntegerField(help_text="The journal sequence number of the move.")
    kind = serializers.CharField(
        help_text="deposit, withdrawal, transfer_in/out, fee, funding, payout, bond, ..."
    )
    asset = serializers.CharField()
    amount = serializers.CharField(help_text="Decimal; negative: out of the account.")
    market = serializers.CharField()
    reference = serializers.CharField()


class StatementApi(TradingApiView):
    @extend_schema(
        operation_id="statement",
        responses=cursor_page_serializer(StatementOutput),
        summary="Your account statement: every money move but a trade's principal, newest first",
    )
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        entries = statement_of(shard=None, account=user.pk).select_related("shard__risk_group")
        units = _AssetUnits()

        def rows(page: list[engine.StatementEntry]) -> list[dict[str, Any]]:
            return [
                {
                    "risk_group": entry.shard.risk_group.slug,
                    "seq": entry.seq,
                    "kind": entry.kind,
                    "asset": entry.asset,
                    "amount": units.text(entry.shard, entry.asset, entry.amount),
                    "market": entry.market_id,
                    "reference": entry.reference,
                }
                for entry in page
            ]

        return api_cursor_page(request, self, entries, StatementOutput, rows=rows)


# ---------------------------------------------------------------------------- transfers


class TransferInput(serializers.Serializer[Any]):
    from_group = serializers.SlugField(max_length=100, help_text="Risk group slug.")
    to_group = serializers.SlugField(max_length=100, help_text="With the same collateral.")
    amount = DecimalText(help_text="Of the collateral, as a string.")


class TransferOutput(serializers.Serializer[Any]):
    transfer_id = serializers.CharField()
    from_group = serializers.CharField()
    to_group = serializers.CharField()
    asset = serializers.CharField()
    amount = serializers.CharField()
    status = serializers.ChoiceField(choices=engine.Transfer.Status.choices)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


def _transfer_rows(transfers: list[engine.Transfer]) -> list[dict[str, Any]]:
    units = _AssetUnits()
    return [
        {
            "transfer_id": transfer.transfer_id,
            "from_group": transfer.from_shard.risk_group.slug,
            "to_group": transfer.to_shard.risk_group.slug,
            "asset": transfer.asset,
            "amount": units.text(transfer.from_shard, transfer.asset, transfer.amount),
            "status": transfer.status,
            "reason": transfer.reason,
            "created_at": transfer.created_at,
        }
        for transfer in transfers
    ]


def _transfers() -> Any:
    return engine.Transfer.objects.select_related("from_shard__risk_group", "to_shard__risk_group")


class TransferListApi(TradingApiView):
    @extend_schema(
        operation_id="transfers",
        responses=cursor_page_serializer(TransferOutput),
        summary="Your transfers between risk groups, newest first",
    )
    def get(self, request: Request) -> Response:
        transfers = _transfers().filter(account=acting_user(request).pk)
        return api_cursor_page(request, self, transfers, TransferOutput, rows=_transfer_rows)

    @extend_schema(
        operation_id="transfer_make",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=TransferInput,
        responses={201: TransferOutput, 202: TransferOutput},
        summary="Move collateral from your account in one risk group to another (a member of both)",
        description=(
            "Exactly once per Idempotency-Key. 201 once credited; 202 while the engines "
            "apply it (read it in the list); the engine's refusal (insufficient_balance) "
            "is the error's code."
        ),
    )
    def post(self, request: Request) -> Response:
        user = acting_user(request)

        def transfer(key: str) -> Response:
            fields = input_validated(request, TransferInput)
            made = collateral_transfer(
                user=user,
                from_group=_group(fields["from_group"]),
                to_group=_group(fields["to_group"]),
                amount=Decimal(fields["amount"]),
                transfer_id=key,
            )
            made = _transfers().get(pk=transfer_wait(transfer=made).pk)
            if made.status == engine.Transfer.Status.FAILED:
                raise receipt_refusal(made.reason)
            done = made.status == engine.Transfer.Status.DONE
            return Response(
                TransferOutput(_transfer_rows([made])[0]).data,
                status=status.HTTP_201_CREATED if done else status.HTTP_202_ACCEPTED,
            )

        return self.idempotent(request, transfer)


# ---------------------------------------------------------------------------- faucet


class FaucetInput(serializers.Serializer[Any]):
    risk_group = serializers.SlugField(max_length=100)


class FaucetOutput(serializers.Serializer[Any]):
    risk_group = serializers.CharField()
    asset = serializers.CharField()
    amount = serializers.CharField(help_text="Decimal: the group's daily grant.")
    command_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["applied", "pending"])


class FaucetApi(TradingApiView):
    write_limit = (5, 60.0)

    @extend_schema(
        operation_id="faucet_take",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=FaucetInput,
        responses={201: FaucetOutput, 202: FaucetOutput},
        summary="Take today's simulated collateral of a risk group you are a member of",
        description=(
            "Only where the group's collateral is simulated (collateral_not_simulated), once "
            "per account per UTC day (faucet_daily_limit)."
        ),
    )
    def post(self, request: Request) -> Response:
        user = acting_user(request)

        def take(key: str) -> Response:
            fields = input_validated(request, FaucetInput)
            group = _group(fields["risk_group"])
            receipt = receipts_wait([faucet_take(user=user, risk_group=group)])[0]
            if receipt.status == "applied" and receipt.result == "rejected":
                raise receipt_refusal(receipt.reason)
            answer = {
                "risk_group": group.slug,
                "asset": shard_of(risk_group=group).collateral,
                "amount": decimal_text(group.faucet_daily_amount),
                "command_id": receipt.command_id,
                "status": receipt.status,
            }
            applied = receipt.status == "applied"
            return Response(
                FaucetOutput(answer).data,
                status=status.HTTP_201_CREATED if applied else status.HTTP_202_ACCEPTED,
            )

        return self.idempotent(request, take)
