"""The project's own trading API (/api/v1/): orders (place, batch, amend, cancel, cancel
all), open orders and order history, one order, and fills. Sizes are amounts of the base
(perpetuals too), prices per unit of the base (a prediction share: in the collateral,
below the payout), both decimal strings. The same order services serve /api/v5."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from engine import models as engine
from engine.core import OrderType, Outcome, Side, TimeInForce
from engine.selectors import fills_of, order_by_command, orders_of
from engine.services import CommandReceipt, command_receipt
from xip_portal.api_input import unknown_fields_refuse
from xip_portal.bounded_values import BoundedTimeSerializerField
from xip_portal.errors import ApplicationError, ErrorCode
from xip_portal.pagination import api_cursor_page, cursor_page_serializer
from xip_portal.roles import acting_user

from .api_requests import (
    IDEMPOTENCY_PARAMETER,
    DecimalText,
    TradingApiView,
    decimal_text,
    receipt_refusal,
)
from .errors import TradingError
from .instruments import Tradable, tradable_get, tradable_of, tradables_of
from .selectors import order_find
from .services import (
    MAX_BATCH,
    OrderRequest,
    order_amend,
    order_cancel,
    order_place,
    orders_cancel_all,
    orders_place,
)

MARKET_PARAMETER = OpenApiParameter(
    "market", description="Only this market (a categorical market's outcome: SYMBOL:outcome)."
)

# ---------------------------------------------------------------------------- outputs


class ErrorOutput(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField())
    )


class OrderOutput(serializers.Serializer[Any]):
    order_id = serializers.IntegerField()
    market = serializers.CharField()
    risk_group = serializers.CharField(help_text="The risk group's slug.")
    side = serializers.ChoiceField(choices=list(Side))
    outcome = serializers.CharField(help_text="yes or no (prediction markets), else empty.")
    order_type = serializers.ChoiceField(choices=list(OrderType))
    tif = serializers.ChoiceField(choices=list(TimeInForce))
    price = serializers.CharField(help_text="Decimal; 0 for a market order.")
    size = serializers.CharField(help_text="Decimal: filled + remaining when open.")
    filled = serializers.CharField()
    remaining = serializers.CharField()
    status = serializers.ChoiceField(choices=engine.Order.Status.choices)
    reason = serializers.CharField(help_text="Why it left the book or was rejected.")
    client_order_id = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReceiptOutput(serializers.Serializer[Any]):
    command_id = serializers.IntegerField(help_text="The journal entry of this request.")
    status = serializers.ChoiceField(
        choices=["applied", "pending"],
        help_text="pending: durable, not applied within 2 s; read the order later.",
    )
    order_id = serializers.IntegerField(allow_null=True)
    result = serializers.CharField(help_text="The engine's answer: accepted, filled, ...")
    reason = serializers.CharField()
    order = OrderOutput(allow_null=True)


class BatchItemOutput(serializers.Serializer[Any]):
    receipt = ReceiptOutput(allow_null=True)
    error = ErrorOutput(allow_null=True)


class BatchOutput(serializers.Serializer[Any]):
    results = BatchItemOutput(many=True, help_text="One per order, in the order sent.")


class CancelAllOutput(serializers.Serializer[Any]):
    results = ReceiptOutput(many=True, help_text="One per risk group with open orders.")


class FillOutput(serializers.Serializer[Any]):
    trade_id = serializers.CharField()
    order_id = serializers.IntegerField()
    market = serializers.CharField()
    risk_group = serializers.CharField()
    side = serializers.ChoiceField(choices=list(Side))
    liquidity = serializers.ChoiceField(choices=["maker", "taker"])
    price = serializers.CharField()
    size = serializers.CharField()
    fee = serializers.CharField(help_text="Paid (negative: a rebate), in the collateral.")


def _units(tradable: Tradable | None, units: Any, kind: str) -> str:
    if tradable is None:
        return str(units)
    return decimal_text(getattr(tradable, kind)(int(units)))


def order_rows(orders: Iterable[engine.Order]) -> list[dict[str, Any]]:
    """Orders (with `shard__risk_group` and `command` loaded) as OrderOutput reads them."""
    orders = list(orders)
    units = tradables_of(order.market_id for order in orders)
    rows = []
    for order in orders:
        tradable = units[order.market_id]
        size = int(order.filled) + int(order.remaining) if order.status == "open" else order.size
        rows.append(
            {
                "order_id": order.order_id,
                "market": order.market_id,
                "risk_group": order.shard.risk_group.slug,
                "side": order.side,
                "outcome": order.outcome,
                "order_type": order.order_type,
                "tif": order.tif,
                "price": _units(tradable, order.price, "price"),
                "size": _units(tradable, size, "size"),
                "filled": _units(tradable, order.filled, "size"),
                "remaining": _units(tradable, order.remaining, "size"),
                "status": order.status,
                "reason": order.reason,
                "client_order_id": order.client_order_id,
                "created_at": order.command.created_at,
            }
        )
    return rows


def _orders(queryset: Any) -> Any:
    return queryset.select_related("shard__risk_group", "command")


def receipt_row(receipt: CommandReceipt, order: engine.Order | None = None) -> dict[str, Any]:
    """A receipt with the order it placed, or the `order` it amended or cancelled, as the
    engine has it now."""
    row = None
    if receipt.status == "applied":
        placed = order_by_command(command_id=receipt.command_id) or order
        if placed is not None:
            row = order_rows([_orders(engine.Order.objects).get(pk=placed.pk)])[0]
    return {
        "command_id": receipt.command_id,
        "status": receipt.status,
        "order_id": receipt.order_id or (order.order_id if order is not None else None),
        "result": receipt.result,
        "reason": receipt.reason,
        "order": row,
    }


def _receipt_answer(receipt: CommandReceipt, *, order: engine.Order | None = None) -> Response:
    """Applied: 200 (201 for a new order) with the order; rejected by the engine: its
    reason as the error; not applied within the wait: 202 with the command id."""
    answer = ReceiptOutput(receipt_row(receipt, order)).data
    if receipt.status != "applied":
        return Response(answer, status=status.HTTP_202_ACCEPTED)
    if receipt.result == "rejected":
        raise receipt_refusal(receipt.reason)
    created = order is None
    return Response(answer, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _receipt_now(body: Any, *, user: Any = None, order_id: int = 0) -> Response:
    """The answer to a repeat of a write whose kept answer was 202 (`body`, a receipt):
    its command's outcome now, with the order it amended or cancelled (`order_id`)."""
    receipt = command_receipt(command_id=int(body["command_id"]))
    order = order_find(user=user, order_id=order_id) if order_id else None
    return _receipt_answer(receipt, order=order)


