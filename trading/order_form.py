"""The market page's order form: the trader's decimals checked against the market's tick,
lot and minimum (refused in words naming the nearest valid values, never rounded behind
the trader's back), turned into the engine's PlaceOrder, and previewed (cost or proceeds,
fee, and for perps the margin the order needs and the liquidation price after it fills)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from engine import selectors as engine_selectors
from engine.core.markets import BPS
from engine.core.perp import margin_at
from engine.core.reasons import Reason
from engine.services import shard_of
from xip_portal.bounded_values import BoundedDecimalFormField, bounded_decimal
from xip_portal.errors import ApplicationError
from xip_portal.models import User

from .instruments import Tradable
from .market_data import book_of

ENGINE_REASONS: dict[str, str] = {
    Reason.INSUFFICIENT_BALANCE: "You do not have enough free balance for this order.",
    Reason.INSUFFICIENT_MARGIN: "You do not have enough free collateral for this order's margin.",
    Reason.POST_ONLY_WOULD_CROSS: "A post-only order would have traded at once; it was not placed.",
    Reason.FOK_NOT_FILLABLE: "A fill-or-kill order could not fill entirely; nothing traded.",
    Reason.NO_LIQUIDITY: "There is nothing on the other side of the book to trade with.",
    Reason.PRICE_OUT_OF_BAND: "The price is too far from the market's reference price.",
    Reason.REDUCE_ONLY_WOULD_INCREASE: "A reduce-only order may only shrink your position.",
    Reason.MARKET_HALTED: "The market is halted: orders are refused until it resumes.",
    Reason.MARKET_CLOSED: "The market is closed.",
    Reason.NO_MARK_PRICE: "The market has no mark price yet; try again shortly.",
    Reason.SELF_TRADE_PREVENTED: "The order would have traded with your own order.",
    Reason.BAD_TICK: "The price is not on the market's tick.",
    Reason.BAD_LOT: "The size is not a whole number of lots.",
    Reason.BELOW_MIN_SIZE: "The size is below the market's minimum.",
    Reason.UNKNOWN_ORDER: "That order is no longer open.",
    Reason.IOC_REMAINDER: "What could not fill at once was cancelled.",
}


def reason_words(code: str) -> str:
    """The engine's reason for refusing or stopping an order, in words (the code itself
    when it has none)."""
    return ENGINE_REASONS.get(code, code.replace("_", " ").capitalize() + ".")


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}"


def price_problem(tradable: Tradable, price: Decimal) -> str | None:
    """Why `price` is no price of this market, in words naming the nearest ones."""
    config = tradable.listed.config
    tick = tradable.price(config.tick_size)
    if price <= 0:
        return "The price must be more than zero."
    if price % tick:
        below = (price // tick) * tick
        return (
            f"The price {_number(price)} is not on the tick of {_number(tick)}: "
            f"{_number(below)} or {_number(below + tick)}?"
        )
    if tradable.kind == "prediction" and price >= tradable.price(config.payout):
        return "A share's price lies below 1 (what a winning share pays)."
    return None


def size_problem(tradable: Tradable, size: Decimal) -> str | None:
    """Why `size` is no size of this market, in words naming the nearest ones."""
    config = tradable.listed.config
    lot = tradable.size(config.lot_size)
    if size <= 0:
        return "The size must be more than zero."
    if size % lot:
        below = (size // lot) * lot
        return (
            f"The size {_number(size)} is not a whole number of lots of {_number(lot)}: "
            f"{_number(below)} or {_number(below + lot)}?"
        )
    minimum = tradable.size(config.min_size)
    if size < minimum:
        return f"The size is below the minimum of {_number(minimum)}."
    return None


def amend_values(tradable: Tradable, data: Any) -> tuple[int, int]:
    """An amendment's new price and size in engine units (0: unchanged), or
    ApplicationError naming the field and the nearest valid values."""
    values = []
    for name, problem, units in (
        ("price", price_problem, tradable.listed.price),
        ("size", size_problem, tradable.listed.size),
    ):
        text = str(data.get(name) or "").strip()
        if not text:
            values.append(0)
            continue
        number = bounded_decimal(text, field=name, max_digits=40, decimal_places=18)
        message = problem(tradable, number)
        if message:
            raise ApplicationError(message, field=name)
        values.append(units(number))
    if not any(values):
        raise ApplicationError("Give a new price or a new size.", field="price")
    return values[0], values[1]


class OrderForm(forms.Form):
    side = forms.ChoiceField(
        choices=[("buy", "Buy"), ("sell", "Sell")], initial="buy", widget=forms.RadioSelect
    )
    order_type = forms.ChoiceField(
        choices=[("limit", "Limit"), ("market", "Market")], initial="limit", label="Type"
    )
    price = BoundedDecimalFormField(max_digits=40, decimal_places=18, required=False)
    size = BoundedDecimalFormField(max_digits=40, decimal_places=18)
    tif = forms.ChoiceField(
        choices=[
            ("gtc", "Good till cancelled"),
            ("ioc", "Immediate or cancel"),
            ("fok", "Fill or kill"),
        ],
        initial="gtc",
        required=False,
        label="Time in force",
    )
    post_only = forms.BooleanField(required=False, label="Post only")
    reduce_only = forms.BooleanField(required=False, label="Reduce only")
    outcome = forms.ChoiceField(
        choices=[("yes", "YES"), ("no", "NO")],
        required=False,
        initial="yes",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, tradable: Tradable, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tradable = tradable
        self.command: dict[str, Any] = {}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        tradable = self.tradable
        size: Decimal = data["size"]
        is_market = data["order_type"] == "market"
        problem = size_problem(tradable, size)
        if problem:
            self.add_error("size", problem)
        price: Decimal | None = data.get("price")
        if is_market:
            if price is not None:
                self.add_error("price", "A market order has no price: clear it or pick Limit.")
            if data.get("post_only"):
                self.add_error("post_only", "Post only is for limit orders.")
        elif price is None:
            self.add_error("price", "A limit order needs a price.")
        else:
            problem = price_problem(tradable, price)
            if problem:
                self.add_error("price", problem)
        if data.get("reduce_only") and tradable.kind != "perp":
            self.add_error("reduce_only", "Reduce only is for perpetual markets.")
        if self.errors:
            return data
        command: dict[str, Any] = {
            "type": "PlaceOrder",
            "market": tradable.engine_market,
            "side": data["side"],
            "size": tradable.listed.size(size),
            "order_type": data["order_type"],
            "tif": "ioc" if is_market else data.get("tif") or "gtc",
            "post_only": bool(data.get("post_only")),
        }
        if not is_market and price is not None:
            command["price"] = tradable.listed.price(price)
        if data.get("reduce_only"):
            command["reduce_only"] = True
        if tradable.kind == "prediction":
            command["outcome"] = data.get("outcome") or "yes"
        self.command = command
        return data


def order_preview(tradable: Tradable, user: User | None, command: dict[str, Any]) -> dict[str, Any]:
    """What the order costs or brings before it is sent: its notional, the fee at the
    taker rate (the most it pays), and for a perp the initial margin it needs and the
    liquidation price of the position after it fills. A market order is valued at the best
    price on the other side of the book."""
    config = tradable.listed.config
    size = int(command["size"])
    price = int(command.get("price") or 0)
    buys = command["side"] == "buy"
    if not price:
        bids, asks = book_of(tradable, depth=1)
        best = asks if buys != (command.get("outcome") == "no") else bids
        if not best:
            return {"note": "There is nothing on the other side of the book to trade with."}
        price = best[0].price
        if command.get("outcome") == "no":
            price = config.payout - price
    notional = price * size
    fee = notional * config.taker_fee_bps // BPS

    def money(units: int) -> str:
        return f"{tradable.money(units):f}"

    preview: dict[str, Any] = {
        "notional": money(notional),
        "fee": money(fee),
        "collateral": config.quote_asset,
        "estimated": "price" not in command,
    }
    if tradable.kind == "perp":
        tiers = config.margin_tiers
        preview["margin"] = money(margin_at(notional, tiers)[0])
        if user is not None:
            shard = shard_of(risk_group=tradable.risk_group_id)
            signed = size if buys else -size
            after = engine_selectors.positions_of(
                shard=shard, account=user.pk, trade=(tradable.engine_market, signed, price)
            )
            position = next((p for p in after if p.market_id == tradable.engine_market), None)
            if position is not None and position.liquidation_price is not None:
                preview["liquidation_price"] = f"{tradable.price(position.liquidation_price):f}"
    elif buys:
        preview["cost"] = money(notional + fee)
    else:
        preview["proceeds"] = money(notional - fee)
    return preview
