"""OKX v5 trade endpoints (signed): place, batch, cancel, amend, and read orders and fills.

Each request is translated once into the engine service's own command (the fields in
ORDER_TYPES and `_place_command`), submitted through the trading room's order services
(trading.services, shared with /api/v1), and the outcome and reason code translated back
(trading.okx.codes). Write endpoints need the key's "trade" scope and the user's
membership of the market's risk group."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from rest_framework.request import Request
from rest_framework.response import Response

from engine import models as engine
from engine.selectors import fill_time
from engine.services import CommandReceipt, shard_of
from xip_portal.errors import ApplicationError, ErrorCode
from xip_portal.models import User

from ..errors import TradingError
from ..instruments import tradables
from ..selectors import order_find
from ..services import (
    MAX_BATCH,
    OrderRequest,
    order_amend,
    order_cancel,
    order_place,
    orders_place,
)
from .codes import NOT_APPLIED_YET, OPERATION_FAILED, PARAMETER_ERROR, PARTIAL, okx_code
from .envelope import OkxView, okx_ok
from .instruments import Instrument, instrument_get, instrument_of_engine, instruments_by_id
from .openapi import (
    AMEND_RESULT_ROW,
    BATCH_ORDERS_EXAMPLES,
    CL_ORD_ID,
    FILL_ROW,
    INST_ID,
    INST_ID_REQUIRED,
    INST_TYPE,
    LIMIT,
    ORD_ID,
    ORDER_RESULT_ROW,
    ORDER_ROW,
    PLACE_ORDER_EXAMPLES,
    AmendOrderInput,
    OrderRefInput,
    PlaceOrderInput,
    batch,
    okx_schema,
)

CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
# OKX ordType -> the engine's (order_type, tif, post_only)
ORDER_TYPES: dict[str, tuple[str, str, bool]] = {
    "limit": ("limit", "gtc", False),
    "post_only": ("limit", "gtc", True),
    "ioc": ("limit", "ioc", False),
    "fok": ("limit", "fok", False),
    "market": ("market", "ioc", False),
}
ORDER_TYPE_NAMES = {value: name for name, value in ORDER_TYPES.items()}
# the engine's order status -> OKX's state
STATES = {"open": "live", "filled": "filled", "cancelled": "canceled", "rejected": "canceled"}


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if type(value) is str:  # the common case, first: this runs for every field of every order
        return value
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ApplicationError(f"Parameter {name} error.", field=name)
    return str(value)


def _client_order_id(data: dict[str, Any]) -> str:
    value = _text(data, "clOrdId")
    if value and not CLIENT_ORDER_ID.match(value):
        raise ApplicationError(
            "clOrdId is 1 to 32 letters and digits.",
            code=TradingError.BAD_CLIENT_ORDER_ID,
            field="clOrdId",
        )
    return value


def place_command(instrument: Instrument, data: dict[str, Any]) -> dict[str, Any]:
    """An OKX order as the engine's PlaceOrder."""
    side = _text(data, "side")
    if side not in ("buy", "sell"):
        raise ApplicationError("Parameter side error.", field="side")
    ord_type = _text(data, "ordType")
    if ord_type not in ORDER_TYPES:
        raise ApplicationError("Parameter ordType error.", field="ordType")
    order_type, tif, post_only = ORDER_TYPES[ord_type]
    command: dict[str, Any] = {
        "type": "PlaceOrder",
        "market": instrument.tradable.engine_market,
        "side": side,
        "size": instrument.size_in(_text(data, "sz") or "0"),
        "order_type": order_type,
        "tif": tif,
        "post_only": post_only,
    }
    if order_type != "market":
        command["price"] = instrument.price_in(_text(data, "px") or "0")
    client_order_id = _client_order_id(data)
    if client_order_id:
        command["client_order_id"] = client_order_id
    if str(data.get("reduceOnly", "")).lower() == "true":
        command["reduce_only"] = True
    outcome = _text(data, "outcome").lower()
    if outcome:
        if instrument.tradable.kind != "prediction" or outcome not in ("yes", "no"):
            raise ApplicationError("Parameter outcome error.", field="outcome")
        command["outcome"] = outcome
    return command


