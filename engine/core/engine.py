"""The engine of one risk group: commands in, events out.

Everything that decides who trades with whom, what is reserved, and how money moves is
here or in the domain modules it calls (book, fees, perp, prediction). The engine never
reads a clock: `ts` in each command moves its time forward, and timers (GTD expiries,
market close times, funding times) fire at the first command whose time passes them.
"""

from collections.abc import Callable, Iterable
from dataclasses import replace
from heapq import heappop, heappush
from typing import Any, Final

from engine.core import invariants as invariant_checks
from engine.core import snapshot as snapshots
from engine.core.accounts import Account
from engine.core.balances import Balance
from engine.core.book import Order
from engine.core.commands import (
    AddMarket,
    AdvanceTime,
    AmendOrder,
    CancelAll,
    CancelOrder,
    CloseMarket,
    Command,
    Deposit,
    DisputeResolution,
    EliminateOutcome,
    FundInsurance,
    HaltMarket,
    OraclePrice,
    OrderType,
    Outcome,
    PlaceOrder,
    ProposeResolution,
    ResumeMarket,
    SettleMarket,
    Side,
    TimeInForce,
    TransferIn,
    TransferOut,
    UpdateMarket,
    Withdraw,
    command_from_record,
)
from engine.core.events import (
    BalanceMoved,
    DeficitCovered,
    Deleveraged,
    Event,
    Fill,
    FundingApplied,
    FundingPaid,
    Liquidated,
    MarketChanged,
    MarketConfigured,
    MarkPriceSet,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderReserveChanged,
    Payout,
    ProfitClawedBack,
    Rejected,
    ResolutionDisputed,
    ResolutionProposed,
    SetsMerged,
)
from engine.core.fees import FeeLedger, trade_fee
from engine.core.market_state import Market
from engine.core.markets import BPS, MarketConfig, MarketKind, MarketStatus
from engine.core.perp import Position, funding_payment, funding_rate_ppm, margin_at
from engine.core.prediction import Holding
from engine.core.reasons import Reason
from engine.core.reserves import unit_reserve

SPOT: Final = MarketKind.SPOT
PERP: Final = MarketKind.PERP
PREDICTION: Final = MarketKind.PREDICTION
LIVE: Final = MarketStatus.LIVE
HALTED: Final = MarketStatus.HALTED
CLOSED: Final = MarketStatus.CLOSED
SETTLED: Final = MarketStatus.SETTLED
BUY: Final = Side.BUY
LIMIT: Final = OrderType.LIMIT
MARKET_ORDER: Final = OrderType.MARKET
OUTCOME_NO: Final = Outcome.NO
GTD: Final = TimeInForce.GTD
IOC: Final = TimeInForce.IOC
FOK: Final = TimeInForce.FOK

# timer kinds, in the order timers due at the same time fire
TIMER_EXPIRY: Final = 0
TIMER_CLOSE: Final = 1
TIMER_FUNDING: Final = 2


# reason codes on hot paths, bound once (compiled, an enum member lookup is a dict lookup)
REASON_IOC_REMAINDER: Final = Reason.IOC_REMAINDER
REASON_SELF_TRADE: Final = Reason.SELF_TRADE_PREVENTED


