"""The MCP tools, in the conventions of OKX's Agent Trade Kit: flat parameters, amounts and
prices as decimal strings (never floats), write tools marked as such (readOnlyHint,
destructiveHint, idempotentHint), descriptions that say when not to use a tool, refusals
as tool errors naming the project's code.

Markets are named as the engine names what it trades: the registry symbol ("BTC-USDC",
"ETH-PERP", a binary prediction "RAIN") or, for an outcome of a categorical prediction
market, "<symbol>:<outcome>" ("WC26-WINNER:Argentina"); `market_list` shows them. Sizes
are amounts of the base (perpetuals too; predictions: shares), prices are quote per base
unit (per share, 0 to 1). Every tool calls the trading room's services and selectors,
which apply the same membership gate and the same checks as the APIs."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import QuerySet
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from engine import models as engine
from engine.selectors import fill_time, fills_of, holdings_of, orders_of, positions_of
from engine.services import CommandReceipt, shard_of
from governance.proposals.models import Proposal
from governance.proposals.selectors import proposal_by_key, proposal_list
from markets.models import Market
from markets.selectors import market_list
from xip_portal.errors import ApplicationError, NotFound
from xip_portal.models import User

from ..errors import TradingError
from ..instruments import Tradable, tradable_get, tradables, trading_shards
from ..market_data import book_of, ticker_of
from ..selectors import account_balances, account_statement, order_find
from ..services import (
    MAX_BATCH,
    OrderRequest,
    order_amend,
    order_cancel,
    order_place,
    orders_cancel_all,
    orders_place,
)
from .session import AgentSession, refusal_text

MAX_ROWS = 100
MAX_DEPTH = 400
MAX_TEXT = 100  # filters and search text

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
# placing adds an order: nothing is destroyed, and placing twice places twice
PLACE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
# cancelling and amending change what rests in the book; cancelling twice changes nothing more
CANCEL = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
AMEND = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False
)

MarketName = Annotated[
    str,
    Field(
        description='A tradable market as market_list names it: "BTC-USDC", "ETH-PERP", '
        '"WC26-WINNER:Argentina".',
        max_length=80,
    ),
]
OptionalMarket = Annotated[
    str, Field(description="Only this tradable market (empty: all).", max_length=80)
]
Decimal_ = Annotated[str, Field(description="A decimal string.", max_length=40)]
RiskGroupSlug = Annotated[
    str, Field(description="Only this risk group (slug).", max_length=MAX_TEXT)
]
Limit = Annotated[int, Field(description="At most this many rows.", ge=1, le=MAX_ROWS)]
Side = Annotated[Literal["buy", "sell"], Field(description="buy or sell.")]
OrderType = Annotated[
    Literal["limit", "market"],
    Field(description="limit (needs price) or market (fills now within the price band)."),
]
TimeInForce = Annotated[
    Literal["gtc", "ioc", "fok"],
    Field(description="gtc rests until cancelled; ioc fills what it can now; fok all or none."),
]
Outcome = Annotated[
    Literal["", "yes", "no"],
    Field(
        description='Prediction markets: the share traded ("" = yes; selling yes you do '
        "not hold buys no at 1 - price)."
    ),
]
ClientOrderId = Annotated[
    str,
    Field(description="Your own id for the order (unique among your open orders).", max_length=32),
]
OrderId = Annotated[
    str, Field(description="The order id returned when it was placed.", max_length=20)
]


class OrderToCancel(BaseModel):
    """One order of trade_cancel_batch_orders, named by order id or client order id."""

    market: MarketName
    order_id: OrderId = ""
    client_order_id: ClientOrderId = ""


class BatchOrder(BaseModel):
    """One order of trade_place_batch_orders (the fields of trade_place_order)."""

    market: MarketName
    side: Side
    size: Decimal_
    price: Decimal_ = ""
    order_type: OrderType = "limit"
    time_in_force: TimeInForce = "gtc"
    post_only: bool = False
    reduce_only: bool = False
    client_order_id: ClientOrderId = ""
    outcome: Outcome = ""


def _text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _ms(moment: Any) -> int:
    return int(moment.timestamp() * 1000)


def _place_command(
    tradable: Tradable,
    *,
    side: str,
    size: str,
    price: str,
    order_type: str,
    tif: str,
    post_only: bool,
    reduce_only: bool,
    client_order_id: str,
    outcome: str,
) -> dict[str, Any]:
    """The tool's order as the engine's PlaceOrder (the engine service checks the rest)."""
    command: dict[str, Any] = {
        "type": "PlaceOrder",
        "market": tradable.engine_market,
        "side": side,
        "size": tradable.listed.size(size, "size"),
        "order_type": order_type,
        "tif": tif,
        "post_only": post_only,
    }
    if order_type != "market":
        if not price:
            raise ApplicationError(
                "A limit order needs a price.", code=TradingError.MISSING_PARAMETER, field="price"
            )
        command["price"] = tradable.listed.price(price, "price")
    if client_order_id:
        command["client_order_id"] = client_order_id
    if reduce_only:
        command["reduce_only"] = True
    if outcome:
        command["outcome"] = outcome
    return command


def _order_row(order: engine.Order, tradable: Tradable) -> dict[str, Any]:
    price, size = tradable.price, tradable.size
    return {
        "order_id": str(order.order_id),
        "client_order_id": order.client_order_id,
        "market": order.market_id,
        "side": order.side,
        "outcome": order.outcome,
        "order_type": order.order_type,
        "time_in_force": order.tif,
        "price": _text(price(int(order.price))),
        "size": _text(size(int(order.size))),
        "filled": _text(size(int(order.filled))),
        "remaining": _text(size(int(order.remaining))),
        "status": order.status,
        "reason": order.reason,
        "created_ms": _ms(order.command.created_at),
    }


def _receipt_row(receipt: CommandReceipt) -> dict[str, Any]:
    """What the engine answered. "pending": journaled (it will be applied exactly once) but
    not applied within the wait; look the order up in trade_get_open_orders."""
    row: dict[str, Any] = {
        "order_id": str(receipt.order_id) if receipt.order_id is not None else "",
        "status": receipt.status,
    }
    if receipt.status == "applied":
        row["result"] = receipt.result
        if receipt.reason:
            row["reason"] = receipt.reason
    return row


def _market_row(market: Market) -> dict[str, Any]:
    spec = market.spec
    if market.market_type == "prediction" and spec.get("outcomes"):
        names = [f"{market.symbol}:{outcome}" for outcome in spec["outcomes"]]
    else:
        names = [market.symbol]
    return {
        "symbol": market.symbol,
        "name": market.title,
        "market_type": market.market_type,
        "risk_group": market.risk_group.slug,
        "status": market.status,
        "tradable_markets": [name for name in names if name in tradables()],
        "base_asset": spec.get("base_asset", ""),
        "quote_asset": spec.get("quote_asset", ""),
        "outcomes": spec.get("outcomes") or [],
        "tick": str(spec.get("tick", "")),
        "lot": str(spec.get("lot", "")),
        "min_size": str(spec.get("min_size") or spec.get("lot", "")),
        "maker_fee_bps": spec.get("maker_fee_bps"),
        "taker_fee_bps": spec.get("taker_fee_bps"),
    }


def _proposal_row(proposal: Proposal) -> dict[str, Any]:
    return {
        "xip": proposal.key,
        "number": proposal.number,
        "title": proposal.title,
        "proposal_type": proposal.proposal_type,
        "status": proposal.status,
        "risk_group": proposal.risk_group.slug,
        "institution": proposal.institution.name if proposal.institution else "",
        "last_call_ends_at": (
            proposal.last_call_ends_at.isoformat() if proposal.last_call_ends_at else ""
        ),
        "final_at": proposal.final_at.isoformat() if proposal.final_at else "",
    }


def _scoped(market: str) -> list[tuple[engine.Shard, str]]:
    """(shard, engine market id or "") pairs to read: one market's, or every shard's."""
    if market:
        tradable = tradable_get(market)
        return [(shard_of(risk_group=tradable.risk_group_id), tradable.engine_market)]
    return [(shard, "") for shard in trading_shards()]


def _orders(user: User, market: str, limit: int, *, open_only: bool) -> list[dict[str, Any]]:
    rows: list[engine.Order] = []
    for shard, market_id in _scoped(market):
        orders: QuerySet[engine.Order] = orders_of(
            shard=shard, account=user.pk, open_only=open_only, market_id=market_id
        ).select_related("command")
        if not open_only:
            orders = orders.exclude(status=engine.Order.Status.OPEN)
        rows.extend(orders[:limit])
    rows.sort(key=lambda order: order.command.created_at, reverse=True)
    listed = tradables()
    return [
        _order_row(order, listed[order.market_id])
        for order in rows[:limit]
        if order.market_id in listed  # a delisted market's orders are history
    ]


def _order_change(
    user: User,
    market: str,
    order_id: str,
    client_order_id: str,
    change: Callable[[Tradable, engine.Order], CommandReceipt],
) -> dict[str, Any]:
    """Amends or cancels one of the user's orders: `change(tradable, order)` submits it."""
    tradable = tradable_get(market)
    order = order_find(
        user=user, tradable=tradable, order_id=order_id, client_order_id=client_order_id
    )
    receipt = change(tradable, order)
    return {
        "market": tradable.engine_market,
        **_receipt_row(receipt),
        "order_id": str(order.order_id),
    }