def _item(
    data: dict[str, Any], *, ord_id: Any = "", s_code: str = "0", msg: str = ""
) -> dict[str, Any]:
    return {
        "clOrdId": _text(data, "clOrdId") if isinstance(data, dict) else "",
        "ordId": str(ord_id or ""),
        "tag": str(data.get("tag", "")) if isinstance(data, dict) else "",
        "ts": str(time.time_ns() // 1_000_000),
        "sCode": s_code,
        "sMsg": msg,
    }


def _refused_item(data: dict[str, Any], refusal: ApplicationError) -> dict[str, Any]:
    return _item(
        data, s_code=okx_code(refusal.code).code, msg=f"{refusal.message} ({refusal.code})"
    )


def receipt_item(
    data: dict[str, Any], receipt: CommandReceipt, *, done: str, order_id: Any = None
) -> dict[str, Any]:
    if receipt.status != "applied":
        if receipt.order_id:
            # journaled: accepted for processing, as OKX's sCode 0 means; an order the
            # engine then refuses shows as canceled with its reason in cancelSource
            return _item(data, ord_id=receipt.order_id, msg="Order accepted")
        return _item(
            data,
            ord_id=order_id,
            s_code=NOT_APPLIED_YET,
            msg="Not applied yet; query the order by ordId.",
        )
    if receipt.result == "rejected":
        reason = receipt.reason
        return _item(
            data,
            ord_id=order_id or receipt.order_id,
            s_code=okx_code(reason).code,
            msg=f"{reason}",
        )
    return _item(data, ord_id=order_id or receipt.order_id, msg=done)


def answer_body(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The envelope of a write's items: code 0 when every item succeeded, 1 when all
    failed, 2 when some did (OKX's batch codes)."""
    failed = sum(1 for item in items if item["sCode"] != "0")
    if not failed:
        return {"code": "0", "msg": "", "data": items}
    code = OPERATION_FAILED if failed == len(items) else PARTIAL
    msg = (
        "All operations failed"
        if code == OPERATION_FAILED
        else "Bulk operation partially succeeded"
    )
    return {"code": code, "msg": msg, "data": items}


def _answer(items: list[dict[str, Any]]) -> Response:
    return Response(answer_body(items))


class PlaceOrderView(OkxView):
    private = True
    key_scope = "trade"
    places_orders = True
    rate_limit = (60, 2.0)

    @okx_schema(
        "PlaceOrder",
        tag="trade",
        summary="Place an order",
        request=PlaceOrderInput,
        private=True,
        data=ORDER_RESULT_ROW,
        examples=PLACE_ORDER_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        return _answer([self.place(request, data)])

    def place(self, request: Request, data: dict[str, Any]) -> dict[str, Any]:
        user = self.trader(request)
        try:
            instrument = instrument_get(data.get("instId"))
            receipt = order_place(
                user=user,
                tradable=instrument.tradable,
                command=place_command(instrument, data),
                wait_unless_covered=True,
            )
        except ApplicationError as refusal:
            return _refused_item(data, refusal)
        return receipt_item(data, receipt, done="Order placed")

    @okx_schema(
        "Order",
        tag="trade",
        summary="One order by ordId or clOrdId",
        parameters=[INST_ID_REQUIRED, ORD_ID, CL_ORD_ID],
        private=True,
        not_found=True,
        data=ORDER_ROW,
    )
    def get(self, request: Request) -> Response:
        """trade/order GET: one order by ordId or clOrdId."""
        user = self.trader(request)
        params = request.query_params
        instrument = instrument_get(params.get("instId"))
        order = _order_find(user, instrument, params.get("ordId"), params.get("clOrdId"))
        return okx_ok(order_rows([order]))


def _order_find(
    user: User, instrument: Instrument, ord_id: Any, client_order_id: Any
) -> engine.Order:
    return order_find(
        user=user, tradable=instrument.tradable, order_id=ord_id, client_order_id=client_order_id
    )


def orders_per_instrument(orders: list[Any]) -> dict[str, int]:
    """How many of the orders name each instrument: a batch's count against OKX's order
    limits per instrument (an item that is not an order counts nowhere)."""
    counts: dict[str, int] = defaultdict(int)
    for data in orders:
        if isinstance(data, dict):
            counts[str(data.get("instId", ""))] += 1
    return counts


def _orders_limit_take(view: OkxView, request: Request, orders: list[Any]) -> None:
    """A batch's count against OKX's limits: one per order, per instrument (what the
    order fast path takes for it too)."""
    for inst_id, count in orders_per_instrument(orders).items():
        view.limit_take(request, cost=count, instrument=inst_id)


class BatchOrdersView(OkxView):
    private = True
    key_scope = "trade"
    places_orders = True
    rate_limit = (300, 2.0)  # orders, per instrument

    def instrument_of(self, request: Request) -> None:
        return None  # counted by its orders in post()

    @okx_schema(
        "BatchOrders",
        tag="trade",
        summary="Place up to 20 orders",
        request=batch(PlaceOrderInput),
        private=True,
        data=ORDER_RESULT_ROW,
        examples=BATCH_ORDERS_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        user = self.trader(request)
        orders = request.data
        if not isinstance(orders, list) or not orders:
            raise ApplicationError("The body is a list of orders.", code=ErrorCode.BAD_REQUEST)
        if len(orders) > MAX_BATCH:
            raise ApplicationError(
                f"At most {MAX_BATCH} orders in one batch.", code=TradingError.TOO_MANY_ORDERS
            )
        _orders_limit_take(self, request, orders)
        items: list[dict[str, Any] | None] = []
        requests: list[OrderRequest] = []
        listed = instruments_by_id()
        for data in orders:
            if not isinstance(data, dict):
                items.append(_item({}, s_code=PARAMETER_ERROR.code, msg="An order is an object."))
                continue
            try:
                instrument = instrument_get(data.get("instId"), listed)
                command = place_command(instrument, data)
            except ApplicationError as refusal:
                items.append(_refused_item(data, refusal))
                continue
            items.append(None)
            requests.append(OrderRequest(instrument.tradable, command))
        outcomes = iter(orders_place(user=user, orders=requests, wait_unless_covered=True))
        answer = []
        for data, item in zip(orders, items, strict=True):
            if item is not None:
                answer.append(item)
                continue
            outcome = next(outcomes)
            if isinstance(outcome, ApplicationError):
                answer.append(_refused_item(data, outcome))
            else:
                answer.append(receipt_item(data, outcome, done="Order placed"))
        return _answer(answer)


def _cancel_one(user: User, data: dict[str, Any]) -> dict[str, Any]:
    try:
        instrument = instrument_get(data.get("instId"))
        order = _order_find(user, instrument, data.get("ordId"), data.get("clOrdId"))
        receipt = order_cancel(user=user, order=order)
    except ApplicationError as refusal:
        return _refused_item(data, refusal)
    return receipt_item(data, receipt, done="Order cancelled", order_id=order.order_id)


class CancelOrderView(OkxView):
    private = True
    key_scope = "trade"
    rate_limit = (60, 2.0)

    @okx_schema(
        "CancelOrder",
        tag="trade",
        summary="Cancel an order",
        request=OrderRefInput,
        private=True,
        data=ORDER_RESULT_ROW,
    )
    def post(self, request: Request) -> Response:
        user = self.trader(request)
        data = request.data if isinstance(request.data, dict) else {}
        return _answer([_cancel_one(user, data)])


class CancelBatchOrdersView(OkxView):
    private = True
    key_scope = "trade"
    rate_limit = (300, 2.0)  # orders, per instrument

    def instrument_of(self, request: Request) -> None:
        return None  # counted by its orders in post()

    @okx_schema(
        "CancelBatchOrders",
        tag="trade",
        summary="Cancel up to 20 orders",
        request=batch(OrderRefInput),
        private=True,
        data=ORDER_RESULT_ROW,
    )
    def post(self, request: Request) -> Response:
        user = self.trader(request)
        orders = request.data
        if not isinstance(orders, list) or not orders:
            raise ApplicationError("The body is a list of orders.", code=ErrorCode.BAD_REQUEST)
        if len(orders) > MAX_BATCH:
            raise ApplicationError(
                f"At most {MAX_BATCH} orders in one batch.", code=TradingError.TOO_MANY_ORDERS
            )
        _orders_limit_take(self, request, orders)
        return _answer(
            [_cancel_one(user, data if isinstance(data, dict) else {}) for data in orders]
        )


class AmendOrderView(OkxView):
    private = True
    key_scope = "trade"
    rate_limit = (60, 2.0)

    @okx_schema(
        "AmendOrder",
        tag="trade",
        summary="Amend an order's size or price",
        request=AmendOrderInput,
        private=True,
        data=AMEND_RESULT_ROW,
    )
    def post(self, request: Request) -> Response:
        user = self.trader(request)
        data = request.data if isinstance(request.data, dict) else {}
        try:
            instrument = instrument_get(data.get("instId"))
            order = _order_find(user, instrument, data.get("ordId"), data.get("clOrdId"))
            new_size, new_price = _text(data, "newSz"), _text(data, "newPx")
            receipt = order_amend(
                user=user,
                order=order,
                size=instrument.size_in(new_size, "newSz") if new_size else 0,
                price=instrument.price_in(new_price, "newPx") if new_price else 0,
            )
        except ApplicationError as refusal:
            return _answer([{**_refused_item(data, refusal), "reqId": _text(data, "reqId")}])
        item = receipt_item(data, receipt, done="Order amended", order_id=order.order_id)
        return _answer([{**item, "reqId": _text(data, "reqId")}])


# ---------------------------------------------------------------------------- reads


def _user_orders(user: User, request: Request) -> Any:
    """The user's orders in every risk group, narrowed by instType / instId."""
    listed = list(tradables().values())
    inst_id = request.query_params.get("instId")
    if inst_id:
        instrument = instrument_get(inst_id)
        listed = [instrument.tradable]
    inst_type = request.query_params.get("instType")
    markets = Q()
    for tradable in listed:
        instrument_ = instrument_of_engine(tradable.engine_market)
        if instrument_ is None or (inst_type and instrument_.inst_type != inst_type):
            continue
        markets |= Q(
            shard=shard_of(risk_group=tradable.risk_group_id), market_id=tradable.engine_market
        )
    if not markets:
        return engine.Order.objects.none()
    return engine.Order.objects.filter(markets, account=user.pk)


def _limit(request: Request) -> int:
    text = str(request.query_params.get("limit", "100"))
    return max(1, min(int(text), 100)) if text.isdigit() else 100


def order_rows(orders: Iterable[engine.Order]) -> list[dict[str, Any]]:
    orders = list(orders)
    fills: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    if orders:
        ids = Q()
        for order in orders:
            ids |= Q(shard_id=order.shard_id, maker_order_id=order.order_id) | Q(
                shard_id=order.shard_id, taker_order_id=order.order_id
            )
        for fill in engine.Fill.objects.filter(ids):
            for order_id, fee in (
                (fill.maker_order_id, fill.maker_fee),
                (fill.taker_order_id, fill.taker_fee),
            ):
                key = (fill.shard_id, int(order_id))
                fills[key][0] += int(fill.size)
                fills[key][1] += int(fill.size) * int(fill.price)
                fills[key][2] += int(fee)
    rows = []
    for order in orders:
        instrument = instrument_of_engine(order.market_id)
        if instrument is None:
            continue
        size_done, notional, fee = fills[(order.shard_id, order.order_id)]
        # a partly filled open order is "partially_filled"
        state = STATES[order.status]
        if state == "live" and size_done:
            state = "partially_filled"
        created = int(order.command.created_at.timestamp() * 1000)
        quote = instrument.quote
        rows.append(
            {
                "instType": instrument.inst_type,
                "instId": instrument.inst_id,
                "ordId": str(order.order_id),
                "clOrdId": order.client_order_id,
                "tag": "",
                "px": instrument.price_out(int(order.price)),
                # an amended order's size is what it has filled and has left
                "sz": instrument.size_out(
                    int(order.filled) + int(order.remaining)
                    if order.status == "open"
                    else int(order.size)
                ),
                "ordType": ORDER_TYPE_NAMES.get((order.order_type, order.tif, False), "limit"),
                "side": order.side,
                "posSide": "net",
                "tdMode": "cross" if instrument.is_swap else "cash",
                "accFillSz": instrument.size_out(size_done),
                "avgPx": instrument.price_out(notional // size_done) if size_done else "",
                "fillPx": "",
                "fillSz": "",
                "state": state,
                "fee": f"{-instrument.tradable.money(fee):f}",
                "feeCcy": quote,
                "rebate": "0",
                "rebateCcy": quote,
                "reduceOnly": "false",
                "cancelSource": order.reason,
                "outcome": order.outcome,
                "cTime": str(created),
                "uTime": str(created),
            }
        )
    return rows


class OrdersView(OkxView):
    """trade/orders-pending (`pending=True`) and trade/orders-history: newest first."""

    private = True
    pending = True

    @okx_schema(
        "Orders",
        tag="trade",
        summary="Your open orders (orders-pending) or finished ones (orders-history)",
        parameters=[INST_TYPE, INST_ID, LIMIT],
        private=True,
        data=ORDER_ROW,
    )
    def get(self, request: Request) -> Response:
        user = self.trader(request)
        orders = _user_orders(user, request).select_related("command")
        if self.pending:
            orders = orders.filter(status="open")
        else:
            orders = orders.exclude(status="open")
        return okx_ok(order_rows(orders.order_by("-order_id")[: _limit(request)]))


class FillsView(OkxView):
    """trade/fills and trade/fills-history: the user's fills, newest first."""

    private = True
    rate_limit = (60, 2.0)

    @okx_schema(
        "Fills",
        tag="trade",
        summary="Your fills, newest first",
        parameters=[INST_TYPE, INST_ID, LIMIT],
        private=True,
        data=FILL_ROW,
    )
    def get(self, request: Request) -> Response:
        user = self.trader(request)
        orders = _user_orders(user, request)
        markets = Q()
        for shard_id, market_id in orders.values_list("shard_id", "market_id").distinct():
            markets |= Q(shard_id=shard_id, market_id=market_id)
        if not markets:
            return okx_ok([])
        mine = Q(maker_account=user.pk) | Q(taker_account=user.pk)
        fills = (
            engine.Fill.objects.filter(markets)
            .filter(mine)
            .annotate(ts=fill_time())
            .order_by("-seq", "-index")[: _limit(request)]
        )
        client_ids = dict(
            engine.Order.objects.filter(
                account=user.pk,
                order_id__in=[f.maker_order_id for f in fills] + [f.taker_order_id for f in fills],
            ).values_list("order_id", "client_order_id")
        )
        rows = []
        for fill in fills:
            instrument = instrument_of_engine(fill.market_id)
            if instrument is None:
                continue
            maker = fill.maker_account == user.pk
            order_id = fill.maker_order_id if maker else fill.taker_order_id
            buys = fill.taker_buys != maker
            fee = fill.maker_fee if maker else fill.taker_fee
            rows.append(
                {
                    "instType": instrument.inst_type,
                    "instId": instrument.inst_id,
                    "tradeId": f"{fill.seq}-{fill.index}",
                    "ordId": str(order_id),
                    "clOrdId": client_ids.get(order_id, ""),
                    "billId": f"{fill.seq}-{fill.index}-{'m' if maker else 't'}",
                    "tag": "",
                    "fillPx": instrument.price_out(int(fill.price)),
                    "fillSz": instrument.size_out(int(fill.size)),
                    "side": "buy" if buys else "sell",
                    "posSide": "net",
                    "execType": "M" if maker else "T",
                    "feeCcy": instrument.quote,
                    "fee": f"{-instrument.tradable.money(int(fee)):f}",
                    "ts": str(fill.ts),
                    "fillTime": str(fill.ts),
                }
            )
        return okx_ok(rows)