# ---------------------------------------------------------------------------- inputs


class OrderInput(serializers.Serializer[Any]):
    market = serializers.CharField(
        max_length=80, help_text="The market's symbol (a categorical outcome: SYMBOL:outcome)."
    )
    side = serializers.ChoiceField(choices=list(Side))
    size = DecimalText(help_text="An amount of the base (a perpetual's too), as a string.")
    price = DecimalText(required=False, help_text="Limit orders only, as a string.")
    order_type = serializers.ChoiceField(choices=list(OrderType), default=OrderType.LIMIT)
    tif = serializers.ChoiceField(choices=list(TimeInForce), default=TimeInForce.GTC)
    expires_at = BoundedTimeSerializerField(required=False, help_text="For tif gtd.")
    post_only = serializers.BooleanField(default=False)
    reduce_only = serializers.BooleanField(default=False, help_text="Perpetuals only.")
    outcome = serializers.ChoiceField(
        choices=[Outcome.YES, Outcome.NO],
        required=False,
        help_text="Prediction markets: the share bought or sold (default yes).",
    )
    client_order_id = serializers.RegexField(r"^[A-Za-z0-9_-]{1,32}$", required=False)


def _place_command(data: Any) -> tuple[Tradable, dict[str, Any]]:
    """An order (as sent, checked here) as the market's tradable and the engine's
    PlaceOrder in engine units."""
    if not isinstance(data, dict):
        raise ApplicationError("An order is a JSON object.", code=ErrorCode.BAD_REQUEST)
    serializer = OrderInput(data=data)
    unknown_fields_refuse(data, serializer)
    serializer.is_valid(raise_exception=True)
    fields = serializer.validated_data
    tradable = tradable_get(fields["market"])
    listed = tradable.listed
    command: dict[str, Any] = {
        "type": "PlaceOrder",
        "market": tradable.engine_market,
        "side": fields["side"],
        "size": listed.size(fields["size"]),
        "order_type": fields["order_type"],
        "tif": fields["tif"],
        "post_only": fields["post_only"],
        "reduce_only": fields["reduce_only"],
    }
    if fields["order_type"] == OrderType.LIMIT:
        if "price" not in fields:
            raise ApplicationError("A limit order needs a price.", field="price")
        command["price"] = listed.price(fields["price"])
    elif "price" in fields:
        raise ApplicationError("A market order has no price.", field="price")
    if "outcome" in fields:
        if tradable.kind != "prediction":
            raise ApplicationError("Only prediction markets have outcomes.", field="outcome")
        command["outcome"] = fields["outcome"]
    if "client_order_id" in fields:
        command["client_order_id"] = fields["client_order_id"]
    expires_at: datetime | None = fields.get("expires_at")
    if expires_at is not None:
        command["expiry_ts"] = int(expires_at.timestamp() * 1000)
    return tradable, command


