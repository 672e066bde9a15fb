"""The OpenAPI description of /api/v5/ (served with /api/v1's at /api/schema/): each
operation's query parameters or JSON body, its answer in OKX's envelope
`{"code", "msg", "data": [...]}` (a refusal carries its OKX code and an empty `data`), and
the four OK-ACCESS-* headers of a signed request as one security requirement."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers

from ..market_data import BARS_MS
from ..services import MAX_BATCH
from .authentication import HEADERS, OkxSignatureAuthentication

View = TypeVar("View", bound=Callable[..., Any])
INST_TYPES = ("SPOT", "SWAP", "MARGIN", "FUTURES", "OPTION")
TAGS = {"public": "OKX v5 market data", "trade": "OKX v5 trade", "account": "OKX v5 account"}


class OkxSignatureScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """OK-ACCESS-KEY, -PASSPHRASE, -TIMESTAMP and -SIGN, sent together."""

    target_class: Any = OkxSignatureAuthentication
    name: Any = ["okxAccessKey", "okxAccessPassphrase", "okxAccessTimestamp", "okxAccessSign"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        descriptions = (
            "The API key.",
            "The passphrase given when the key was made.",
            "ISO-8601 UTC time with milliseconds, within 30 s of the server's clock.",
            "Base64 of HMAC-SHA256 under the key's secret over timestamp + method + request "
            "path with its query string + body. Reads need the key's read scope, orders its "
            "trade scope.",
        )
        return [
            {"type": "apiKey", "in": "header", "name": name, "description": description}
            for name, description in zip(HEADERS, descriptions, strict=True)
        ]

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[Any]]:
        return {name: [] for name in self.name}


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(allow_blank=True, **kwargs)


def row(
    name: str, *names: str, **fields: serializers.Field[Any, Any, Any, Any]
) -> serializers.Serializer[Any]:
    """One element of `data`: the text fields `names` (OKX sends numbers as strings) and
    the other `fields`."""
    return inline_serializer(name, {**{n: _text() for n in names}, **fields})


def envelope(name: str, data: serializers.Field[Any, Any, Any, Any]) -> serializers.Serializer[Any]:
    return inline_serializer(
        name,
        {
            "code": serializers.CharField(help_text='"0" on success, else OKX\'s error code.'),
            "msg": _text(),
            "data": serializers.ListField(child=copy.deepcopy(data)),  # a field binds once
        },
    )


REFUSAL = envelope("OkxRefusal", serializers.JSONField())


def okx_schema(
    name: str,
    *,
    tag: str,
    summary: str,
    data: serializers.Field[Any, Any, Any, Any],
    parameters: list[OpenApiParameter] | None = None,
    request: Any = None,
    private: bool = False,
    not_found: bool = False,
    examples: list[OpenApiExample] | None = None,
) -> Callable[[View], View]:
    """extend_schema for an /api/v5 operation answering `data` items in the envelope
    (component `Okx<name>Answer`), with request `examples` if given."""
    refusals = [400, 429, 503, *([401] if private else []), *([404] if not_found else [])]
    return extend_schema(
        tags=[TAGS[tag]],
        summary=summary,
        description=(
            'As OKX v5 answers: `{"code": "0", "msg": "", "data": [...]}`, or a refusal with '
            "OKX's error code and the project's own code in `msg`."
        ),
        parameters=parameters or [],
        request=request,
        examples=examples or [],
        responses={
            200: envelope(f"Okx{name}Answer", data),
            **dict.fromkeys(refusals, REFUSAL),
        },
    )


def query(
    name: str,
    description: str,
    *,
    required: bool = False,
    kind: Any = OpenApiTypes.STR,
    enum: Any = None,
) -> OpenApiParameter:
    return OpenApiParameter(
        name, kind, OpenApiParameter.QUERY, required=required, enum=enum, description=description
    )


INST_ID = query("instId", 'The instrument, e.g. "BTC-USDC" or "ETH-USDC-SWAP".')
INST_ID_REQUIRED = query(
    "instId", 'The instrument, e.g. "BTC-USDC" or "ETH-USDC-SWAP".', required=True
)
INST_TYPE = query("instType", "SPOT or SWAP (the others list nothing).", enum=INST_TYPES)
INST_TYPE_REQUIRED = query(
    "instType", "SPOT or SWAP (the others list nothing).", required=True, enum=INST_TYPES
)
LIMIT = query("limit", "How many rows (clamped to the endpoint's bounds).", kind=OpenApiTypes.INT)
DEPTH = query("sz", "Levels per side (clamped to 1 to 400).", kind=OpenApiTypes.INT)
BAR = query("bar", "The candle width (1m by default).", enum=tuple(BARS_MS))
CCY = query("ccy", 'Currencies, comma-separated ("USDC,BTC"); every one if left out.')
ORD_ID = query("ordId", "The order's id.")
CL_ORD_ID = query("clOrdId", "The order's client id.")


def ms(name: str, description: str) -> OpenApiParameter:
    return query(name, description + " (milliseconds since the epoch).", kind=OpenApiTypes.INT)


# ---------------------------------------------------------------------------- bodies


class PlaceOrderInput(serializers.Serializer[Any]):
    instId = serializers.CharField()  # noqa: N815 (OKX's names)
    tdMode = serializers.ChoiceField(  # noqa: N815
        ("cash", "cross", "isolated"), required=False, help_text="Accepted and ignored."
    )
    side = serializers.ChoiceField(("buy", "sell"))
    ordType = serializers.ChoiceField(  # noqa: N815
        ("limit", "post_only", "ioc", "fok", "market")
    )
    sz = serializers.CharField(help_text="Base amount (contracts for SWAP), a decimal string.")
    px = serializers.CharField(required=False, help_text="The limit price, a decimal string.")
    clOrdId = serializers.RegexField(r"^[A-Za-z0-9]{1,32}$", required=False)  # noqa: N815
    tag = serializers.CharField(required=False)
    reduceOnly = serializers.BooleanField(required=False)  # noqa: N815
    outcome = serializers.ChoiceField(
        ("yes", "no"), required=False, help_text="A prediction market's side to trade."
    )


def _limit(side: str, px: str) -> dict[str, str]:
    return {
        "instId": "BTC-USDC",
        "tdMode": "cash",
        "side": side,
        "ordType": "limit",
        "sz": "0.1",
        "px": px,
    }


PLACE_ORDER_EXAMPLES = [OpenApiExample("A limit buy", value=_limit("buy", "99"), request_only=True)]
# drf-spectacular lists a list body's example itself: this is the batch [limit sell]
BATCH_ORDERS_EXAMPLES = [
    OpenApiExample("A batch of one limit sell", value=_limit("sell", "101"), request_only=True)
]


class OrderRefInput(serializers.Serializer[Any]):
    instId = serializers.CharField()  # noqa: N815
    ordId = serializers.CharField(required=False)  # noqa: N815
    clOrdId = serializers.CharField(required=False)  # noqa: N815


class AmendOrderInput(OrderRefInput):
    newSz = serializers.CharField(required=False)  # noqa: N815
    newPx = serializers.CharField(required=False)  # noqa: N815
    reqId = serializers.CharField(required=False)  # noqa: N815
    cxlOnFail = serializers.BooleanField(required=False)  # noqa: N815


def batch(serializer: type[serializers.Serializer[Any]]) -> serializers.ListSerializer[Any]:
    return serializer(many=True, min_length=1, max_length=MAX_BATCH)  # type: ignore[call-arg,return-value]


# ---------------------------------------------------------------------------- rows

ORDER_RESULT = ("clOrdId", "ordId", "tag", "ts", "sCode", "sMsg")
ORDER_RESULT_ROW = row("OkxOrderResult", *ORDER_RESULT)
AMEND_RESULT_ROW = row("OkxAmendResult", *ORDER_RESULT, "reqId")
TICKER_ROW = row(
    "OkxTicker",
    *("instType", "instId", "last", "lastSz", "askPx", "askSz", "bidPx", "bidSz"),
    *("open24h", "high24h", "low24h", "vol24h", "volCcy24h", "sodUtc0", "sodUtc8", "ts"),
)
ORDER_ROW = row(
    "OkxOrder",
    *("instType", "instId", "ordId", "clOrdId", "tag", "px", "sz", "ordType", "side"),
    *("posSide", "tdMode", "accFillSz", "avgPx", "fillPx", "fillSz", "state", "fee"),
    *("feeCcy", "rebate", "rebateCcy", "reduceOnly", "cancelSource", "outcome"),
    *("cTime", "uTime"),
)
# [price, size, "0", orders] per level
LEVELS = serializers.ListField(child=serializers.ListField(child=_text()))
CANDLE = serializers.ListField(
    child=_text(), help_text="[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]"
)
FILL_ROW = row(
    "OkxFill",
    *("instType", "instId", "tradeId", "ordId", "clOrdId", "billId", "tag", "fillPx"),
    *("fillSz", "side", "posSide", "execType", "feeCcy", "fee", "ts", "fillTime"),
)
