"""The ledger: an engine's money rebuilt from its events alone.

Every balance (free and locked, per account and asset), open order's reservation, perp
position, outcome holding, prediction escrow, perp clearing pool, fee account, the
insurance fund and the bad debt of a risk group change only through events, and
`Ledger.apply` applies each event exactly as the engine changed its state. So after every
command, `Ledger.state()` equals `state_of(engine)`; the engine service builds its
projections (balances, positions, holdings, open orders, statements) from these events
the same way::

    ledger = Ledger("USDC")
    for event in engine.apply(command):
        ledger.apply(event)
    assert ledger.state() == state_of(engine)

How each event moves money is written on the event's class (`engine.core.events`).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.core.balances import Balance
from engine.core.events import (
    BalanceMoved,
    DeficitCovered,
    Deleveraged,
    Event,
    Fill,
    FundingApplied,
    FundingPaid,
    Liquidated,
    MarketConfigured,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderReserveChanged,
    Payout,
    ProfitClawedBack,
    SetsMerged,
)
from engine.core.fees import FeeLedger
from engine.core.markets import MarketConfig, MarketKind
from engine.core.perp import Position
from engine.core.prediction import Holding

if TYPE_CHECKING:
    from engine.core.engine import Engine


class OpenOrder:
    """What the ledger knows of an open order: enough to release its reservation."""

    __slots__ = (
        "account",
        "market",
        "is_bid",
        "outcome_no",
        "size",
        "reserve_asset",
        "unit_reserve",
        "reserved_shares",
    )

    def __init__(
        self,
        account: int,
        market: str,
        is_bid: bool,
        outcome_no: bool,
        size: int,
        reserve_asset: str,
        unit_reserve: int,
        reserved_shares: int,
    ) -> None:
        self.account = account
        self.market = market
        self.is_bid = is_bid
        self.outcome_no = outcome_no
        self.size = size
        self.reserve_asset = reserve_asset
        self.unit_reserve = unit_reserve
        self.reserved_shares = reserved_shares

    def reserved(self) -> int:
        return self.unit_reserve * (self.size - self.reserved_shares)


class Ledger:
    """The money of one risk group, from its events. Unknown event types are ignored
    (they move no money)."""

    def __init__(self, collateral: str) -> None:
        self.collateral = collateral
        self.configs: dict[str, MarketConfig] = {}
        self.balances: dict[int, dict[str, Balance]] = {}
        self.positions: dict[int, dict[str, Position]] = {}
        self.holdings: dict[int, dict[str, Holding]] = {}
        self.orders: dict[int, OpenOrder] = {}
        self.escrow: dict[str, int] = {}
        self.pool: dict[str, int] = {}
        self.fees = FeeLedger()
        self.insurance = 0
        self.bad_debt = 0
        self.inflow: dict[str, int] = {}
        self.outflow: dict[str, int] = {}
        self._handlers: dict[type, Callable[[Any], None]] = {
            BalanceMoved: self._balance_moved,
            MarketConfigured: self._market_configured,
            OrderAccepted: self._order_accepted,
            OrderAmended: self._order_amended,
            OrderReserveChanged: self._order_reserve_changed,
            OrderCancelled: self._order_cancelled,
            Fill: self._fill,
            SetsMerged: self._sets_merged,
            FundingPaid: self._funding_paid,
            FundingApplied: self._funding_applied,
            Liquidated: self._liquidated,
            Deleveraged: self._deleveraged,
            ProfitClawedBack: self._profit_clawed_back,
            DeficitCovered: self._deficit_covered,
            Payout: self._payout,
        }

    def apply(self, event: Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def apply_all(self, events: list[Event]) -> None:
        for event in events:
            self.apply(event)

    # ------------------------------------------------------------------ lookups

    def balance(self, account: int, asset: str) -> Balance:
        balances = self.balances.get(account)
        if balances is None:
            balances = self.balances[account] = {}
        balance = balances.get(asset)
        if balance is None:
            balance = balances[asset] = Balance(asset)
        return balance

    def position(self, account: int, market: str) -> Position:
        positions = self.positions.get(account)
        if positions is None:
            positions = self.positions[account] = {}
        position = positions.get(market)
        if position is None:
            position = positions[market] = Position(account, market)
        return position

    def holding(self, account: int, market: str) -> Holding:
        holdings = self.holdings.get(account)
        if holdings is None:
            holdings = self.holdings[account] = {}
        holding = holdings.get(market)
        if holding is None:
            holding = holdings[market] = Holding()
        return holding

    def _drop_position_if_flat(self, position: Position) -> None:
        if not position.size:
            del self.positions[position.account][position.market]

    # ------------------------------------------------------------------ events

    def _balance_moved(self, event: BalanceMoved) -> None:
        amount = event.amount
        if event.kind == "insurance":
            self.insurance += amount
        else:
            self.balance(event.account, event.asset).free += amount
        if amount > 0:
            self.inflow[event.asset] = self.inflow.get(event.asset, 0) + amount
        else:
            self.outflow[event.asset] = self.outflow.get(event.asset, 0) - amount

    def _market_configured(self, event: MarketConfigured) -> None:
        config = event.config
        self.configs[event.market] = config
        for outcome in config.outcomes:
            # what the ledger reads of a config is the same for each outcome's market
            self.configs[f"{event.market}:{outcome}"] = config

    def _order_accepted(self, event: OrderAccepted) -> None:
        outcome_no = event.outcome == "no"
        is_bid = (event.side == "buy") is not outcome_no
        order = OpenOrder(
            event.account,
            event.market,
            is_bid,
            outcome_no,
            event.size,
            event.reserve_asset,
            event.unit_reserve,
            event.reserved_shares,
        )
        self.orders[event.order_id] = order
        self.balance(order.account, order.reserve_asset).lock(order.reserved())
        self._lock_shares(order, order.reserved_shares)

    def _lock_shares(self, order: OpenOrder, shares: int) -> None:
        """Move `shares` of what the order sells from held to locked (negative: back)."""
        if not shares:
            return
        holding = self.holding(order.account, order.market)
        if order.is_bid:
            holding.no -= shares
            holding.no_locked += shares
        else:
            holding.yes -= shares
            holding.yes_locked += shares

    def _order_amended(self, event: OrderAmended) -> None:
        order = self.orders[event.order_id]
        before = order.reserved()
        self._lock_shares(order, event.reserved_shares - order.reserved_shares)
        order.size = event.size
        order.unit_reserve = event.unit_reserve
        order.reserved_shares = event.reserved_shares
        self.balance(order.account, order.reserve_asset).lock(order.reserved() - before)

    def _order_reserve_changed(self, event: OrderReserveChanged) -> None:
        order = self.orders[event.order_id]
        before = order.reserved()
        order.unit_reserve = event.unit_reserve
        self.balance(order.account, order.reserve_asset).lock(order.reserved() - before)

    def _order_cancelled(self, event: OrderCancelled) -> None:
        order = self.orders.pop(event.order_id, None)
        if order is None:  # a liquidation order: it reserved nothing
            return
        self.balance(order.account, order.reserve_asset).lock(-order.reserved())
        self._lock_shares(order, -order.reserved_shares)

    def _release_fill(self, order: OpenOrder | None, order_id: int, qty: int) -> int:
        """Unlock what `qty` of a filling order held; return the reserved shares the fill
        used."""
        if order is None:
            return 0
        used = min(qty, order.reserved_shares)
        order.reserved_shares -= used
        self.balance(order.account, order.reserve_asset).lock(-order.unit_reserve * (qty - used))
        order.size -= qty
        if not order.size:
            del self.orders[order_id]
        return used

    def _fill(self, event: Fill) -> None:
        config = self.configs[event.market]
        qty = event.size
        price = event.price
        maker = self.orders.get(event.maker_order_id)
        taker = self.orders.get(event.taker_order_id)
        taker_buys = event.taker_buys
        bid_account, ask_account = event.taker_account, event.maker_account
        bid, bid_id, ask, ask_id = taker, event.taker_order_id, maker, event.maker_order_id
        bid_fee, ask_fee = event.taker_fee, event.maker_fee
        if not taker_buys:
            bid_account, ask_account = ask_account, bid_account
            bid, bid_id, ask, ask_id = ask, ask_id, bid, bid_id
            bid_fee, ask_fee = ask_fee, bid_fee
        kind = config.kind
        if kind is MarketKind.SPOT:
            quote, base = config.quote_asset, config.base_asset
            notional = price * qty
            self._release_fill(bid, bid_id, qty)
            self.balance(bid_account, quote).free -= notional + bid_fee
            self.balance(bid_account, base).free += qty
            self._release_fill(ask, ask_id, qty)
            self.balance(ask_account, base).free -= qty
            self.balance(ask_account, quote).free += notional - ask_fee
            fee_asset = quote
        elif kind is MarketKind.PERP:
            for order, order_id, account, trade, fee in (
                (bid, bid_id, bid_account, qty, bid_fee),
                (ask, ask_id, ask_account, -qty, ask_fee),
            ):
                self._release_fill(order, order_id, qty)
                position = self.position(account, event.market)
                realised = position.apply_fill(trade, price)
                self.balance(account, self.collateral).free += realised - fee
                self.pool[event.market] = self.pool.get(event.market, 0) - realised
                self._drop_position_if_flat(position)
            fee_asset = self.collateral
        else:
            payout = config.payout
            collateral = self.collateral
            sold = self._release_fill(bid, bid_id, qty)
            holding = self.holding(bid_account, event.market)
            holding.no_locked -= sold
            holding.yes += qty - sold
            self.balance(bid_account, collateral).free += (
                (payout - price) * sold - price * (qty - sold) - bid_fee
            )
            minted = qty - sold
            sold = self._release_fill(ask, ask_id, qty)
            holding = self.holding(ask_account, event.market)
            holding.yes_locked -= sold
            holding.no += qty - sold
            self.balance(ask_account, collateral).free += (
                price * sold - (payout - price) * (qty - sold) - ask_fee
            )
            self.escrow[event.market] = self.escrow.get(event.market, 0) + payout * (minted - sold)
            fee_asset = collateral
        self.fees.collect(
            event.market, fee_asset, event.maker_fee + event.taker_fee, config.deployer_share_bps
        )

    def _sets_merged(self, event: SetsMerged) -> None:
        holding = self.holding(event.account, event.market)
        holding.yes -= event.sets
        holding.no -= event.sets
        self.escrow[event.market] = self.escrow.get(event.market, 0) - event.amount
        self.balance(event.account, self.collateral).free += event.amount

    def _funding_paid(self, event: FundingPaid) -> None:
        self.balance(event.account, self.collateral).free -= event.amount
        self.position(event.account, event.market).funding -= event.amount

    def _funding_applied(self, event: FundingApplied) -> None:
        self.insurance += event.paid - event.received

    def _liquidated(self, event: Liquidated) -> None:
        self.balance(event.account, self.collateral).free -= event.fee
        self.insurance += event.fee

    def _deleveraged(self, event: Deleveraged) -> None:
        for account, trade in ((event.account, -event.size), (event.counterparty, event.size)):
            position = self.position(account, event.market)
            realised = position.apply_fill(trade, event.price)
            self.balance(account, self.collateral).free += realised
            self.pool[event.market] = self.pool.get(event.market, 0) - realised
            self._drop_position_if_flat(position)

    def _profit_clawed_back(self, event: ProfitClawedBack) -> None:
        self.position(event.account, event.market).entry += event.amount
        self.pool[event.market] = self.pool.get(event.market, 0) - event.amount

    def _deficit_covered(self, event: DeficitCovered) -> None:
        covered = event.insurance_used + event.clawed_back + event.bad_debt
        self.balance(event.account, self.collateral).free += covered
        self.insurance -= event.insurance_used
        self.bad_debt += event.bad_debt

    def _payout(self, event: Payout) -> None:
        market = event.market
        self.balance(event.account, self.collateral).free += event.amount
        if self.configs[market].kind is MarketKind.PERP:
            del self.positions[event.account][market]
            self.pool[market] = self.pool.get(market, 0) - event.amount
        else:
            self.holdings.get(event.account, {}).pop(market, None)
            self.escrow[market] = self.escrow.get(market, 0) - event.amount

    # ------------------------------------------------------------------ comparison

    def state(self) -> dict[str, Any]:
        """Everything the ledger holds, in the form `state_of` gives an engine's."""
        balances = {
            (account, asset): (balance.free, balance.locked)
            for account, by_asset in self.balances.items()
            for asset, balance in by_asset.items()
        }
        positions = {
            (account, market): _position_row(position)
            for account, by_market in self.positions.items()
            for market, position in by_market.items()
        }
        holdings = {
            (account, market): _holding_row(holding)
            for account, by_market in self.holdings.items()
            for market, holding in by_market.items()
        }
        orders = {
            order_id: (
                order.account,
                order.market,
                order.size,
                order.reserve_asset,
                order.unit_reserve,
                order.reserved_shares,
            )
            for order_id, order in self.orders.items()
        }
        return _canonical(
            balances=balances,
            positions=positions,
            holdings=holdings,
            orders=orders,
            escrow=self.escrow,
            pool=self.pool,
            fees_protocol=self.fees.protocol,
            fees_deployer=self.fees.deployer,
            insurance=self.insurance,
            bad_debt=self.bad_debt,
            inflow=self.inflow,
            outflow=self.outflow,
        )