class AmendInput(serializers.Serializer[Any]):
    price = DecimalText(required=False, help_text="The new price (loses time priority).")
    size = DecimalText(
        required=False, help_text="The new remaining size (smaller keeps time priority)."
    )


class CancelAllInput(serializers.Serializer[Any]):
    market = serializers.CharField(
        max_length=80, required=False, help_text="Only this market; every market if left out."
    )


class BatchInput(serializers.Serializer[Any]):
    orders = OrderInput(many=True, min_length=1, max_length=MAX_BATCH)  # type: ignore[call-arg]


# ---------------------------------------------------------------------------- views


class OrderListApi(TradingApiView):
    @extend_schema(
        operation_id="orders_place",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=OrderInput,
        responses={201: ReceiptOutput, 202: ReceiptOutput},
        examples=[
            OpenApiExample(
                "A limit buy",
                value={"market": "BTC-USDC", "side": "buy", "size": "0.5", "price": "100"},
                request_only=True,
            )
        ],
        summary="Place an order (members of the market's risk group)",
        description=(
            "Waits up to 2 s for the engine: 201 with the order once applied, 202 while "
            "pending. The engine's refusal (insufficient_balance, post_only_would_cross, "
            "...) is the error's code."
        ),
    )
    def post(self, request: Request) -> Response:
        user = acting_user(request)

        def place(key: str) -> Response:
            tradable, command = _place_command(request.data)
            receipt = order_place(
                user=user, tradable=tradable, command=command, idempotency_key=key
            )
            return _receipt_answer(receipt)

        return self.idempotent(request, place, refresh=_receipt_now)


