"""The books the engine is measured against.

`ReferenceBook` is a deliberately naive order book: the oracle the real engine is
tested against. `BareBook` is the engine's own `Book` with an order index and nothing
else: the benchmark's reference for what matching alone costs.


It implements the order rules of one spot market (limit GTC/GTD, IOC, FOK, post-only,
market orders with a protection band, amend, cancel, cancel-all, self-trade prevention,
tick/lot/min-size checks, expiry) with no money at all, the slow and obvious way: resting
orders sit in one list and every match scans it for the best price, then the oldest
arrival. The shared test suite runs the same commands through this and through an
`Engine` whose accounts can afford everything and whose fees are zero, and expects the
very same events (a fee-free spot order reserves its price in the quote asset per unit
bought, one unit of the base asset per unit sold). `ReferenceBook` is not meant to be
fast.
"""

from dataclasses import dataclass

from engine.core.book import Book, Order
from engine.core.commands import (
    AdvanceTime,
    AmendOrder,
    CancelAll,
    CancelOrder,
    Command,
    OrderType,
    Outcome,
    PlaceOrder,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from engine.core.events import (
    Event,
    Fill,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    Rejected,
)
from engine.core.markets import BPS, MarketConfig
from engine.core.reasons import Reason


@dataclass
class _Resting:
    order_id: int
    account: int
    is_bid: bool
    price: int
    size: int
    arrival: int
    stp: SelfTradePrevention
    client_order_id: str
    expiry_ts: int
    post_only: bool


class ReferenceBook:
    def __init__(self, config: MarketConfig) -> None:
        self.config = config
        self.resting: list[_Resting] = []
        self.next_order_id = 1
        self.arrivals = 0
        self.now = 0

    def apply(self, command: Command) -> list[Event]:
        events: list[Event] = []
        if command.ts > self.now:
            self.now = command.ts
            due = [o for o in self.resting if o.expiry_ts and o.expiry_ts <= self.now]
            for order in sorted(due, key=lambda o: (o.expiry_ts, o.order_id)):
                self._cancel(order, Reason.EXPIRED, events)
        if isinstance(command, PlaceOrder):
            self._place(command, events)
        elif isinstance(command, AmendOrder):
            self._amend(command, events)
        elif isinstance(command, CancelOrder):
            self._cancel_one(command, events)
        elif isinstance(command, CancelAll):
            mine = [o for o in self.resting if o.account == command.account]
            for order in sorted(mine, key=lambda o: o.order_id):
                self._cancel(order, Reason.CANCELLED_BY_TRADER, events)
        elif not isinstance(command, AdvanceTime):
            raise TypeError(f"the reference book does not know {type(command).__name__}")
        return events

    def _reservation(self, is_bid: bool, price: int) -> tuple[str, int]:
        """The asset a fee-free spot order locks, and how much per unit of its size."""
        if is_bid:
            return self.config.quote_asset, price
        return self.config.base_asset, 1

    def _best(self, is_bid: bool) -> _Resting | None:
        side = [o for o in self.resting if o.is_bid == is_bid]
        if not side:
            return None
        if is_bid:
            return min(side, key=lambda o: (-o.price, o.arrival))
        return min(side, key=lambda o: (o.price, o.arrival))

    def _crosses(self, is_bid: bool, price: int, maker: _Resting) -> bool:
        return maker.price <= price if is_bid else maker.price >= price

    def _place(self, cmd: PlaceOrder, events: list[Event]) -> None:
        order_id = self.next_order_id
        self.next_order_id += 1
        config = self.config
        is_bid = cmd.side is Side.BUY
        reason = None
        opposite = self._best(not is_bid)
        if cmd.size <= 0:
            reason = Reason.BAD_SIZE
        elif cmd.size % config.lot_size:
            reason = Reason.BAD_LOT
        elif cmd.size < config.min_size:
            reason = Reason.BELOW_MIN_SIZE
        elif cmd.client_order_id and any(
            o.account == cmd.account and o.client_order_id == cmd.client_order_id
            for o in self.resting
        ):
            reason = Reason.DUPLICATE_CLIENT_ORDER_ID
        elif cmd.order_type is OrderType.MARKET and (cmd.post_only or cmd.tif is TimeInForce.GTD):
            reason = Reason.BAD_PRICE
        elif cmd.order_type is OrderType.MARKET and opposite is None:
            reason = Reason.NO_LIQUIDITY
        price = cmd.price
        tif = cmd.tif
        if cmd.order_type is OrderType.MARKET and opposite is not None:
            band, tick = config.market_order_band_bps, config.tick_size
            if is_bid:
                price = opposite.price * (BPS + band) // BPS // tick * tick
            else:
                price = max(-(-(opposite.price * (BPS - band) // BPS) // tick) * tick, tick)
            tif = TimeInForce.FOK if tif is TimeInForce.FOK else TimeInForce.IOC
        if reason is None:
            if price <= 0:
                reason = Reason.BAD_PRICE
            elif price % config.tick_size:
                reason = Reason.BAD_TICK
            elif tif is TimeInForce.GTD and cmd.expiry_ts <= self.now:
                reason = Reason.BAD_EXPIRY
            elif cmd.post_only and opposite is not None and self._crosses(is_bid, price, opposite):
                reason = Reason.POST_ONLY_WOULD_CROSS
            elif tif is TimeInForce.FOK and self._fillable(cmd, is_bid, price) < cmd.size:
                reason = Reason.FOK_NOT_FILLABLE
        if reason is not None:
            events.append(
                Rejected(
                    "PlaceOrder", reason, cmd.account, cmd.market, order_id, cmd.client_order_id
                )
            )
            return
        events.append(
            OrderAccepted(
                order_id,
                cmd.account,
                cmd.market,
                cmd.side,
                cmd.price if cmd.order_type is OrderType.LIMIT else 0,
                cmd.size,
                "",
                cmd.client_order_id,
                *self._reservation(is_bid, price),
                0,
            )
        )
        order = _Resting(
            order_id,
            cmd.account,
            is_bid,
            price,
            cmd.size,
            0,
            cmd.stp,
            cmd.client_order_id,
            cmd.expiry_ts if tif is TimeInForce.GTD else 0,
            cmd.post_only,
        )
        rests = tif is TimeInForce.GTC or tif is TimeInForce.GTD
        self._take(order, rests, events)

    def _fillable(self, cmd: PlaceOrder, is_bid: bool, price: int) -> int:
        """What matching would fill, walked the same naive way as `_take`."""
        makers = sorted(
            (o for o in self.resting if o.is_bid != is_bid and self._crosses(is_bid, price, o)),
            key=lambda o: ((o.price if is_bid else -o.price), o.arrival),
        )
        filled = 0
        for maker in makers:
            if maker.account == cmd.account:
                if cmd.stp is not SelfTradePrevention.CANCEL_OLDEST:
                    break
                continue
            filled += maker.size
        return filled

    def _take(self, order: _Resting, rests: bool, events: list[Event]) -> None:
        stopped = False
        while order.size:
            maker = self._best(not order.is_bid)
            if maker is None or not self._crosses(order.is_bid, order.price, maker):
                break
            if maker.account == order.account:
                if order.stp is SelfTradePrevention.CANCEL_NEWEST:
                    stopped = True
                    break
                self._cancel(maker, Reason.SELF_TRADE_PREVENTED, events)
                if order.stp is SelfTradePrevention.CANCEL_BOTH:
                    stopped = True
                    break
                continue
            qty = min(order.size, maker.size)
            maker.size -= qty
            order.size -= qty
            events.append(
                Fill(
                    self.config.market_id,
                    maker.order_id,
                    order.order_id,
                    maker.account,
                    order.account,
                    order.is_bid,
                    maker.price,
                    qty,
                    0,
                    0,
                )
            )
            if not maker.size:
                self.resting.remove(maker)
        if not order.size:
            return
        if rests and not stopped:
            self.arrivals += 1
            order.arrival = self.arrivals
            self.resting.append(order)
        else:
            reason = Reason.SELF_TRADE_PREVENTED if stopped else Reason.IOC_REMAINDER
            events.append(
                OrderCancelled(
                    order.order_id, order.account, self.config.market_id, order.size, reason
                )
            )

    def _find(self, account: int, order_id: int, client_order_id: str = "") -> _Resting | None:
        for order in self.resting:
            if order.account != account:
                continue
            if order.order_id == order_id or (
                not order_id and client_order_id and order.client_order_id == client_order_id
            ):
                return order
        return None

    def _cancel(self, order: _Resting, reason: Reason, events: list[Event]) -> None:
        self.resting.remove(order)
        events.append(
            OrderCancelled(order.order_id, order.account, self.config.market_id, order.size, reason)
        )

    def _cancel_one(self, cmd: CancelOrder, events: list[Event]) -> None:
        order = self._find(cmd.account, cmd.order_id, cmd.client_order_id)
        if order is None:
            events.append(
                Rejected(
                    "CancelOrder",
                    Reason.UNKNOWN_ORDER,
                    cmd.account,
                    "",
                    cmd.order_id,
                    cmd.client_order_id,
                )
            )
            return
        self._cancel(order, Reason.CANCELLED_BY_TRADER, events)

    def _amend(self, cmd: AmendOrder, events: list[Event]) -> None:
        order = self._find(cmd.account, cmd.order_id)
        if order is None:
            events.append(
                Rejected("AmendOrder", Reason.UNKNOWN_ORDER, cmd.account, "", cmd.order_id)
            )
            return
        config = self.config
        size = cmd.size or order.size
        price = cmd.price or order.price
        keeps_priority = price == order.price and size <= order.size
        reason = None
        if size % config.lot_size:
            reason = Reason.BAD_LOT
        elif size < config.min_size:
            reason = Reason.BELOW_MIN_SIZE
        elif not keeps_priority:
            opposite = self._best(not order.is_bid)
            if price % config.tick_size:
                reason = Reason.BAD_TICK
            elif (
                order.post_only
                and opposite is not None
                and self._crosses(order.is_bid, price, opposite)
            ):
                reason = Reason.POST_ONLY_WOULD_CROSS
        if reason is not None:
            events.append(
                Rejected(
                    "AmendOrder",
                    reason,
                    cmd.account,
                    config.market_id,
                    cmd.order_id,
                    order.client_order_id,
                )
            )
            return
        events.append(
            OrderAmended(
                order.order_id,
                order.account,
                config.market_id,
                price,
                size,
                keeps_priority,
                self._reservation(order.is_bid, price)[1],
                0,
            )
        )
        if keeps_priority:
            order.size = size
            return
        self.resting.remove(order)
        order.price, order.size = price, size
        self._take(order, True, events)


class BareBook:
    """Price-time books and an order index, nothing else: no accounts, reservations,
    fees, events or risk. Applies the book commands of a stream (place, amend to a new
    price, cancel) and returns the fills; prediction NO orders are turned into YES book
    terms with `payouts`."""

    def __init__(self, payouts: dict[str, int]) -> None:
        self.books = {market: Book() for market in payouts}
        self.payouts = payouts
        self.orders: dict[int, Order] = {}
        self.next_order_id = 1

    def apply(self, command: Command) -> list[tuple[Order, int]]:
        fills: list[tuple[Order, int]] = []
        if isinstance(command, PlaceOrder):
            order_id = self.next_order_id
            self.next_order_id += 1
            buy = command.side is Side.BUY
            price = command.price
            payout = self.payouts[command.market]
            if command.outcome is Outcome.NO and payout:
                buy = not buy
                price = payout - price
            order = Order(order_id, command.account, command.market, buy, price, command.size)
            self._take(order, command.tif is TimeInForce.GTC, fills)
        elif isinstance(command, AmendOrder):
            found = self.orders.get(command.order_id)
            if found is not None and found.account == command.account:
                self.books[found.market].remove(found)
                del self.orders[found.order_id]
                found.price = command.price
                self._take(found, True, fills)
        elif isinstance(command, CancelOrder):
            found = self.orders.get(command.order_id)
            if found is not None and found.account == command.account:
                self.books[found.market].remove(found)
                del self.orders[found.order_id]
        return fills

    def _take(self, order: Order, rests: bool, fills: list[tuple[Order, int]]) -> None:
        book = self.books[order.market]
        start = len(fills)
        remaining, stopped = book.match(
            order.is_bid, order.price, order.size, order.account, order.stp, fills
        )
        for maker, qty in fills[start:]:
            if not qty or not maker.size:
                del self.orders[maker.order_id]
        order.size = remaining
        if remaining and rests and not stopped:
            book.add(order)
            self.orders[order.order_id] = order