def state_of(engine: "Engine") -> dict[str, Any]:
    """The part of an engine's state that its events must account for, in the form
    `Ledger.state` gives."""
    balances: dict[Any, Any] = {}
    positions: dict[Any, Any] = {}
    holdings: dict[Any, Any] = {}
    for account_id, account in engine.accounts.items():
        for asset, balance in account.balances.items():
            balances[(account_id, asset)] = (balance.free, balance.locked)
        for market_id, position in account.positions.items():
            positions[(account_id, market_id)] = _position_row(position)
        for market_id, holding in account.holdings.items():
            holdings[(account_id, market_id)] = _holding_row(holding)
    orders = {
        order_id: (
            order.account,
            order.market,
            order.size,
            order.reserve.asset,
            order.unit_reserve,
            order.reserved_shares,
        )
        for order_id, order in engine.orders.items()
    }
    escrow = {market_id: market.escrow for market_id, market in engine.markets.items()}
    pool = {market_id: market.pool for market_id, market in engine.markets.items()}
    return _canonical(
        balances=balances,
        positions=positions,
        holdings=holdings,
        orders=orders,
        escrow=escrow,
        pool=pool,
        fees_protocol=engine.fees.protocol,
        fees_deployer=engine.fees.deployer,
        insurance=engine.insurance,
        bad_debt=engine.bad_debt,
        inflow=engine.inflow,
        outflow=engine.outflow,
    )


def _position_row(position: Position) -> tuple[int, int, int, int]:
    return (position.size, position.entry, position.realised, position.funding)


def _holding_row(holding: Holding) -> tuple[int, int, int, int]:
    return (holding.yes, holding.no, holding.yes_locked, holding.no_locked)


def _canonical(**parts: Any) -> dict[str, Any]:
    """Sorted, with zero entries left out: an engine keeps empty balances and holdings
    that the events never needed to create."""
    state: dict[str, Any] = {}
    for name, value in parts.items():
        if isinstance(value, dict):
            state[name] = {
                key: row
                for key, row in sorted(value.items())
                if row != 0 and row != (0, 0) and row != (0, 0, 0, 0)
            }
        else:
            state[name] = value
    return state