class OrderBatchApi(TradingApiView):
    write_limit = (300, 2.0)  # orders

    def write_cost(self, request: Request) -> int:
        orders = request.data.get("orders") if isinstance(request.data, dict) else None
        return len(orders) if isinstance(orders, list) else 1

    @extend_schema(
        operation_id="orders_place_batch",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=BatchInput,
        responses=BatchOutput,
        examples=[
            OpenApiExample(
                "Two quotes",
                value={
                    "orders": [
                        {"market": "BTC-USDC", "side": "buy", "size": "0.1", "price": "99"},
                        {"market": "BTC-USDC", "side": "sell", "size": "0.1", "price": "101"},
                    ]
                },
                request_only=True,
            )
        ],
        summary=f"Place up to {MAX_BATCH} orders, with one result each",
    )
    def post(self, request: Request) -> Response:
        user = acting_user(request)
        data = request.data
        unknown_fields_refuse(data, BatchInput())
        orders = data.get("orders") if isinstance(data, dict) else None
        if not isinstance(orders, list) or not orders:
            raise ApplicationError('Send {"orders": [...]}, one order at least.', field="orders")
        if len(orders) > MAX_BATCH:
            raise ApplicationError(
                f"At most {MAX_BATCH} orders in one batch.",
                code=TradingError.TOO_MANY_ORDERS,
                field="orders",
            )

        def place(key: str) -> Response:
            parsed: list[OrderRequest | ApplicationError] = []
            for index, order in enumerate(orders):
                try:
                    tradable, command = _place_command(order)
                except ApplicationError as refusal:
                    parsed.append(refusal)
                    continue
                except serializers.ValidationError as invalid:
                    parsed.append(_invalid(invalid))
                    continue
                parsed.append(OrderRequest(tradable, command, f"{key}:{index}"))
            placed = iter(
                orders_place(user=user, orders=[p for p in parsed if isinstance(p, OrderRequest)])
            )
            results = []
            for item in parsed:
                outcome = next(placed) if isinstance(item, OrderRequest) else item
                results.append(_batch_result(outcome))
            return Response(BatchOutput({"results": results}).data)

        return self.idempotent(request, place)


def _invalid(invalid: serializers.ValidationError) -> ApplicationError:
    detail = invalid.detail if isinstance(invalid.detail, dict) else {}
    fields = {
        str(name): [str(m) for m in value] if isinstance(value, list) else [str(value)]
        for name, value in detail.items()
    }
    return ApplicationError(
        "The order has invalid fields: " + ", ".join(sorted(fields)) + ".",
        code=ErrorCode.INVALID,
        fields=fields,
    )


def _batch_result(outcome: CommandReceipt | ApplicationError) -> dict[str, Any]:
    if isinstance(outcome, ApplicationError):
        return {"receipt": None, "error": outcome.as_dict()}
    if outcome.status == "applied" and outcome.result == "rejected":
        return {"receipt": receipt_row(outcome), "error": receipt_refusal(outcome.reason).as_dict()}
    return {"receipt": receipt_row(outcome), "error": None}


class OpenOrdersApi(TradingApiView):
    @extend_schema(
        operation_id="orders_open",
        parameters=[MARKET_PARAMETER],
        responses=cursor_page_serializer(OrderOutput),
        summary="Your open orders, newest first (cursor pages)",
    )
    def get(self, request: Request) -> Response:
        orders = orders_of(
            shard=None,
            account=acting_user(request).pk,
            open_only=True,
            market_id=request.query_params.get("market", "")[:80],
        )
        return api_cursor_page(request, self, _orders(orders), OrderOutput, rows=order_rows)


class OrderHistoryApi(TradingApiView):
    @extend_schema(
        operation_id="orders_history",
        parameters=[MARKET_PARAMETER],
        responses=cursor_page_serializer(OrderOutput),
        summary="Your filled, cancelled and rejected orders, newest first (cursor pages)",
    )
    def get(self, request: Request) -> Response:
        orders = orders_of(
            shard=None,
            account=acting_user(request).pk,
            market_id=request.query_params.get("market", "")[:80],
        ).exclude(status=engine.Order.Status.OPEN)
        return api_cursor_page(request, self, _orders(orders), OrderOutput, rows=order_rows)


