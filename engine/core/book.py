"""The order book of one market: price levels in price-time priority, and matching.

The book only knows prices, sizes, accounts and time priority. It never touches money:
the engine reserves before an order reaches the book and settles each fill it returns.
Each side keeps a dict of price -> level and a sorted list of keys whose last element is
the best price (bid keys are prices, ask keys are negated prices), so the best level is
found, and an emptied best level dropped, in O(1). A level is a doubly linked FIFO of
orders, so cancelling any order is O(1).
"""

from bisect import bisect_left, insort
from collections.abc import Iterator
from typing import Final

from engine.core.balances import NO_BALANCE, Balance
from engine.core.commands import SelfTradePrevention


class Order:
    """A resting or incoming order. `price` is the book price; for prediction markets
    that is the YES price. `unit_reserve` is what each unit of size not covered by
    `reserved_shares` holds in the balance `reserve` while the order is open."""

    __slots__ = (
        "order_id",
        "account",
        "market",
        "is_bid",
        "price",
        "size",
        "tif_gtd",
        "post_only",
        "reduce_only",
        "stp",
        "client_order_id",
        "expiry_ts",
        "reserve",
        "unit_reserve",
        "reserved_shares",
        "outcome_no",
        "prev",
        "next",
        "level",
    )

    def __init__(
        self,
        order_id: int,
        account: int,
        market: str,
        is_bid: bool,
        price: int,
        size: int,
        stp: SelfTradePrevention = SelfTradePrevention.CANCEL_NEWEST,
        client_order_id: str = "",
        expiry_ts: int = 0,
        post_only: bool = False,
        reduce_only: bool = False,
        reserve: Balance = NO_BALANCE,
        unit_reserve: int = 0,
        reserved_shares: int = 0,
        outcome_no: bool = False,
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.market = market
        self.is_bid = is_bid
        self.price = price
        self.size = size
        self.stp = stp
        self.client_order_id = client_order_id
        self.expiry_ts = expiry_ts
        self.tif_gtd = expiry_ts > 0
        self.post_only = post_only
        self.reduce_only = reduce_only
        self.reserve = reserve
        self.unit_reserve = unit_reserve
        self.reserved_shares = reserved_shares
        self.outcome_no = outcome_no
        self.prev: Order | None = None
        self.next: Order | None = None
        self.level: Level | None = None

    def reserved(self) -> int:
        """What the order holds in `reserve` for its remaining size."""
        return self.unit_reserve * (self.size - self.reserved_shares)


class Level:
    __slots__ = ("price", "head", "tail", "total", "count")

    def __init__(self, price: int) -> None:
        self.price = price
        self.head: Order | None = None
        self.tail: Order | None = None
        self.total = 0
        self.count = 0


def _insert_key(keys: list[int], key: int) -> None:
    """Insert `key` into a side's sorted keys. A new level is most often the new best (an
    order resting where the opposite side was just taken): appended, without a search."""
    if not keys or key > keys[-1]:
        keys.append(key)
    else:
        insort(keys, key)


CANCEL_NEWEST: Final = SelfTradePrevention.CANCEL_NEWEST
CANCEL_BOTH: Final = SelfTradePrevention.CANCEL_BOTH


class Book:
    __slots__ = ("bids", "asks", "bid_keys", "ask_keys")

    def __init__(self) -> None:
        self.bids: dict[int, Level] = {}
        self.asks: dict[int, Level] = {}
        self.bid_keys: list[int] = []
        self.ask_keys: list[int] = []

    def best_bid(self) -> int | None:
        return self.bid_keys[-1] if self.bid_keys else None

    def best_ask(self) -> int | None:
        return -self.ask_keys[-1] if self.ask_keys else None

    def would_cross(self, is_bid: bool, price: int) -> bool:
        if is_bid:
            return bool(self.ask_keys) and -self.ask_keys[-1] <= price
        return bool(self.bid_keys) and self.bid_keys[-1] >= price

    def add(self, order: Order) -> None:
        """Append at the back of its price level."""
        price = order.price
        if order.is_bid:
            level = self.bids.get(price)
            if level is None:
                level = self.bids[price] = Level(price)
                _insert_key(self.bid_keys, price)
        else:
            level = self.asks.get(price)
            if level is None:
                level = self.asks[price] = Level(price)
                _insert_key(self.ask_keys, -price)
        order.level = level
        order.next = None
        tail = level.tail
        order.prev = tail
        if tail is None:
            level.head = order
        else:
            tail.next = order
        level.tail = order
        level.total += order.size
        level.count += 1

    def remove(self, order: Order) -> None:
        level = order.level
        if level is None:
            return
        prev, nxt = order.prev, order.next
        if prev is None:
            level.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            level.tail = prev
        else:
            nxt.prev = prev
        order.prev = order.next = order.level = None
        level.total -= order.size
        level.count -= 1
        if not level.count:
            self._drop_level(order.is_bid, level.price)

    def _drop_level(self, is_bid: bool, price: int) -> None:
        if is_bid:
            del self.bids[price]
            keys, key = self.bid_keys, price
        else:
            del self.asks[price]
            keys, key = self.ask_keys, -price
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    def reduce(self, order: Order, new_size: int) -> None:
        """Lower a resting order's size in place: it keeps its time priority."""
        level = order.level
        if level is not None:
            level.total -= order.size - new_size
        order.size = new_size

    def match(
        self,
        taker_is_bid: bool,
        limit: int,
        qty: int,
        account: int,
        stp: SelfTradePrevention,
        fills: list[tuple[Order, int]],
    ) -> tuple[int, bool]:
        """Take up to `qty` from the opposite side at prices no worse than `limit`.

        Appends, in the order they happen, (maker, size) to `fills` for each fill (a
        maker whose size is now 0 has left the book) and (order, 0) for each of the
        taker account's own resting orders that self-trade prevention took off the book.
        Returns the unfilled size and whether self-trade prevention stopped the taker.
        """
        if taker_is_bid:
            levels, keys = self.asks, self.ask_keys
        else:
            levels, keys = self.bids, self.bid_keys
        while qty and keys:
            # a negation, not a product with -1: compiled, that would take a slow path
            price = -keys[-1] if taker_is_bid else keys[-1]
            if (price > limit) if taker_is_bid else (price < limit):
                break
            level = levels[price]
            maker = level.head
            while maker is not None:
                if maker.account == account:
                    if stp is CANCEL_NEWEST:
                        return qty, True
                    nxt = maker.next
                    self.remove(maker)
                    fills.append((maker, 0))
                    if stp is CANCEL_BOTH:
                        return qty, True
                    maker = nxt
                    continue
                size = maker.size
                if size > qty:
                    maker.size = size - qty
                    level.total -= qty
                    fills.append((maker, qty))
                    return 0, False
                qty -= size
                nxt = maker.next
                self.remove(maker)
                maker.size = 0
                fills.append((maker, size))
                if not qty:
                    return 0, False
                maker = nxt
        return qty, False

    def fillable(
        self, taker_is_bid: bool, limit: int, qty: int, account: int, stp: SelfTradePrevention
    ) -> int:
        """How much of `qty` `match` would fill right now, without changing anything."""
        if taker_is_bid:
            levels, keys = self.asks, self.ask_keys
        else:
            levels, keys = self.bids, self.bid_keys
        filled = 0
        for key in reversed(keys):
            price = -key if taker_is_bid else key
            if (price > limit) if taker_is_bid else (price < limit):
                break
            maker = levels[price].head
            while maker is not None:
                if maker.account == account:
                    if stp is CANCEL_NEWEST or stp is CANCEL_BOTH:
                        return filled
                else:
                    filled += maker.size
                    if filled >= qty:
                        return qty
                maker = maker.next
        return filled

    def orders(self) -> Iterator[Order]:
        """Every resting order, bids then asks, each side best price first, FIFO."""
        for levels, keys, sign in ((self.bids, self.bid_keys, 1), (self.asks, self.ask_keys, -1)):
            for key in reversed(keys):
                order = levels[sign * key].head
                while order is not None:
                    yield order
                    order = order.next

    def depth(self, is_bid: bool, levels: int) -> list[tuple[int, int, int]]:
        """Up to `levels` best (price, total size, order count) of one side."""
        side, keys, sign = (
            (self.bids, self.bid_keys, 1) if is_bid else (self.asks, self.ask_keys, -1)
        )
        return [
            (level.price, level.total, level.count)
            for level in (side[sign * key] for key in reversed(keys[-levels:]))
        ]