class Engine:
    """All markets and accounts of one risk group. Apply commands with `apply`."""

    def __init__(self, risk_group: str = "", collateral: str = "USDC") -> None:
        self.risk_group = risk_group
        self.collateral = collateral
        self.markets: dict[str, Market] = {}
        # categorical market id -> the ids of its binary outcome markets
        self.categorical: dict[str, tuple[str, ...]] = {}
        self.accounts: dict[int, Account] = {}
        self.orders: dict[int, Order] = {}
        # how many open orders are reduce-only: most fills need not look for them
        self.reduce_only_open = 0
        self.next_order_id = 1
        self.now = 0
        self.timers: list[tuple[int, int, int, str]] = []
        self.request_ids: set[str] = set()
        self.inflow: dict[str, int] = {}
        self.outflow: dict[str, int] = {}
        self.insurance = 0
        self.bad_debt = 0
        self.fees = FeeLedger()
        # accounts a perp fill left below maintenance margin (a resting order filled after
        # the mark moved away from its price), or whose last position closed leaving free
        # collateral negative: dealt with by `_resolve_at_risk` before the command ends
        self.at_risk: list[Account] = []
        # while `replay` runs: the frequent events (order accepted, fill, cancel, reject)
        # are not built, since a recovery discards them (they never decide anything)
        self.replaying = False
        # the rest of the commands (see `_apply` for the frequent ones)
        self._handlers: dict[type, Callable[[Any, list[Event]], None]] = {
            CancelAll: self._cancel_all,
            Deposit: self._deposit,
            Withdraw: self._withdraw,
            TransferOut: self._transfer_out,
            TransferIn: self._transfer_in,
            FundInsurance: self._fund_insurance,
            AddMarket: self._add_market,
            UpdateMarket: self._update_market,
            HaltMarket: self._halt,
            ResumeMarket: self._resume,
            CloseMarket: self._close,
            SettleMarket: self._settle_market,
            OraclePrice: self._oracle_price,
            ProposeResolution: self._propose_resolution,
            DisputeResolution: self._dispute_resolution,
            EliminateOutcome: self._eliminate_outcome,
            AdvanceTime: self._advance_time,
        }

    # ------------------------------------------------------------------ entry points

    def apply(self, command: Command) -> list[Event]:
        events: list[Event] = []
        self._apply(command, events)
        return events

    def apply_batch(self, commands: Iterable[Command]) -> list[Event]:
        """Apply commands in order; the events of all of them, in order."""
        events: list[Event] = []
        for command in commands:
            self._apply(command, events)
        return events

    def replay(self, records: Iterable[list[Any]]) -> int:
        """Apply journal records (`command_to_record`) for their effect on the state alone,
        as a recovery does; returns how many. Their events were recorded when they were
        first applied."""
        count = 0
        events: list[Event] = []
        self.replaying = True
        try:
            for record in records:
                self._apply(command_from_record(record), events)
                if events:
                    events.clear()
                count += 1
        finally:
            self.replaying = False
        return count

    def _apply(self, command: Command, events: list[Event]) -> None:
        ts = command.ts
        if ts > self.now:
            self.now = ts
            if self.timers and self.timers[0][0] <= ts:
                self._fire_timers(events)
        # the frequent commands are dispatched directly (a compiled call), the rest by type
        if isinstance(command, PlaceOrder):
            self._place(command, events)
        elif isinstance(command, AmendOrder):
            self._amend(command, events)
        elif isinstance(command, CancelOrder):
            self._cancel(command, events)
        else:
            handler = self._handlers.get(type(command))
            if handler is None:  # the compiled build refuses it at the call already
                raise TypeError(f"not an engine command: {command!r}")
            handler(command, events)

    def state_hash(self) -> str:
        return snapshots.state_hash(self)

    def snapshot(self) -> bytes:
        return snapshots.dump(self)

    @classmethod
    def restore(cls, data: bytes) -> "Engine":
        engine = cls()
        snapshots.load_into(engine, data)
        return engine

    def check_invariants(self) -> None:
        """Raise InvariantViolation naming the first broken rule."""
        invariant_checks.check_invariants(self)

    # ------------------------------------------------------------------ orders

    def _place(self, cmd: PlaceOrder, events: list[Event]) -> None:
        order_id = cmd.order_id
        if not order_id:
            order_id = self.next_order_id
        elif order_id in self.orders:
            if not self.replaying:
                events.append(
                    Rejected(
                        "PlaceOrder",
                        Reason.DUPLICATE_ORDER_ID,
                        cmd.account,
                        cmd.market,
                        0,
                        cmd.client_order_id,
                    )
                )
            return
        if order_id >= self.next_order_id:
            self.next_order_id = order_id + 1
        market = self.markets.get(cmd.market)
        account = self.accounts.get(cmd.account)
        reason = self._order_reason(cmd, market, account)
        if reason is not None or market is None or account is None:
            if not self.replaying:
                events.append(
                    Rejected(
                        "PlaceOrder",
                        reason or Reason.UNKNOWN_MARKET,
                        cmd.account,
                        cmd.market,
                        order_id,
                        cmd.client_order_id,
                    )
                )
            return
        config = market.config
        book = market.book
        is_buy = cmd.side is BUY
        outcome_no = config.kind is PREDICTION and cmd.outcome is OUTCOME_NO
        is_bid = is_buy is not outcome_no
        if cmd.order_type is MARKET_ORDER:
            book_price = self._market_order_limit(market, is_bid)
            tif = FOK if cmd.tif is FOK else IOC
        else:
            book_price = config.payout - cmd.price if outcome_no else cmd.price
            tif = cmd.tif
        reason = self._price_reason(market, book_price, cmd.order_type is LIMIT)
        if reason is None:
            if tif is GTD and cmd.expiry_ts <= self.now:
                reason = Reason.BAD_EXPIRY
            elif cmd.post_only and book.would_cross(is_bid, book_price):
                reason = Reason.POST_ONLY_WOULD_CROSS
            elif cmd.reduce_only:
                reason = self._reduce_only_reason(market, account, is_bid, cmd.size)
            if reason is None and tif is FOK:
                fillable = book.fillable(is_bid, book_price, cmd.size, account.account_id, cmd.stp)
                if fillable < cmd.size:
                    reason = Reason.FOK_NOT_FILLABLE
        order = Order(
            order_id,
            account.account_id,
            config.market_id,
            is_bid,
            book_price,
            cmd.size,
            cmd.stp,
            cmd.client_order_id,
            cmd.expiry_ts if tif is GTD else 0,
            cmd.post_only,
            cmd.reduce_only,
            outcome_no=outcome_no,
        )
        if reason is None:
            reason = self._reserve(market, account, order, sells_held=not is_buy)
        if reason is not None:
            if not self.replaying:
                events.append(
                    Rejected(
                        "PlaceOrder", reason, cmd.account, cmd.market, order_id, cmd.client_order_id
                    )
                )
            return
        if not self.replaying:
            events.append(
                OrderAccepted(
                    order_id,
                    account.account_id,
                    config.market_id,
                    cmd.side,
                    cmd.price if cmd.order_type is LIMIT else 0,
                    cmd.size,
                    cmd.outcome if config.kind is PREDICTION else "",
                    cmd.client_order_id,
                    order.reserve.asset,
                    order.unit_reserve,
                    order.reserved_shares,
                )
            )
        self._execute(market, account, order, tif is not IOC and tif is not FOK, events)
        if self.at_risk:
            self._resolve_at_risk(self.at_risk, events)

    def _order_reason(
        self, cmd: PlaceOrder, market: Market | None, account: Account | None
    ) -> Reason | None:
        """The first rule an order breaks that depends on neither price nor book."""
        if market is None:
            return Reason.UNKNOWN_MARKET
        status = market.status
        if status is not LIVE:
            return Reason.MARKET_HALTED if status is HALTED else Reason.MARKET_CLOSED
        if account is None:
            return Reason.UNKNOWN_ACCOUNT
        config = market.config
        size = cmd.size
        if size <= 0:
            return Reason.BAD_SIZE
        if size % config.lot_size:
            return Reason.BAD_LOT
        if size < config.min_size:
            return Reason.BELOW_MIN_SIZE
        if cmd.client_order_id and cmd.client_order_id in account.client_ids:
            return Reason.DUPLICATE_CLIENT_ORDER_ID
        if cmd.reduce_only and config.kind is not PERP:
            return Reason.REDUCE_ONLY_NOT_PERP
        if config.kind is PREDICTION and cmd.outcome is Outcome.VOID:
            return Reason.BAD_OUTCOME
        if config.kind is PERP and not market.mark:
            return Reason.NO_MARK_PRICE
        if cmd.order_type is MARKET_ORDER:
            if cmd.post_only or cmd.tif is GTD:
                return Reason.BAD_PRICE
            book = market.book
            is_bid = (cmd.side is BUY) is not (
                config.kind is PREDICTION and cmd.outcome is OUTCOME_NO
            )
            if (book.best_ask() if is_bid else book.best_bid()) is None:
                return Reason.NO_LIQUIDITY
        return None

    def _price_reason(self, market: Market, book_price: int, check_band: bool) -> Reason | None:
        config = market.config
        if book_price <= 0 or (config.kind is PREDICTION and book_price >= config.payout):
            return Reason.BAD_PRICE
        if book_price % config.tick_size:
            return Reason.BAD_TICK
        band = config.price_band_bps
        if check_band and band:
            reference = market.reference_price()
            if reference and abs(book_price - reference) * BPS > reference * band:
                return Reason.PRICE_OUT_OF_BAND
        return None

    def _market_order_limit(self, market: Market, is_bid: bool) -> int:
        """A market order is an IOC limited to the protection band around the best
        opposite price, rounded to the tick toward the best price."""
        config = market.config
        book = market.book
        tick = config.tick_size
        band = config.market_order_band_bps
        if is_bid:
            best = book.best_ask() or 0
            limit = best * (BPS + band) // BPS // tick * tick
            if config.kind is PREDICTION:
                limit = min(limit, config.payout - tick)
            return limit
        best = book.best_bid() or 0
        # round the band's edge up to a whole price, then up to the tick: rounding down
        # first would let a sell fill a tick below the band
        edge = -(-best * (BPS - band) // BPS)
        limit = -(-edge // tick) * tick
        return max(limit, tick)

    def _reduce_only_reason(
        self, market: Market, account: Account, is_bid: bool, size: int, replacing: int = 0
    ) -> Reason | None:
        """A reduce-only order must be against the position and, with the account's other
        open reduce-only orders in the market (but `replacing`), no bigger than it."""
        market_id = market.config.market_id
        position = account.positions.get(market_id)
        if position is None or (position.size > 0) is is_bid:
            return Reason.REDUCE_ONLY_WOULD_INCREASE
        open_size = sum(
            order.size
            for order in account.reduce_only.values()
            if order.market == market_id and order.order_id != replacing
        )
        if size + open_size > abs(position.size):
            return Reason.REDUCE_ONLY_WOULD_INCREASE
        return None

    def _trim_reduce_only(self, market: Market, account: Account, events: list[Event]) -> None:
        """After the account's position moved, cancel its reduce-only orders that would now
        increase it, keeping the oldest that still fit."""
        if not account.reduce_only:
            return
        market_id = market.config.market_id
        position = account.positions.get(market_id)
        size = position.size if position is not None else 0
        room = abs(size)
        for order in list(account.reduce_only.values()):
            if order.market != market_id:
                continue
            if not size or (size > 0) is order.is_bid or order.size > room:
                self._drop_order(order, Reason.REDUCE_ONLY_WOULD_INCREASE, events)
            else:
                room -= order.size

    def _reserve_balance(self, config: MarketConfig, account: Account, is_bid: bool) -> Balance:
        """The balance an order's reservation sits in."""
        if config.kind is SPOT:
            return account.balance(config.quote_asset if is_bid else config.base_asset)
        return account.cash

    def _available(self, account: Account, balance: Balance, reduce_only: bool = False) -> int:
        """What an order may newly lock in `balance`. A reduce-only order frees initial
        margin as it fills, so only its own loss and fee must be covered by equity."""
        if balance is account.cash:
            if reduce_only:
                free = balance.free
                return min(free, free + account.upnl)
            return account.margin_available()
        return balance.free

    def _lack_reason(self, market: Market) -> Reason:
        return (
            Reason.INSUFFICIENT_MARGIN
            if market.config.kind is PERP
            else Reason.INSUFFICIENT_BALANCE
        )

    def _reserve(
        self, market: Market, account: Account, order: Order, sells_held: bool
    ) -> Reason | None:
        """Set the order's reservation and lock it, or say why the account cannot. A
        prediction order that sells an outcome locks the shares it holds and, for the
        rest, buys the other outcome."""
        config = market.config
        order.reserve = balance = self._reserve_balance(config, account, order.is_bid)
        order.unit_reserve = unit_reserve(
            config, market.mark, order.is_bid, order.price, order.reduce_only
        )
        holding: Holding | None = None
        shares = 0
        if sells_held and config.kind is PREDICTION:
            holding = account.holdings.get(config.market_id)
            if holding is not None:
                shares = min(holding.no if order.is_bid else holding.yes, order.size)
        amount = order.unit_reserve * (order.size - shares)
        if amount:
            if amount > self._available(account, balance, order.reduce_only):
                return self._lack_reason(market)
            balance.lock(amount)
        if holding is not None and shares:
            order.reserved_shares = shares
            if order.is_bid:
                holding.no -= shares
                holding.no_locked += shares
            else:
                holding.yes -= shares
                holding.yes_locked += shares
        return None

    def _execute(
        self,
        market: Market,
        account: Account,
        order: Order,
        rests: bool,
        events: list[Event],
        is_new: bool = True,
    ) -> None:
        """Match `order` as taker, settle its fills, then rest or cancel what is left.
        An order that is not new (an amended one) is already registered as open."""
        fills: list[tuple[Order, int]] = []
        remaining, stopped = market.book.match(
            order.is_bid, order.price, order.size, order.account, order.stp, fills
        )
        if fills:
            kind = market.config.kind
            for maker, qty in fills:
                if not qty:
                    self._drop_order(maker, REASON_SELF_TRADE, events, in_book=False)
                    continue
                if kind is PREDICTION:  # appends the Fill itself, before any merge
                    self._settle_prediction(market, maker, order, qty, events)
                else:
                    if kind is SPOT:
                        maker_fee, taker_fee = self._settle_spot(market, maker, order, qty)
                    else:
                        maker_fee, taker_fee = self._settle_perp(market, maker, order, qty)
                    if not self.replaying:
                        events.append(_fill(market, maker, order, qty, maker_fee, taker_fee))
                order.size -= qty
                market.last_price = maker.price
                if not maker.size:
                    self._forget_order(maker)
        if remaining and rests and not stopped:
            market.book.add(order)
            if is_new:
                self._register_order(account, order)
                if order.expiry_ts:
                    heappush(self.timers, (order.expiry_ts, TIMER_EXPIRY, order.order_id, ""))
        else:
            if remaining:
                if not self.replaying:
                    reason = REASON_SELF_TRADE if stopped else REASON_IOC_REMAINDER
                    events.append(
                        OrderCancelled(
                            order.order_id, order.account, order.market, order.size, reason
                        )
                    )
                self._release(account, order, events)
            if not is_new:
                self._forget_order(order)
        if fills and self.reduce_only_open and market.config.kind is PERP:
            for maker, _ in fills:
                self._trim_reduce_only(market, self.accounts[maker.account], events)
            self._trim_reduce_only(market, account, events)

    def _register_order(self, account: Account, order: Order) -> None:
        """Index an order that now rests (the book holds it already); `_forget_order`
        undoes this."""
        order_id = order.order_id
        self.orders[order_id] = order
        account.orders[order_id] = order
        if order.client_order_id:
            account.client_ids[order.client_order_id] = order_id
        if order.reduce_only:
            account.reduce_only[order_id] = order
            self.reduce_only_open += 1

    def _release(self, account: Account, order: Order, events: list[Event]) -> None:
        """Give back everything an order still holds."""
        amount = order.reserved()
        if amount:
            order.reserve.lock(-amount)
        shares = order.reserved_shares
        if shares:
            order.reserved_shares = 0
            holding = account.holdings[order.market]
            if order.is_bid:
                holding.no_locked -= shares
                holding.no += shares
            else:
                holding.yes_locked -= shares
                holding.yes += shares
            self._merge_sets(self.markets[order.market], account, holding, events)

    def _drop_order(
        self, order: Order, reason: Reason, events: list[Event], in_book: bool = True
    ) -> None:
        """Take an open order off the book and out of the account, releasing it."""
        if in_book:
            self.markets[order.market].book.remove(order)
        account = self.accounts[order.account]
        if not self.replaying:
            events.append(
                OrderCancelled(order.order_id, order.account, order.market, order.size, reason)
            )
        self._release(account, order, events)
        self._forget_order(order)

    def _forget_order(self, order: Order) -> None:
        order_id = order.order_id
        del self.orders[order_id]
        account = self.accounts[order.account]
        del account.orders[order_id]
        if order.client_order_id:
            del account.client_ids[order.client_order_id]
        if order.reduce_only:
            del account.reduce_only[order_id]
            self.reduce_only_open -= 1

    def _amend(self, cmd: AmendOrder, events: list[Event]) -> None:
        order = self.orders.get(cmd.order_id)
        account = self.accounts[order.account] if order is not None else None
        if account is None or order is None or order.account != cmd.account:
            events.append(
                Rejected("AmendOrder", Reason.UNKNOWN_ORDER, cmd.account, "", cmd.order_id)
            )
            return
        market = self.markets[order.market]
        config = market.config
        payout = config.payout
        new_size = cmd.size or order.size
        new_price = order.price
        if cmd.price:
            new_price = payout - cmd.price if order.outcome_no else cmd.price
        keeps_priority = new_price == order.price and new_size <= order.size
        unit = order.unit_reserve
        shares = min(order.reserved_shares, new_size)
        reason = None
        if market.status is not LIVE:
            reason = Reason.MARKET_HALTED if market.status is HALTED else Reason.MARKET_CLOSED
        elif new_size <= 0:
            reason = Reason.BAD_SIZE
        elif new_size % config.lot_size:
            reason = Reason.BAD_LOT
        elif new_size < config.min_size:
            reason = Reason.BELOW_MIN_SIZE
        elif not keeps_priority:
            reason = self._price_reason(market, new_price, True)
            if reason is None and order.post_only:
                if market.book.would_cross(order.is_bid, new_price):
                    reason = Reason.POST_ONLY_WOULD_CROSS
            if reason is None and order.reduce_only:
                reason = self._reduce_only_reason(
                    market, account, order.is_bid, new_size, replacing=order.order_id
                )
            if reason is None:
                unit = unit_reserve(config, market.mark, order.is_bid, new_price, order.reduce_only)
                extra = unit * (new_size - shares) - order.reserved()
                if extra > 0 and extra > self._available(account, order.reserve, order.reduce_only):
                    reason = self._lack_reason(market)
        if reason is not None:
            events.append(
                Rejected(
                    "AmendOrder",
                    reason,
                    cmd.account,
                    order.market,
                    cmd.order_id,
                    order.client_order_id,
                )
            )
            return
        trader_price = payout - new_price if order.outcome_no else new_price
        amended = OrderAmended(
            order.order_id,
            order.account,
            order.market,
            trader_price,
            new_size,
            keeps_priority,
            unit,
            shares,
        )
        events.append(amended)
        self._resize_reservation(account, order, unit, shares, new_size, events)
        if keeps_priority:
            market.book.reduce(order, new_size)
            return
        market.book.remove(order)
        order.price, order.size = new_price, new_size
        self._execute(market, account, order, True, events, is_new=False)
        if self.at_risk:
            self._resolve_at_risk(self.at_risk, events)

    def _resize_reservation(
        self,
        account: Account,
        order: Order,
        unit: int,
        shares: int,
        size: int,
        events: list[Event],
    ) -> None:
        """Move the order's locks to `unit` per unit of `size` not covered by `shares`;
        the caller then sets the order's size."""
        delta = unit * (size - shares) - order.reserved()
        if delta:
            order.reserve.lock(delta)
        freed_shares = order.reserved_shares - shares
        if freed_shares:
            holding = account.holdings[order.market]
            if order.is_bid:
                holding.no_locked -= freed_shares
                holding.no += freed_shares
            else:
                holding.yes_locked -= freed_shares
                holding.yes += freed_shares
            self._merge_sets(self.markets[order.market], account, holding, events)
        order.unit_reserve = unit
        order.reserved_shares = shares

    def _cancel(self, cmd: CancelOrder, events: list[Event]) -> None:
        order_id = cmd.order_id
        if not order_id:
            account = self.accounts.get(cmd.account)
            if account is not None:
                order_id = account.client_ids.get(cmd.client_order_id, 0)
        order = self.orders.get(order_id)
        if order is None or order.account != cmd.account:
            if not self.replaying:
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
        self._drop_order(order, Reason.CANCELLED_BY_TRADER, events)

    def _cancel_all(self, cmd: CancelAll, events: list[Event]) -> None:
        account = self.accounts.get(cmd.account)
        if account is None:
            events.append(Rejected("CancelAll", Reason.UNKNOWN_ACCOUNT, cmd.account, cmd.market))
            return
        targets = self._market_ids(cmd.market) if cmd.market else None
        if cmd.market and targets is None:
            events.append(Rejected("CancelAll", Reason.UNKNOWN_MARKET, cmd.account, cmd.market))
            return
        # account.orders holds open orders in the order they were placed: oldest first
        for order in list(account.orders.values()):
            if targets is None or order.market in targets:
                self._drop_order(order, Reason.CANCELLED_BY_TRADER, events)

    # ------------------------------------------------------------------ settlement of fills

    def _release_fill(self, order: Order, qty: int) -> int:
        """Unlock what `qty` of a filling order held; return how many of them were
        covered by reserved shares (which the fill consumes)."""
        shares = order.reserved_shares
        used = 0
        if shares:
            used = qty if qty < shares else shares
            order.reserved_shares = shares - used
        amount = order.unit_reserve * (qty - used)
        if amount:
            order.reserve.lock(-amount)
        return used

    def _settle_spot(self, market: Market, maker: Order, taker: Order, qty: int) -> tuple[int, int]:
        config = market.config
        price = maker.price
        notional = price * qty
        maker_fee = trade_fee(notional, config.maker_fee_bps)
        taker_fee = trade_fee(notional, config.taker_fee_bps)
        if maker.is_bid:
            buy, sell, buy_fee, sell_fee = maker, taker, maker_fee, taker_fee
        else:
            buy, sell, buy_fee, sell_fee = taker, maker, taker_fee, maker_fee
        quote, base = config.quote_asset, config.base_asset
        # the buy reserved quote and the sell base: those balances are the orders'
        self._release_fill(buy, qty)
        buy.reserve.free -= notional + buy_fee
        buyer = self.accounts[buy.account]
        buyer.balance(base).free += qty
        if buyer.positions and buyer.equity() < buyer.mm:
            # the collateral it locked backed its positions too: now it is spent
            self.at_risk.append(buyer)
        sell.reserve.locked -= qty
        self.accounts[sell.account].balance(quote).free += notional - sell_fee
        market.fees.collect(maker_fee + taker_fee, config.deployer_share_bps)
        return maker_fee, taker_fee

    def _settle_perp(self, market: Market, maker: Order, taker: Order, qty: int) -> tuple[int, int]:
        config = market.config
        price = maker.price
        notional = price * qty
        maker_fee = trade_fee(notional, config.maker_fee_bps)
        taker_fee = trade_fee(notional, config.taker_fee_bps)
        self._perp_fill(market, maker, qty, price, maker_fee)
        self._perp_fill(market, taker, qty, price, taker_fee)
        market.fees.collect(maker_fee + taker_fee, config.deployer_share_bps)
        return maker_fee, taker_fee

    def _perp_fill(self, market: Market, order: Order, qty: int, price: int, fee: int) -> None:
        account = self.accounts[order.account]
        self._release_fill(order, qty)
        position = self._position(market, account)
        realised = position.apply_fill(qty if order.is_bid else -qty, price)
        account.cash.free += realised - fee
        market.pool -= realised
        self._refresh_position(market, account, position)
        if account.positions and account.equity() < account.mm:
            self.at_risk.append(account)

    def _settle_prediction(
        self, market: Market, maker: Order, taker: Order, qty: int, events: list[Event]
    ) -> None:
        config = market.config
        payout = config.payout
        price = maker.price
        bid, ask = (maker, taker) if maker.is_bid else (taker, maker)
        maker_bps, taker_bps = config.maker_fee_bps, config.taker_fee_bps
        # each side pays its fee on the notional of the outcome its order trades
        bid_price = payout - price if bid.outcome_no else price
        ask_price = payout - price if ask.outcome_no else price
        bid_fee = trade_fee(bid_price * qty, maker_bps if bid is maker else taker_bps)
        ask_fee = trade_fee(ask_price * qty, maker_bps if ask is maker else taker_bps)
        bidder = self.accounts[bid.account]
        asker = self.accounts[ask.account]
        # the bid buys YES for `price` or sells NO shares for payout - price
        sold = self._release_fill(bid, qty)
        holding = self._holding(market, bidder)
        holding.no_locked -= sold
        holding.yes += qty - sold
        bidder.cash.free += (payout - price) * sold - price * (qty - sold) - bid_fee
        minted = qty - sold
        # the ask sells YES shares for `price` or buys NO for payout - price
        sold = self._release_fill(ask, qty)
        holding_ask = self._holding(market, asker)
        holding_ask.yes_locked -= sold
        holding_ask.no += qty - sold
        asker.cash.free += price * sold - (payout - price) * (qty - sold) - ask_fee
        if minted >= sold:
            market.escrow += payout * (minted - sold)
        else:
            market.escrow -= payout * (sold - minted)
        market.fees.collect(bid_fee + ask_fee, config.deployer_share_bps)
        if not self.replaying:
            maker_fee, taker_fee = (bid_fee, ask_fee) if maker is bid else (ask_fee, bid_fee)
            events.append(_fill(market, maker, taker, qty, maker_fee, taker_fee))
        if holding.yes and holding.no:
            self._merge_sets(market, bidder, holding, events)
        if holding_ask.yes and holding_ask.no:
            self._merge_sets(market, asker, holding_ask, events)
        # collateral locked by the orders backed the sides' perp positions too, and is
        # now spent on shares
        if bidder.positions and bidder.equity() < bidder.mm:
            self.at_risk.append(bidder)
        if asker.positions and asker.equity() < asker.mm:
            self.at_risk.append(asker)

    def _holding(self, market: Market, account: Account) -> Holding:
        # looked up by market id: an int key would be boxed for every lookup
        market_id = market.config.market_id
        holding = account.holdings.get(market_id)
        if holding is None:
            holding = account.holdings[market_id] = Holding()
            market.holders[account.account_id] = holding
        return holding

    def _merge_sets(
        self, market: Market, account: Account, holding: Holding, events: list[Event]
    ) -> None:
        """A YES and a NO share of the same market are worth exactly one payout:
        holding both turns them back into collateral."""
        sets = min(holding.yes, holding.no)
        if sets:
            holding.yes -= sets
            holding.no -= sets
            amount = sets * market.config.payout
            market.escrow -= amount
            account.cash.free += amount
            events.append(SetsMerged(account.account_id, market.config.market_id, sets, amount))

    # ------------------------------------------------------------------ perps

    def _position(self, market: Market, account: Account) -> Position:
        market_id = market.config.market_id
        position = account.positions.get(market_id)
        if position is None:
            position = account.positions[market_id] = Position(account.account_id, market_id)
            market.positions[account.account_id] = position
        return position

    def _refresh_position(self, market: Market, account: Account, position: Position) -> None:
        """Re-cache the position's PnL and margins at mark into the account's totals."""
        mark = market.mark
        size = position.size
        # non-negative factors: see engine.core.perp
        notional = size * mark if size >= 0 else -size * mark
        upnl = (notional if size >= 0 else -notional) - position.entry
        im, mm = margin_at(notional, market.config.margin_tiers)
        account.upnl += upnl - position.upnl
        account.im += im - position.im
        account.mm += mm - position.mm
        position.upnl = upnl
        position.im = im
        position.mm = mm
        if not size:
            del account.positions[position.market]
            del market.positions[position.account]
            if not account.positions and account.cash.free < 0:
                self.at_risk.append(account)

    def _oracle_price(self, cmd: OraclePrice, events: list[Event]) -> None:
        market = self.markets.get(cmd.market)
        reason = None
        if market is None or market.config.kind is not PERP:
            reason = Reason.UNKNOWN_MARKET
        elif market.status is SETTLED:
            reason = Reason.BAD_MARKET_STATE
        elif cmd.price <= 0:
            reason = Reason.BAD_PRICE
        if reason is not None or market is None:
            events.append(Rejected("OraclePrice", reason or Reason.UNKNOWN_MARKET, 0, cmd.market))
            return
        market.mark = cmd.price
        events.append(MarkPriceSet(cmd.market, cmd.price))
        accounts = self.accounts
        # a mark moves only this market's positions, so each account can be judged as
        # soon as its position here is re-marked
        at_risk: list[Account] = []
        for account_id, position in market.positions.items():
            account = accounts[account_id]
            self._refresh_position(market, account, position)
            if account.equity() < account.mm:
                at_risk.append(account)
        if at_risk:
            self._resolve_at_risk(at_risk, events)

    def _resolve_at_risk(self, candidates: list[Account], events: list[Event]) -> None:
        """Bring the candidates back within the rule written on `Account`, lowest account
        id first: liquidate one with positions whose equity is below its maintenance
        margin, and have one without positions whose free collateral is negative pay from
        the orders that lock it (`_pay_from_orders`). Then the same for every account
        this left at risk (makers that filled a liquidation's orders, counterparties
        deleveraged or clawed back: all hold positions in the markets it touched, or just
        closed their last one there), until none is. A liquidation removes an account's
        positions and only consumes resting orders, so this ends."""
        pending = sorted({account.account_id for account in candidates})
        self.at_risk = []
        while pending:
            markets: set[str] = set()
            for account_id in pending:
                account = self.accounts[account_id]
                if account.positions:
                    if account.equity() < account.mm:
                        markets.update(account.positions)
                        self._liquidate(account, events)
                elif account.cash.free < 0:
                    self._pay_from_orders(account, events)
            below = {account.account_id for account in self.at_risk}
            self.at_risk = []
            for market_id in markets:
                for account_id in self.markets[market_id].positions:
                    account = self.accounts[account_id]
                    if account.equity() < account.mm:
                        below.add(account_id)
            pending = sorted(below)

    def _pay_from_orders(self, account: Account, events: list[Event]) -> None:
        """An account without positions whose free collateral went negative (its last
        position closed at a loss while its orders locked collateral) pays from those
        orders: they are cancelled, oldest first, until it is no longer negative; what is
        still missing is covered by `_cover_deficit`."""
        cash = account.cash
        for order in list(account.orders.values()):
            if cash.free >= 0:
                break
            if order.reserve is cash:
                self._drop_order(order, Reason.LIQUIDATION, events)
        self._cover_deficit(account, [], events)

    def _accounts_below_maintenance(self, market: Market) -> list[Account]:
        accounts = [self.accounts[account_id] for account_id in market.positions]
        return [account for account in accounts if account.equity() < account.mm]

    def _apply_funding(self, market: Market, events: list[Event]) -> None:
        """Funding at one funding time: the premium of the book's mid over the index,
        capped, on each position's notional at mark. Nothing is paid while either side
        of the book is empty; funding times that pass within one command's step of time
        are paid once. Accounts that paying it leaves below maintenance are liquidated."""
        config = market.config
        book = market.book
        best_bid, best_ask = book.best_bid(), book.best_ask()
        mark = market.mark
        if not mark or best_bid is None or best_ask is None or not market.positions:
            return
        rate = funding_rate_ppm((best_bid + best_ask) // 2, mark, config.funding_cap_ppm)
        if not rate:
            return
        paid = received = 0
        market_id = config.market_id
        for account_id, position in market.positions.items():
            amount = funding_payment(position.size, mark, rate)
            if not amount:
                continue
            account = self.accounts[account_id]
            account.cash.free -= amount
            position.funding -= amount
            events.append(FundingPaid(account_id, market_id, amount))
            if amount > 0:
                paid += amount
            else:
                received -= amount
        # payers round up and receivers toward zero: the difference goes to the fund
        self.insurance += paid - received
        events.append(FundingApplied(market_id, rate, mark, paid, received))
        at_risk = self._accounts_below_maintenance(market)
        if at_risk:
            self._resolve_at_risk(at_risk, events)

    def _liquidate(self, account: Account, events: list[Event]) -> None:
        """Close an account whose equity fell below maintenance margin.

        Its orders are cancelled and each position is closed into the book within the
        market's band around mark. What the book cannot take is deleveraged against the
        most profitable opposite positions (`_deleverage`): at mark, or, when the account
        could not pay closing everything at mark and the insurance fund cannot cover
        that, at a price that makes the counterparties give up part of their profit on
        what they close. The liquidation fee (what is left of it after the losses) goes to
        the insurance fund, and a negative balance left is covered by `_cover_deficit`.
        """
        equity, maintenance = account.equity(), account.mm
        for order in list(account.orders.values()):
            self._drop_order(order, Reason.LIQUIDATION, events)
        fee = 0
        touched = sorted(account.positions)
        for market_id in touched:
            market = self.markets[market_id]
            position = account.positions[market_id]
            config = market.config
            size = position.size
            band = config.price_band_bps or config.market_order_band_bps
            mark = market.mark
            is_bid = size < 0
            limit = mark * (BPS + band) // BPS if is_bid else -(-mark * (BPS - band) // BPS)
            before = abs(size)
            if market.status is LIVE:  # a halted or closed book takes no liquidation
                taker = Order(0, account.account_id, market_id, is_bid, limit, before)
                taker.reserve = account.cash
                self._execute(market, account, taker, False, events)
            closed = before - abs(position.size)
            fee += closed * mark * config.liquidation_fee_bps // BPS
        # what closing the rest at mark would leave unpaid, beyond the insurance fund
        shortfall = -(account.cash.free + account.upnl) - self.insurance
        for market_id in touched:
            left = account.positions.get(market_id)
            if left is not None:
                shortfall = self._deleverage(
                    self.markets[market_id], account, left, shortfall, events
                )
        fee = min(fee, max(account.cash.free, 0))
        account.cash.free -= fee
        self.insurance += fee
        events.append(Liquidated(account.account_id, equity, maintenance, fee))
        self._cover_deficit(account, touched, events)

    def _adl_ranking(self, market: Market, long_side: bool, exclude: int) -> list[Position]:
        """Positions on one side, most profitable first (ties: lower account id)."""
        candidates = [
            position
            for account_id, position in market.positions.items()
            if account_id != exclude and (position.size > 0) is long_side
        ]
        candidates.sort(key=lambda position: (-position.upnl, position.account))
        return candidates

    def _deleverage(
        self,
        market: Market,
        account: Account,
        position: Position,
        shortfall: int,
        events: list[Event],
    ) -> int:
        """Close what is left of `position` against the most profitable opposite
        positions, each at its own price: mark, moved against the counterparty by up to
        `shortfall` over the size it closes, but never by more than its profit on that
        size at mark or than its account's equity. Nobody is pushed below zero, and a
        market that did not move gives up nothing its positions did not earn. Returns the
        shortfall left."""
        mark = market.mark
        market_id = market.config.market_id
        selling = position.size > 0
        for other in self._adl_ranking(market, not selling, account.account_id):
            if not position.size:
                break
            qty = min(abs(position.size), abs(other.size))
            counterparty = self.accounts[other.account]
            unit = 0
            if shortfall > 0:
                profit = other.upnl * qty // abs(other.size)
                bound = min(profit, counterparty.equity())
                if bound > 0:
                    unit = min(-(-shortfall // qty), bound // qty)
                    if not selling:
                        unit = min(unit, mark - 1)
                    shortfall -= unit * qty
            price = mark + unit if selling else mark - unit
            signed = -qty if selling else qty
            for acct, pos, trade in ((account, position, signed), (counterparty, other, -signed)):
                realised = pos.apply_fill(trade, price)
                acct.cash.free += realised
                market.pool -= realised
                self._refresh_position(market, acct, pos)
            events.append(Deleveraged(account.account_id, other.account, market_id, -signed, price))
            self._trim_reduce_only(market, counterparty, events)
        return shortfall

    def _cover_deficit(self, account: Account, market_ids: list[str], events: list[Event]) -> None:
        """Bring a negative collateral balance of an account without positions back to 0:
        first from the insurance fund, then from the unrealised profit of the most
        profitable positions in `market_ids` (raising their entry: auto-deleveraging of
        profit, never taking more than their account's equity), and what is left is bad
        debt. Emits the `ProfitClawedBack` and a `DeficitCovered`."""
        free = account.cash.free
        if free >= 0 or account.positions:
            return
        deficit = -free
        used = min(deficit, self.insurance)
        self.insurance -= used
        deficit -= used
        clawed = 0
        for market_id in market_ids:
            market = self.markets[market_id]
            ranked = self._adl_ranking(market, True, 0) + self._adl_ranking(market, False, 0)
            ranked.sort(key=lambda position: (-position.upnl, position.account))
            for other in ranked:
                if not deficit or other.upnl <= 0:
                    break
                holder = self.accounts[other.account]
                take = min(deficit, other.upnl, holder.equity())
                if take <= 0:
                    continue
                other.entry += take
                market.pool -= take
                self._refresh_position(market, holder, other)
                deficit -= take
                clawed += take
                events.append(ProfitClawedBack(other.account, market_id, take))
        self.bad_debt += deficit
        account.cash.free = 0
        events.append(DeficitCovered(account.account_id, used, clawed, deficit))

    # ------------------------------------------------------------------ money in and out

    def _deposit(self, cmd: Deposit, events: list[Event]) -> None:
        self._money_in(
            "Deposit", "deposit", cmd.account, cmd.asset, cmd.amount, cmd.external_id, events
        )

    def _transfer_in(self, cmd: TransferIn, events: list[Event]) -> None:
        self._money_in(
            "TransferIn",
            "transfer_in",
            cmd.account,
            cmd.asset,
            cmd.amount,
            cmd.transfer_id,
            events,
        )

    def _withdraw(self, cmd: Withdraw, events: list[Event]) -> None:
        self._money_out(
            "Withdraw", "withdraw", cmd.account, cmd.asset, cmd.amount, cmd.external_id, events
        )

    def _transfer_out(self, cmd: TransferOut, events: list[Event]) -> None:
        self._money_out(
            "TransferOut",
            "transfer_out",
            cmd.account,
            cmd.asset,
            cmd.amount,
            cmd.transfer_id,
            events,
        )

    def _fund_insurance(self, cmd: FundInsurance, events: list[Event]) -> None:
        collateral = self.collateral
        reason = self._request_reason("insurance", cmd.external_id, collateral, cmd.amount)
        if reason is not None:
            events.append(Rejected("FundInsurance", reason))
            return
        self.request_ids.add("insurance:" + cmd.external_id)
        self.insurance += cmd.amount
        self.inflow[collateral] = self.inflow.get(collateral, 0) + cmd.amount
        events.append(BalanceMoved("insurance", 0, collateral, cmd.amount, cmd.external_id))

    def _money_in(
        self,
        command: str,
        kind: str,
        account_id: int,
        asset: str,
        amount: int,
        reference: str,
        events: list[Event],
    ) -> None:
        """Credit a deposit or an incoming transfer, once per reference."""
        reason = self._request_reason(kind, reference, asset, amount)
        if reason is not None:
            events.append(Rejected(command, reason, account_id))
            return
        self.request_ids.add(f"{kind}:{reference}")
        self._account(account_id).balance(asset).free += amount
        self.inflow[asset] = self.inflow.get(asset, 0) + amount
        events.append(BalanceMoved(kind, account_id, asset, amount, reference))

    def _money_out(
        self,
        command: str,
        kind: str,
        account_id: int,
        asset: str,
        amount: int,
        reference: str,
        events: list[Event],
    ) -> None:
        """Debit a withdrawal or an outgoing transfer from what the account may take out
        (for collateral: free cash the positions' margin does not need), once per
        reference."""
        reason = self._request_reason(kind, reference, asset, amount)
        account = self.accounts.get(account_id)
        balance = account.balances.get(asset) if account is not None else None
        if reason is None:
            if account is None:
                reason = Reason.UNKNOWN_ACCOUNT
            elif balance is None or amount > self._available(account, balance):
                reason = Reason.INSUFFICIENT_BALANCE
        if reason is not None or balance is None:
            events.append(Rejected(command, reason or Reason.INSUFFICIENT_BALANCE, account_id))
            return
        self.request_ids.add(f"{kind}:{reference}")
        balance.free -= amount
        self.outflow[asset] = self.outflow.get(asset, 0) + amount
        events.append(BalanceMoved(kind, account_id, asset, -amount, reference))

    def _request_reason(self, kind: str, reference: str, asset: str, amount: int) -> Reason | None:
        """Why a money movement is malformed or already done, or None."""
        if amount <= 0 or not asset:
            return Reason.BAD_AMOUNT
        if f"{kind}:{reference}" in self.request_ids:
            is_transfer = kind.startswith("transfer")
            return Reason.DUPLICATE_TRANSFER_ID if is_transfer else Reason.DUPLICATE_EXTERNAL_ID
        return None

    def _account(self, account_id: int) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            account = self.accounts[account_id] = Account(account_id, self.collateral)
        return account

    # ------------------------------------------------------------------ market control

    def _market_ids(self, market_id: str) -> list[str] | None:
        """The binary markets a market id names: itself, or a categorical's outcomes that
        are still open (all of them once none is: the whole market settled)."""
        children = self.categorical.get(market_id)
        if children is not None:
            markets = self.markets
            open_ = [child for child in children if markets[child].status is not SETTLED]
            return open_ or list(children)
        return [market_id] if market_id in self.markets else None

    def _add_market(self, cmd: AddMarket, events: list[Event]) -> None:
        config = cmd.config
        reason = config.validate()
        if reason is None and config.kind is not SPOT and config.quote_asset != self.collateral:
            reason = Reason.BAD_MARKET_CONFIG
        if reason is None and self._market_ids(config.market_id) is not None:
            reason = Reason.MARKET_EXISTS
        if reason is not None:
            events.append(Rejected("AddMarket", reason, 0, config.market_id))
            return
        if config.outcomes:
            children = tuple(f"{config.market_id}:{name}" for name in config.outcomes)
            self.categorical[config.market_id] = children
            for child_id in children:
                self._open_market(_binary_of(config, child_id))
        else:
            self._open_market(config)
        events.append(MarketConfigured(config.market_id, config))
        events.append(MarketChanged(config.market_id, "added", str(LIVE)))

    def _open_market(self, config: MarketConfig) -> None:
        fees = self.fees.of(config.market_id, config.quote_asset)
        market = self.markets[config.market_id] = Market(config, fees)
        if config.kind is PERP:
            interval = config.funding_interval_ms
            market.next_funding_ts = (self.now // interval + 1) * interval
            heappush(self.timers, (market.next_funding_ts, TIMER_FUNDING, 0, config.market_id))
        if config.kind is PREDICTION and config.close_ts:
            heappush(self.timers, (config.close_ts, TIMER_CLOSE, 0, config.market_id))

    def _update_market(self, cmd: UpdateMarket, events: list[Event]) -> None:
        config = cmd.config
        market_ids = self._market_ids(config.market_id)
        reason = config.validate()
        if market_ids is None:
            reason = Reason.UNKNOWN_MARKET
        elif reason is None:
            current = self.markets[market_ids[0]].config
            if (
                current.kind is not config.kind
                or current.quote_asset != config.quote_asset
                or current.base_asset != config.base_asset
                or current.payout != config.payout
                or tuple(config.outcomes) != tuple(self._outcomes_of(config.market_id))
            ):
                reason = Reason.BAD_MARKET_CONFIG
        if reason is not None or market_ids is None:
            events.append(
                Rejected("UpdateMarket", reason or Reason.UNKNOWN_MARKET, 0, config.market_id)
            )
            return
        events.append(MarketConfigured(config.market_id, config))
        events.append(
            MarketChanged(config.market_id, "updated", str(self.markets[market_ids[0]].status))
        )
        at_risk: list[Account] = []
        for market_id in market_ids:
            market = self.markets[market_id]
            new = _binary_of(config, market_id) if config.outcomes else config
            if new.close_ts != market.config.close_ts and new.close_ts:
                heappush(self.timers, (new.close_ts, TIMER_CLOSE, 0, market_id))
            market.config = new
            self._reprice_market(market, events)
            if new.kind is PERP:
                at_risk += self._accounts_below_maintenance(market)
        if at_risk:
            self._resolve_at_risk(at_risk, events)

    def _reprice_market(self, market: Market, events: list[Event]) -> None:
        """After a market's rules changed: re-cache its positions' margins at the new
        tiers, and re-reserve its resting orders at the new fees and margin (an order
        its account can no longer back is cancelled)."""
        for account_id, position in market.positions.items():
            self._refresh_position(market, self.accounts[account_id], position)
        market_id = market.config.market_id
        for order in list(market.book.orders()):
            unit = unit_reserve(
                market.config, market.mark, order.is_bid, order.price, order.reduce_only
            )
            if unit == order.unit_reserve:
                continue
            account = self.accounts[order.account]
            extra = unit * (order.size - order.reserved_shares) - order.reserved()
            if extra > 0 and extra > self._available(account, order.reserve, order.reduce_only):
                self._drop_order(order, self._lack_reason(market), events)
                continue
            order.reserve.lock(extra)
            order.unit_reserve = unit
            events.append(OrderReserveChanged(order.order_id, order.account, market_id, unit))

    def _outcomes_of(self, market_id: str) -> tuple[str, ...]:
        children = self.categorical.get(market_id, ())
        return tuple(child.split(":", 1)[1] for child in children)

    def _change_status(
        self,
        command: str,
        market_id: str,
        allowed_from: tuple[MarketStatus, ...],
        to: MarketStatus,
        events: list[Event],
    ) -> list[Market] | None:
        market_ids = self._market_ids(market_id)
        if market_ids is None:
            events.append(Rejected(command, Reason.UNKNOWN_MARKET, 0, market_id))
            return None
        markets = [self.markets[child] for child in market_ids]
        if any(market.status not in allowed_from for market in markets):
            events.append(Rejected(command, Reason.BAD_MARKET_STATE, 0, market_id))
            return None
        for market in markets:
            market.status = to
        events.append(MarketChanged(market_id, command, str(to)))
        return markets

    def _halt(self, cmd: HaltMarket, events: list[Event]) -> None:
        self._change_status("halt", cmd.market, (LIVE,), HALTED, events)

    def _resume(self, cmd: ResumeMarket, events: list[Event]) -> None:
        self._change_status("resume", cmd.market, (HALTED,), LIVE, events)

    def _close(self, cmd: CloseMarket, events: list[Event]) -> None:
        markets = self._change_status("close", cmd.market, (LIVE, HALTED), CLOSED, events)
        for market in markets or ():
            self._stop_trading(market, events)

    def _stop_trading(self, market: Market, events: list[Event]) -> None:
        for order in list(market.book.orders()):
            self._drop_order(order, Reason.MARKET_STOPPED, events)

    def _settle_market(self, cmd: SettleMarket, events: list[Event]) -> None:
        market_ids = self._market_ids(cmd.market)
        if market_ids is None:
            events.append(Rejected("SettleMarket", Reason.UNKNOWN_MARKET, 0, cmd.market))
            return
        markets = [self.markets[market_id] for market_id in market_ids]
        first = markets[0]
        reason = None
        if any(market.status is not CLOSED for market in markets):
            reason = Reason.BAD_MARKET_STATE
        elif first.config.kind is PREDICTION:
            if not first.resolution:
                reason = Reason.RESOLUTION_NOT_PROPOSED
            elif self.now < first.resolution_ts + first.config.dispute_window_ms:
                reason = Reason.DISPUTE_WINDOW_OPEN
        elif first.config.kind is PERP and cmd.price <= 0:
            reason = Reason.BAD_PRICE
        if reason is not None:
            events.append(Rejected("SettleMarket", reason, 0, cmd.market))
            return
        for market in markets:
            if market.config.kind is PERP:
                self._settle_perp_market(market, cmd.price, events)
            elif market.config.kind is PREDICTION:
                self._pay_out(market, events)
            market.status = SETTLED
        events.append(MarketChanged(cmd.market, "settle", str(SETTLED)))

    def _settle_perp_market(self, market: Market, price: int, events: list[Event]) -> None:
        """Close every position at the settlement price. An account this leaves without
        positions and with negative free collateral pays from the orders that lock it
        (`_pay_from_orders`); one with positions elsewhere is liquidated if it is now
        below maintenance."""
        market.mark = price
        market_id = market.config.market_id
        settled: list[Account] = []
        for account_id, position in list(market.positions.items()):
            account = self.accounts[account_id]
            realised = position.apply_fill(-position.size, price)
            account.cash.free += realised
            market.pool -= realised
            self._refresh_position(market, account, position)
            events.append(Payout(account_id, market_id, realised))
            settled.append(account)
        at_risk = self.at_risk + [
            account for account in settled if account.positions and account.equity() < account.mm
        ]
        if at_risk:
            self._resolve_at_risk(at_risk, events)

    def _pay_out(self, market: Market, events: list[Event]) -> None:
        """Pay one payout per winning share; a void market pays half per share."""
        payout = market.config.payout
        resolution = market.resolution
        market_id = market.config.market_id
        for account_id, holding in list(market.holders.items()):
            yes = holding.yes + holding.yes_locked
            no = holding.no + holding.no_locked
            if resolution == Outcome.YES:
                amount = yes * payout
            elif resolution == Outcome.NO:
                amount = no * payout
            else:
                amount = (yes + no) * (payout // 2)
            market.escrow -= amount
            account = self.accounts[account_id]
            account.cash.free += amount
            del market.holders[account_id]
            del account.holdings[market_id]
            events.append(Payout(account_id, market_id, amount))

    def _propose_resolution(self, cmd: ProposeResolution, events: list[Event]) -> None:
        market_ids = self._market_ids(cmd.market)
        reason = None
        if market_ids is None:
            reason = Reason.UNKNOWN_MARKET
        else:
            markets = [self.markets[market_id] for market_id in market_ids]
            if markets[0].config.kind is not PREDICTION:
                reason = Reason.BAD_MARKET_STATE
            elif any(market.status is not CLOSED for market in markets):
                reason = Reason.BAD_MARKET_STATE
            elif cmd.market in self.categorical:
                # an eliminated outcome cannot win; void pays the outcomes still open
                if cmd.outcome != Outcome.VOID and f"{cmd.market}:{cmd.outcome}" not in market_ids:
                    reason = Reason.BAD_OUTCOME
            elif cmd.outcome not in (Outcome.YES, Outcome.NO, Outcome.VOID):
                reason = Reason.BAD_OUTCOME
        if reason is not None or market_ids is None:
            events.append(
                Rejected("ProposeResolution", reason or Reason.UNKNOWN_MARKET, 0, cmd.market)
            )
            return
        window = self.markets[market_ids[0]].config.dispute_window_ms
        # `resolution_ts` is when the dispute window opened: a final outcome's window has
        # already passed
        opened = self.now - window if cmd.final else self.now
        for market_id in market_ids:
            market = self.markets[market_id]
            if cmd.market in self.categorical and cmd.outcome != Outcome.VOID:
                won = market_id == f"{cmd.market}:{cmd.outcome}"
                market.resolution = Outcome.YES if won else Outcome.NO
            else:
                market.resolution = cmd.outcome
            market.resolution_ts = opened
        events.append(ResolutionProposed(cmd.market, cmd.outcome, opened + window))

    def _eliminate_outcome(self, cmd: EliminateOutcome, events: list[Event]) -> None:
        market_ids = self._market_ids(cmd.market)
        market_id = f"{cmd.market}:{cmd.outcome}"
        reason = None
        if market_ids is None:
            reason = Reason.UNKNOWN_MARKET
        elif cmd.market not in self.categorical or cmd.outcome not in self._outcomes_of(cmd.market):
            reason = Reason.BAD_OUTCOME
        elif market_id not in market_ids or self.markets[market_id].resolution:
            # already eliminated or settled, or the market's outcome is proposed
            reason = Reason.BAD_MARKET_STATE
        elif len(market_ids) < 2:
            # the last outcome left is the winner
            reason = Reason.BAD_OUTCOME
        if reason is not None:
            events.append(Rejected("EliminateOutcome", reason, 0, cmd.market))
            return
        market = self.markets[market_id]
        self._stop_trading(market, events)
        market.resolution = Outcome.NO
        market.resolution_ts = self.now
        self._pay_out(market, events)
        market.status = SETTLED
        events.append(MarketChanged(market_id, "eliminate", str(SETTLED)))

    def _dispute_resolution(self, cmd: DisputeResolution, events: list[Event]) -> None:
        market_ids = self._market_ids(cmd.market)
        reason = None
        if market_ids is None:
            reason = Reason.UNKNOWN_MARKET
        else:
            first = self.markets[market_ids[0]]
            if not first.resolution or first.status is not CLOSED:
                reason = Reason.RESOLUTION_NOT_PROPOSED
            elif self.now >= first.resolution_ts + first.config.dispute_window_ms:
                reason = Reason.DISPUTE_WINDOW_OVER
        if reason is not None or market_ids is None:
            events.append(
                Rejected("DisputeResolution", reason or Reason.UNKNOWN_MARKET, 0, cmd.market)
            )
            return
        outcome = ""
        for market_id in market_ids:
            market = self.markets[market_id]
            outcome = market.resolution
            market.resolution = ""
            market.resolution_ts = 0
        events.append(ResolutionDisputed(cmd.market, outcome))

    # ------------------------------------------------------------------ time

    def _advance_time(self, cmd: AdvanceTime, events: list[Event]) -> None:
        """Time already moved in `apply`; nothing else to do."""

    def _fire_timers(self, events: list[Event]) -> None:
        timers = self.timers
        now = self.now
        while timers and timers[0][0] <= now:
            due, kind, order_id, market_id = heappop(timers)
            if kind == TIMER_EXPIRY:
                order = self.orders.get(order_id)
                if order is not None and order.expiry_ts == due:
                    self._drop_order(order, Reason.EXPIRED, events)
            elif kind == TIMER_CLOSE:
                market = self.markets[market_id]
                if market.config.close_ts == due and market.status in (LIVE, HALTED):
                    market.status = CLOSED
                    self._stop_trading(market, events)
                    events.append(MarketChanged(market_id, "close", str(CLOSED)))
            else:
                market = self.markets[market_id]
                if market.next_funding_ts == due and market.status is not SETTLED:
                    self._apply_funding(market, events)
                    interval = market.config.funding_interval_ms
                    market.next_funding_ts = (now // interval + 1) * interval
                    heappush(timers, (market.next_funding_ts, TIMER_FUNDING, 0, market_id))


def _fill(
    market: Market, maker: Order, taker: Order, qty: int, maker_fee: int, taker_fee: int
) -> Fill:
    return Fill(
        market.config.market_id,
        maker.order_id,
        taker.order_id,
        maker.account,
        taker.account,
        taker.is_bid,
        maker.price,
        qty,
        maker_fee,
        taker_fee,
    )


def _binary_of(config: MarketConfig, market_id: str) -> MarketConfig:
    """The config of one outcome of a categorical market."""
    return replace(config, market_id=market_id, outcomes=())