class OrderDetailApi(TradingApiView):
    @extend_schema(operation_id="order_get", responses=OrderOutput, summary="One of your orders")
    def get(self, request: Request, order_id: int) -> Response:
        order = order_find(user=acting_user(request), order_id=order_id)
        return Response(OrderOutput(order_rows([order])[0]).data)

    @extend_schema(
        operation_id="order_amend",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=AmendInput,
        responses={200: ReceiptOutput, 202: ReceiptOutput},
        summary="Amend an open order's price and/or remaining size",
    )
    def patch(self, request: Request, order_id: int) -> Response:
        user = acting_user(request)

        def amend(key: str) -> Response:
            serializer = AmendInput(data=request.data)
            unknown_fields_refuse(request.data, serializer)
            serializer.is_valid(raise_exception=True)
            fields = serializer.validated_data
            order = order_find(user=user, order_id=order_id)
            tradable = tradable_of(order.market_id)
            if tradable is None:
                raise ApplicationError("This order's market is gone.", http_status=409)
            receipt = order_amend(
                user=user,
                order=order,
                price=tradable.listed.price(fields["price"]) if "price" in fields else 0,
                size=tradable.listed.size(fields["size"]) if "size" in fields else 0,
                idempotency_key=key,
            )
            return _receipt_answer(receipt, order=order)

        return self.idempotent(
            request, amend, refresh=lambda body: _receipt_now(body, user=user, order_id=order_id)
        )

    @extend_schema(
        operation_id="order_cancel",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=None,
        responses={200: ReceiptOutput, 202: ReceiptOutput},
        summary="Cancel one of your orders",
    )
    def delete(self, request: Request, order_id: int) -> Response:
        user = acting_user(request)

        def cancel(key: str) -> Response:
            order = order_find(user=user, order_id=order_id)
            receipt = order_cancel(user=user, order=order, idempotency_key=key)
            return _receipt_answer(receipt, order=order)

        return self.idempotent(
            request, cancel, refresh=lambda body: _receipt_now(body, user=user, order_id=order_id)
        )


class CancelAllApi(TradingApiView):
    @extend_schema(
        operation_id="orders_cancel_all",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=CancelAllInput,
        responses=CancelAllOutput,
        summary="Cancel all your open orders, in one market or everywhere",
    )
    def post(self, request: Request) -> Response:
        user = acting_user(request)

        def cancel_all(key: str) -> Response:
            serializer = CancelAllInput(data=request.data)
            unknown_fields_refuse(request.data, serializer)
            serializer.is_valid(raise_exception=True)
            market = serializer.validated_data.get("market")
            tradable = tradable_get(market) if market else None
            receipts = orders_cancel_all(user=user, tradable=tradable, idempotency_key=key)
            answer = {"results": [receipt_row(r) for r in receipts]}
            return Response(CancelAllOutput(answer).data)

        return self.idempotent(request, cancel_all)


def fill_rows(user_id: int, fills: Iterable[engine.Fill]) -> list[dict[str, Any]]:
    """The user's fills (with `shard__risk_group` loaded) as FillOutput reads them."""
    fills = list(fills)
    units = tradables_of(fill.market_id for fill in fills)
    rows = []
    for fill in fills:
        tradable = units[fill.market_id]
        maker = fill.maker_account == user_id
        rows.append(
            {
                "trade_id": f"{fill.seq}-{fill.index}",
                "order_id": fill.maker_order_id if maker else fill.taker_order_id,
                "market": fill.market_id,
                "risk_group": fill.shard.risk_group.slug,
                "side": "buy" if fill.taker_buys != maker else "sell",
                "liquidity": "maker" if maker else "taker",
                "price": _units(tradable, fill.price, "price"),
                "size": _units(tradable, fill.size, "size"),
                "fee": _units(tradable, fill.maker_fee if maker else fill.taker_fee, "money"),
            }
        )
    return rows


class FillListApi(TradingApiView):
    @extend_schema(
        operation_id="fills",
        parameters=[MARKET_PARAMETER],
        responses=cursor_page_serializer(FillOutput),
        summary="Your fills, newest first (cursor pages)",
    )
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        fills = fills_of(
            shard=None, account=user.pk, market_id=request.query_params.get("market", "")[:80]
        ).select_related("shard__risk_group")
        return api_cursor_page(
            request, self, fills, FillOutput, rows=lambda page: fill_rows(user.pk, page)
        )