class TradingTools:
    """The tools of one agent session; `register` adds them to a server."""

    def __init__(self, session: AgentSession) -> None:
        self.session = session

    def register(self, server: MCPServer, *, read_only: bool) -> None:
        reads: list[Callable[..., Any]] = [
            self.market_list,
            self.market_get,
            self.market_get_orderbook,
            self.market_get_tickers,
            self.trade_get_open_orders,
            self.trade_get_order_history,
            self.trade_get_fills,
            self.account_get_balances,
            self.account_get_positions,
            self.account_get_holdings,
            self.account_get_statement,
            self.xip_list,
            self.xip_get,
        ]
        tools = [(tool, READ) for tool in reads]
        if not read_only:
            tools += [
                (self.trade_place_order, PLACE),
                (self.trade_place_batch_orders, PLACE),
                (self.trade_amend_order, AMEND),
                (self.trade_cancel_order, CANCEL),
                (self.trade_cancel_batch_orders, CANCEL),
                (self.trade_cancel_all_orders, CANCEL),
            ]
        for tool, hints in tools:
            server.add_tool(
                tool, description=inspect.cleandoc(tool.__doc__ or ""), annotations=hints
            )

    # ------------------------------------------------------------------ market data

    async def market_list(
        self,
        market_type: Annotated[
            Literal["", "spot", "perp", "prediction"], Field(description="Only this kind.")
        ] = "",
        risk_group: RiskGroupSlug = "",
        status: Annotated[
            str,
            Field(
                description="Only this status (live, halted, closed, settled, ...).",
                max_length=MAX_TEXT,
            ),
        ] = "",
        query: Annotated[
            str, Field(description="Text in the symbol, name or outcomes.", max_length=MAX_TEXT)
        ] = "",
        limit: Limit = MAX_ROWS,
    ) -> dict[str, Any]:
        """The market registry: spot, perpetual and prediction markets with their rules
        (tick, lot, minimum size, fees) and `tradable_markets`, the names every other tool
        takes. Use it first to find a market's name. Do not use it for prices (use
        market_get_tickers) or for one market's full spec (use market_get)."""

        def work(user: User) -> dict[str, Any]:
            markets = market_list(
                market_type=market_type, risk_group=risk_group, status=status, q=query
            )
            return {"markets": [_market_row(market) for market in markets[:limit]]}

        return await self.session.run("read", work)

    async def market_get(
        self,
        symbol: Annotated[
            str, Field(description='The registry symbol ("BTC-USDC").', max_length=MAX_TEXT)
        ],
    ) -> dict[str, Any]:
        """One market of the registry with its full spec, status, config hash (the value
        the on-chain registry holds) and the XIP that listed it. Do not use it to list
        markets (use market_list)."""

        def work(user: User) -> dict[str, Any]:
            market = (
                Market.objects.select_related("risk_group", "xip").filter(symbol=symbol).first()
            )
            if market is None:
                raise NotFound(f"No market {symbol!r} in the registry.")
            return _market_row(market) | {
                "status_reason": market.status_reason,
                "config_hash": market.config_hash,
                "xip": market.xip.key if market.xip else "",
                "spec": market.spec,
            }

        return await self.session.run("read", work)

    async def market_get_orderbook(
        self,
        market: MarketName,
        depth: Annotated[int, Field(description="Price levels per side.", ge=1, le=MAX_DEPTH)] = 20,
    ) -> dict[str, Any]:
        """The book of one tradable market: bids and asks best first, each level's price,
        size and order count. Predictions show the merged book (a NO order at p is a YES
        order on the other side at 1 - p). Do not use it for the last price or the day's
        range (use market_get_tickers)."""

        def work(user: User) -> dict[str, Any]:
            tradable = tradable_get(market)
            bids, asks = book_of(tradable, depth=depth)

            def levels(side: list[Any]) -> list[dict[str, Any]]:
                return [
                    {
                        "price": _text(tradable.price(level.price)),
                        "size": _text(tradable.size(level.size)),
                        "orders": level.orders,
                    }
                    for level in side
                ]

            return {"market": tradable.engine_market, "bids": levels(bids), "asks": levels(asks)}

        return await self.session.run("read", work)

    async def market_get_tickers(self, market: OptionalMarket = "") -> dict[str, Any]:
        """Last price, best bid and ask, and the last 24 hours' open, high, low and volume
        (base) of one tradable market or of all. Do not use it for the book's depth (use
        market_get_orderbook)."""

        def work(user: User) -> dict[str, Any]:
            listed = [tradable_get(market)] if market else list(tradables().values())
            now = time.time_ns() // 1_000_000
            return {"tickers": [_ticker_row(tradable, now) for tradable in listed]}

        return await self.session.run("read", work)

    # ------------------------------------------------------------------ orders and fills

    async def trade_get_open_orders(
        self, market: OptionalMarket = "", limit: Limit = MAX_ROWS
    ) -> dict[str, Any]:
        """Your orders resting in the books, newest first. Do not use it for filled or
        cancelled orders (use trade_get_order_history) or for what traded (trade_get_fills)."""
        return await self.session.run(
            "read", lambda user: {"orders": _orders(user, market, limit, open_only=True)}
        )

    async def trade_get_order_history(
        self, market: OptionalMarket = "", limit: Limit = MAX_ROWS
    ) -> dict[str, Any]:
        """Your orders that are no longer open (filled, cancelled, rejected with the
        engine's reason), newest first. Do not use it for resting orders (use
        trade_get_open_orders)."""
        return await self.session.run(
            "read", lambda user: {"orders": _orders(user, market, limit, open_only=False)}
        )

    async def trade_get_fills(
        self, market: OptionalMarket = "", limit: Limit = MAX_ROWS
    ) -> dict[str, Any]:
        """Your trades (fills) as maker or taker, newest first, with price, size, your side
        and your fee. Do not use it for orders that have not traded (use
        trade_get_open_orders)."""

        def work(user: User) -> dict[str, Any]:
            rows: list[Any] = []
            for shard, market_id in _scoped(market):
                fills = fills_of(shard=shard, account=user.pk, market_id=market_id)
                rows.extend(fills.reverse().annotate(ts=fill_time())[:limit])
            rows.sort(key=lambda fill: fill.ts or 0, reverse=True)
            listed = tradables()
            return {
                "fills": [
                    _fill_row(fill, listed[fill.market_id], user)
                    for fill in rows[:limit]
                    if fill.market_id in listed
                ]
            }

        return await self.session.run("read", work)

    async def trade_place_order(
        self,
        market: MarketName,
        side: Side,
        size: Annotated[
            str,
            Field(
                description="Amount of the base (perpetuals too; predictions: shares), a "
                'decimal string such as "0.5".',
                max_length=40,
            ),
        ],
        price: Annotated[
            str,
            Field(
                description='Quote per base unit (per share), a decimal string such as "101.5"; '
                "required for limit orders.",
                max_length=40,
            ),
        ] = "",
        order_type: OrderType = "limit",
        time_in_force: TimeInForce = "gtc",
        post_only: Annotated[
            bool, Field(description="Refused rather than taking liquidity.")
        ] = False,
        reduce_only: Annotated[
            bool, Field(description="Perpetuals: only reduce the position.")
        ] = False,
        client_order_id: ClientOrderId = "",
        outcome: Outcome = "",
    ) -> dict[str, Any]:
        """Place one order; it trades real balances of your account. Answers the order id
        and the engine's result (accepted, filled, partially_filled, or rejected with the
        reason). Do not use it for several orders at once (use trade_place_batch_orders),
        to change an order (trade_amend_order), or to find prices (market_get_orderbook).
        Needs a key with the trade scope and a membership of the market's risk group."""

        def work(user: User) -> dict[str, Any]:
            tradable = tradable_get(market)
            command = _place_command(
                tradable,
                side=side,
                size=size,
                price=price,
                order_type=order_type,
                tif=time_in_force,
                post_only=post_only,
                reduce_only=reduce_only,
                client_order_id=client_order_id,
                outcome=outcome,
            )
            receipt = order_place(user=user, tradable=tradable, command=command)
            return {"market": tradable.engine_market, **_receipt_row(receipt)}

        return await self.session.run("trade", work)

    async def trade_place_batch_orders(
        self,
        orders: Annotated[
            list[BatchOrder],
            Field(description="1 to 20 orders.", min_length=1, max_length=MAX_BATCH),
        ],
    ) -> dict[str, Any]:
        """Place up to 20 orders in one call (a ladder of quotes): one answer per order, in
        order; a refused order does not stop the others. Do not use it for a single order
        (use trade_place_order)."""

        def work(user: User) -> dict[str, Any]:
            answers: list[dict[str, Any] | None] = []
            placed: list[tuple[int, Tradable, dict[str, Any]]] = []
            for index, order in enumerate(orders):
                try:
                    tradable = tradable_get(order.market)
                    command = _place_command(
                        tradable,
                        side=order.side,
                        size=order.size,
                        price=order.price,
                        order_type=order.order_type,
                        tif=order.time_in_force,
                        post_only=order.post_only,
                        reduce_only=order.reduce_only,
                        client_order_id=order.client_order_id,
                        outcome=order.outcome,
                    )
                except ApplicationError as refusal:
                    answers.append({"market": order.market, "error": refusal_text(refusal)})
                    continue
                answers.append(None)
                placed.append((index, tradable, command))
            outcomes = orders_place(
                user=user,
                orders=[OrderRequest(tradable, command) for _, tradable, command in placed],
            )
            for (index, tradable, _), outcome in zip(placed, outcomes, strict=True):
                answer: dict[str, Any] = {"market": tradable.engine_market}
                if isinstance(outcome, ApplicationError):
                    answer["error"] = refusal_text(outcome)
                else:
                    answer |= _receipt_row(outcome)
                answers[index] = answer
            return {"orders": [answer for answer in answers if answer is not None]}

        return await self.session.run("trade", work)

    async def trade_amend_order(
        self,
        market: MarketName,
        order_id: OrderId = "",
        client_order_id: ClientOrderId = "",
        new_size: Annotated[
            str, Field(description="The new total size (decimal string).", max_length=40)
        ] = "",
        new_price: Annotated[
            str, Field(description="The new price (decimal string).", max_length=40)
        ] = "",
    ) -> dict[str, Any]:
        """Change the size or price of one of your open orders, named by order id or client
        order id. A smaller size keeps the order's place in the queue; a new price loses
        it. Do not use it to take an order down (use trade_cancel_order)."""

        def amend(user: User) -> dict[str, Any]:
            def change(tradable: Tradable, order: engine.Order) -> CommandReceipt:
                return order_amend(
                    user=user,
                    order=order,
                    size=tradable.listed.size(new_size, "new_size") if new_size else 0,
                    price=tradable.listed.price(new_price, "new_price") if new_price else 0,
                )

            return _order_change(user, market, order_id, client_order_id, change)

        return await self.session.run("trade", amend)

    async def trade_cancel_order(
        self,
        market: MarketName,
        order_id: OrderId = "",
        client_order_id: ClientOrderId = "",
    ) -> dict[str, Any]:
        """Cancel one of your open orders, named by order id or client order id; what it
        reserved is released. Do not use it to change an order's size or price (use
        trade_amend_order)."""

        def cancel(user: User) -> dict[str, Any]:
            def change(tradable: Tradable, order: engine.Order) -> CommandReceipt:
                return order_cancel(user=user, order=order)

            return _order_change(user, market, order_id, client_order_id, change)

        return await self.session.run("trade", cancel)

    async def trade_cancel_batch_orders(
        self,
        orders: Annotated[
            list[OrderToCancel],
            Field(description="1 to 20 orders.", min_length=1, max_length=MAX_BATCH),
        ],
    ) -> dict[str, Any]:
        """Cancel up to 20 of your open orders in one call, each named by order id or
        client order id: one answer per order, in order; an order that cannot be cancelled
        (unknown, already done) does not stop the others. Do not use it for one order (use
        trade_cancel_order) or for all your orders in a market (use
        trade_cancel_all_orders)."""

        def cancel(user: User) -> dict[str, Any]:
            def change(tradable: Tradable, order: engine.Order) -> CommandReceipt:
                return order_cancel(user=user, order=order)

            answers = []
            for order in orders:
                try:
                    answers.append(
                        _order_change(
                            user, order.market, order.order_id, order.client_order_id, change
                        )
                    )
                except ApplicationError as refusal:
                    answers.append({"market": order.market, "error": refusal_text(refusal)})
            return {"orders": answers}

        return await self.session.run("trade", cancel)

    async def trade_cancel_all_orders(self, market: OptionalMarket = "") -> dict[str, Any]:
        """Cancel all your open orders in one market, or (market empty) in every market
        of every risk group; what they reserved is released. Answers one result per risk
        group the cancellation went to (none when nothing was open). Do not use it to take
        down a few chosen orders (use trade_cancel_batch_orders)."""

        def cancel(user: User) -> dict[str, Any]:
            tradable = tradable_get(market) if market else None
            receipts = orders_cancel_all(user=user, tradable=tradable)
            return {
                "market": tradable.engine_market if tradable is not None else "",
                "cancellations": [_receipt_row(receipt) for receipt in receipts],
            }

        return await self.session.run("trade", cancel)

    # ------------------------------------------------------------------ account

    async def account_get_balances(self) -> dict[str, Any]:
        """Your balances of each asset in each risk group: free and locked (backing open
        orders). Do not use it for perpetual positions (account_get_positions) or
        prediction shares (account_get_holdings)."""

        def work(user: User) -> dict[str, Any]:
            groups = _risk_group_slugs()
            return {
                "balances": [
                    {
                        "risk_group": groups.get(balance.risk_group_id, ""),
                        "asset": balance.asset,
                        "free": _text(balance.free),
                        "locked": _text(balance.locked),
                    }
                    for balance in account_balances(user=user)
                ]
            }

        return await self.session.run("read", work)

    async def account_get_positions(self) -> dict[str, Any]:
        """Your open perpetual positions (cross margin): signed size in the base, entry and
        mark price, unrealised and realised PnL, funding, margins and the liquidation
        price. Do not use it for spot balances (account_get_balances)."""

        def work(user: User) -> dict[str, Any]:
            rows = []
            for shard in trading_shards():
                for position in positions_of(shard=shard, account=user.pk):
                    tradable = tradables().get(position.market_id)
                    if tradable is None:
                        continue
                    money = tradable.money
                    rows.append(
                        {
                            "market": position.market_id,
                            "size": _text(tradable.size(position.size)),
                            "entry_price": _text(tradable.price(position.entry_price)),
                            "mark_price": _text(tradable.price(position.mark)),
                            "unrealised_pnl": _text(money(position.unrealised_pnl)),
                            "realised_pnl": _text(money(position.realised_pnl)),
                            "funding": _text(money(position.funding)),
                            "initial_margin": _text(money(position.initial_margin)),
                            "maintenance_margin": _text(money(position.maintenance_margin)),
                            "liquidation_price": (
                                _text(tradable.price(position.liquidation_price))
                                if position.liquidation_price is not None
                                else ""
                            ),
                        }
                    )
            return {"positions": rows}

        return await self.session.run("read", work)

    async def account_get_holdings(self) -> dict[str, Any]:
        """Your prediction-market shares: YES and NO of each outcome, free and locked
        (backing open sell orders). Do not use it for cash balances (account_get_balances)."""

        def work(user: User) -> dict[str, Any]:
            rows = []
            for shard in trading_shards():
                for holding in holdings_of(shard=shard, account=user.pk):
                    tradable = tradables().get(holding.market_id)
                    if tradable is None:
                        continue
                    rows.append(
                        {
                            "market": holding.market_id,
                            "yes": _text(tradable.size(int(holding.yes))),
                            "no": _text(tradable.size(int(holding.no))),
                            "yes_locked": _text(tradable.size(int(holding.yes_locked))),
                            "no_locked": _text(tradable.size(int(holding.no_locked))),
                        }
                    )
            return {"holdings": rows}

        return await self.session.run("read", work)

    async def account_get_statement(self, limit: Limit = MAX_ROWS) -> dict[str, Any]:
        """Your account statement: deposits, withdrawals, transfers, fees, funding, payouts,
        liquidations and bonds, newest first in each risk group (negative amounts left the
        account). Do not use it for trades (use trade_get_fills)."""

        def work(user: User) -> dict[str, Any]:
            groups = _risk_group_slugs()
            return {
                "lines": [
                    {
                        "risk_group": groups.get(line.risk_group_id, ""),
                        "seq": line.seq,
                        "kind": line.kind,
                        "asset": line.asset,
                        "amount": _text(line.amount),
                        "market": line.market_id,
                        "reference": line.reference,
                    }
                    for line in account_statement(user=user, limit=limit)
                ]
            }

        return await self.session.run("read", work)

    # ------------------------------------------------------------------ governance

    async def xip_list(
        self,
        status: Annotated[
            str,
            Field(
                description="Only this status (draft, review, last_call, final, ...).",
                max_length=MAX_TEXT,
            ),
        ] = "",
        proposal_type: Annotated[
            str,
            Field(
                description="Only this type (market, parameter_change, delisting, ...).",
                max_length=MAX_TEXT,
            ),
        ] = "",
        risk_group: RiskGroupSlug = "",
        query: Annotated[
            str, Field(description='Text, or a number such as "XIP-12".', max_length=MAX_TEXT)
        ] = "",
        limit: Limit = MAX_ROWS,
    ) -> dict[str, Any]:
        """The improvement proposals (XIPs) you may see, newest first: Review and later
        ones, and drafts you author or edit. Do not use it to read a proposal's body or
        spec (use xip_get)."""

        def work(user: User) -> dict[str, Any]:
            proposals = proposal_list(
                viewer=user,
                status=status,
                proposal_type=proposal_type,
                risk_group=risk_group,
                q=query,
            )
            return {"xips": [_proposal_row(proposal) for proposal in proposals[:limit]]}

        return await self.session.run("read", work)

    async def xip_get(
        self,
        xip: Annotated[
            str, Field(description='"XIP-12" (or "draft-7" for a draft).', max_length=MAX_TEXT)
        ],
    ) -> dict[str, Any]:
        """One XIP you may see, with its markdown body and structured spec. Do not use it to
        search proposals (use xip_list)."""

        def work(user: User) -> dict[str, Any]:
            proposal = proposal_by_key(viewer=user, key=xip)
            if proposal is None:
                raise NotFound(f"No XIP {xip!r} that you may see.")
            return _proposal_row(proposal) | {"body": proposal.body, "spec": proposal.spec}

        return await self.session.run("read", work)


def _ticker_row(tradable: Tradable, now_ms: int) -> dict[str, Any]:
    """Prices as decimal strings; "" where there is none yet (no trade, no quote, no mark)."""
    ticker = ticker_of(tradable, now_ms=now_ms)
    bid, ask = ticker["bid"], ticker["ask"]

    def price(units: int) -> str:
        return _text(tradable.price(units)) if units else ""

    return {
        "market": tradable.engine_market,
        "last": price(ticker["last"]),
        "bid": price(bid.price) if bid else "",
        "bid_size": _text(tradable.size(bid.size)) if bid else "",
        "ask": price(ask.price) if ask else "",
        "ask_size": _text(tradable.size(ask.size)) if ask else "",
        "open_24h": price(ticker["open"]),
        "high_24h": price(ticker["high"]),
        "low_24h": price(ticker["low"]),
        "volume_24h": _text(tradable.size(ticker["volume"])),
        "mark": price(ticker["mark"]),
    }


def _fill_row(fill: Any, tradable: Tradable, user: User) -> dict[str, Any]:
    price, size, money = tradable.price, tradable.size, tradable.money
    maker = fill.maker_account == user.pk
    return {
        "trade_id": f"{fill.seq}-{fill.index}",
        "market": fill.market_id,
        "order_id": str(fill.maker_order_id if maker else fill.taker_order_id),
        "side": "buy" if fill.taker_buys != maker else "sell",
        "liquidity": "maker" if maker else "taker",
        "price": _text(price(int(fill.price))),
        "size": _text(size(int(fill.size))),
        "fee": _text(money(int(fill.maker_fee if maker else fill.taker_fee))),
        "ts": fill.ts,
    }


def _risk_group_slugs() -> dict[int, str]:
    return {t.risk_group_id: t.market.risk_group.slug for t in tradables().values()}


def mcp_server_build(session: AgentSession, *, read_only: bool) -> MCPServer:
    """The server with the session's tools (no write tool at all when `read_only`)."""
    server: MCPServer = MCPServer(
        "exchange-os",
        instructions=(
            "Trade on the Exchange OS portal with your API key: find markets with market_list, "
            "read books and tickers, place, amend and cancel orders, read your orders, fills, "
            "balances, positions, holdings and statement, and read XIPs. Amounts and prices "
            "are decimal strings."
        ),
    )
    TradingTools(session).register(server, read_only=read_only)
    return server
