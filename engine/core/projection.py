"""The projections' fold: a shard's read side computed from the engine's events alone.

`ProjectionState` is what the writer keeps beside its engine: the `Ledger` (every
balance, reservation, position and holding, moved by events exactly as the engine moved
them) and the board of markets (config, status, mark, last price), also moved by events.
`ProjectionBatch` folds the events of consecutive commands into rows (orders, fills,
statement lines) and the keys they touched, and `rows` reads the touched keys' values off
the state: plain tuples in the columns' order, which the engine service stores. Each row
carries the sequence number of the last command that touched it, so the rows are the
same however the journal was cut into batches: a rebuild from the journal equals what the
writer wrote live.

Pure like the rest of the core (compiled with it): the writer runs this for every command.
"""

from typing import TYPE_CHECKING, Any, Final

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
    SetsMerged,
)
from engine.core.ledger import Ledger, OpenOrder
from engine.core.markets import MarketKind, MarketStatus
from engine.core.perp import Position
from engine.core.prediction import Holding

if TYPE_CHECKING:
    from engine.core.engine import Engine

# an order's status as its projection stores it
OPEN: Final = "open"
FILLED: Final = "filled"
CANCELLED: Final = "cancelled"
REJECTED: Final = "rejected"
MARKET_SETTLED: Final = str(MarketStatus.SETTLED)
PERP: Final = str(MarketKind.PERP)
PREDICTION: Final = str(MarketKind.PREDICTION)

# the rows' columns, in the order of their tuples
FILL_COLUMNS: Final = (
    "shard_id",
    "seq",
    "index",
    "market_id",
    "maker_order_id",
    "taker_order_id",
    "maker_account",
    "taker_account",
    "taker_buys",
    "price",
    "size",
    "maker_fee",
    "taker_fee",
)
STATEMENT_COLUMNS: Final = (
    "shard_id",
    "seq",
    "index",
    "account",
    "kind",
    "asset",
    "amount",
    "market_id",
    "reference",
)
INSURANCE_COLUMNS: Final = (
    "shard_id",
    "seq",
    "index",
    "kind",
    "amount",
    "account",
    "counterparty",
    "market_id",
    "size",
    "price",
    "clawed_back",
    "bad_debt",
    "reference",
)
FUNDING_COLUMNS: Final = (
    "shard_id",
    "seq",
    "index",
    "market_id",
    "rate_ppm",
    "mark",
    "paid",
    "received",
)
ORDER_COLUMNS: Final = (
    "shard_id",
    "order_id",
    "command_id",
    "account",
    "market_id",
    "side",
    "outcome",
    "order_type",
    "tif",
    "price",
    "size",
    "remaining",
    "filled",
    "status",
    "reason",
    "client_order_id",
    "created_seq",
    "updated_seq",
)
# an order placed before the batch: what the batch changed (see `ProjectionBatch.rows`)
ORDER_UPDATE_COLUMNS: Final = (
    "order_id",
    "filled",
    "remaining",
    "status",
    "reason",
    "price",
    "size",
    "updated_seq",
)
# upserted rows: the key columns first
BALANCE_COLUMNS: Final = ("shard_id", "account", "asset", "free", "locked", "seq")
POSITION_COLUMNS: Final = (
    "shard_id",
    "account",
    "market_id",
    "size",
    "entry",
    "realised",
    "funding",
    "seq",
)
HOLDING_COLUMNS: Final = (
    "shard_id",
    "account",
    "market_id",
    "yes",
    "no",
    "yes_locked",
    "no_locked",
    "seq",
)
# one-minute bars of a market's trades (open time in engine ms), merged into the stored bar
# of the same minute by a later batch (engine.projections)
CANDLE_COLUMNS: Final = (
    "shard_id",
    "market_id",
    "start",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "turnover",
    "trades",
)
CANDLE_MS: Final = 60_000
MARKET_COLUMNS: Final = (
    "shard_id",
    "market_id",
    "kind",
    "status",
    "config",
    "mark",
    "last_price",
    "seq",
)

# where an order row's changing columns sit (ORDER_COLUMNS)
_PRICE: Final = 9
_SIZE: Final = 10
_REMAINING: Final = 11
_FILLED: Final = 12
_STATUS: Final = 13
_REASON: Final = 14
_UPDATED_SEQ: Final = 17

Row = tuple[Any, ...]


class MarketRow:
    def __init__(
        self, kind: str, status: str, config: dict[str, Any], mark: int = 0, last_price: int = 0
    ) -> None:
        self.kind = kind
        self.status = status
        self.config = config
        self.mark = mark
        self.last_price = last_price


class ProjectionState:
    """The ledger and the market board of one shard, kept current from events."""

    def __init__(self, collateral: str) -> None:
        self.ledger = Ledger(collateral)
        self.markets: dict[str, MarketRow] = {}

    @classmethod
    def of_engine(cls, engine: "Engine") -> "ProjectionState":
        """The state as the events up to now left it, read off an engine restored from a
        snapshot (the events before a snapshot are not replayed)."""
        state = cls(engine.collateral)
        ledger = state.ledger
        for market_id, market in engine.markets.items():
            config = market.config
            ledger.configs[market_id] = config
            state.markets[market_id] = MarketRow(
                str(config.kind),
                str(market.status),
                config.to_dict(),
                market.mark,
                market.last_price,
            )
            if market.escrow:
                ledger.escrow[market_id] = market.escrow
            if market.pool:
                ledger.pool[market_id] = market.pool
        for parent, children in engine.categorical.items():
            first = engine.markets[children[0]]
            state.markets[parent] = MarketRow(
                str(first.config.kind),
                str(first.status),
                {
                    **first.config.to_dict(),
                    "market_id": parent,
                    "outcomes": [child.split(":", 1)[1] for child in children],
                },
            )
        for account_id, account in engine.accounts.items():
            for asset, balance in account.balances.items():
                ledger.balances.setdefault(account_id, {})[asset] = Balance(
                    asset, balance.free, balance.locked
                )
            for market_id, position in account.positions.items():
                copy = Position(account_id, market_id)
                copy.size, copy.entry = position.size, position.entry
                copy.realised, copy.funding = position.realised, position.funding
                ledger.positions.setdefault(account_id, {})[market_id] = copy
            for market_id, holding in account.holdings.items():
                shares = Holding()
                shares.yes, shares.no = holding.yes, holding.no
                shares.yes_locked, shares.no_locked = holding.yes_locked, holding.no_locked
                ledger.holdings.setdefault(account_id, {})[market_id] = shares
        for order_id, order in engine.orders.items():
            ledger.orders[order_id] = OpenOrder(
                order.account,
                order.market,
                order.is_bid,
                order.outcome_no,
                order.size,
                order.reserve.asset,
                order.unit_reserve,
                order.reserved_shares,
            )
        ledger.fees.restored = dict(engine.fees.restored)
        for market_id, fees in engine.fees.markets.items():
            booked = ledger.fees.of(market_id, fees.asset)
            booked.protocol, booked.deployer = fees.protocol, fees.deployer
            booked.collected = fees.collected
        ledger.insurance, ledger.bad_debt = engine.insurance, engine.bad_debt
        ledger.inflow, ledger.outflow = dict(engine.inflow), dict(engine.outflow)
        return state

    def apply(self, events: list[Event]) -> None:
        self.ledger.apply_all(events)
        markets = self.markets
        for event in events:
            if isinstance(event, Fill):
                markets[event.market].last_price = event.price
            elif isinstance(event, MarkPriceSet):
                markets[event.market].mark = event.price
            elif isinstance(event, MarketConfigured):
                self._market_configured(event)
            elif isinstance(event, MarketChanged):
                for market_id in self.market_ids(event.market):
                    # an outcome eliminated before the rest keeps its settled status
                    if markets[market_id].status != MARKET_SETTLED:
                        markets[market_id].status = event.status

    def _market_configured(self, event: MarketConfigured) -> None:
        markets = self.markets
        config = event.config
        row = markets.get(event.market)
        status = row.status if row is not None else "live"
        configured = markets[event.market] = MarketRow(str(config.kind), status, config.to_dict())
        if row is not None:
            configured.mark = row.mark
            configured.last_price = row.last_price
        for outcome in config.outcomes:
            child = f"{event.market}:{outcome}"
            previous = markets.get(child)
            markets[child] = MarketRow(
                str(config.kind),
                # an eliminated outcome stays settled
                previous.status
                if previous is not None and previous.status == MARKET_SETTLED
                else status,
                {**config.to_dict(), "market_id": child, "outcomes": []},
                0,
                previous.last_price if previous is not None else 0,
            )

    def market_ids(self, market_id: str) -> list[str]:
        """The market and, for a categorical market, its outcomes' markets."""
        outcomes = self.markets[market_id].config.get("outcomes") or []
        return [market_id, *(f"{market_id}:{name}" for name in outcomes)]


class OrderChange:
    """What a batch did to one order. `row` (ORDER_COLUMNS) is set for an order placed
    in this batch. An amend sets what is left of the order: its size becomes what had
    filled by then (`filled_at_amend` of this batch's fills, plus the row's earlier ones)
    and that."""

    def __init__(self) -> None:
        self.row: list[Any] | None = None
        self.filled = 0
        self.price: int | None = None
        self.amended_size: int | None = None
        self.filled_at_amend = 0
        self.cancelled_reason = ""
        self.seq = 0


class ProjectionRows:
    """A batch's projection rows, in their tables' columns (the `*_COLUMNS` above):
    nothing in them changes when the engine moves on."""

    def __init__(
        self,
        shard_id: int,
        orders: list[Row],
        order_updates: list[Row],
        fills: list[Row],
        statement: list[Row],
        insurance: list[Row],
        funding: list[Row],
        balances: list[Row],
        positions: list[Row],
        holdings: list[Row],
        markets: list[Row],
        candles: list[Row],
    ) -> None:
        self.shard_id = shard_id
        self.orders = orders  # orders placed in the batch
        self.order_updates = order_updates  # orders placed before it (ORDER_UPDATE_COLUMNS)
        self.fills = fills
        self.statement = statement
        self.insurance = insurance
        self.funding = funding
        self.balances = balances
        self.positions = positions
        self.holdings = holdings
        self.markets = markets
        self.candles = candles  # the batch's own bars (CANDLE_COLUMNS), to merge


class ProjectionBatch:
    """The rows of consecutive commands, folded from their events."""

    def __init__(self, shard_id: int) -> None:
        self.shard_id = shard_id
        self.orders: dict[int, OrderChange] = {}
        self.fills: list[Row] = []
        self.statement: list[Row] = []
        self.insurance: list[Row] = []
        self.funding: list[Row] = []
        # (market, minute) -> [open, high, low, close, volume, turnover, trades]
        self.candles: dict[tuple[str, int], list[int]] = {}
        # touched accounts and markets -> the last sequence number that touched them
        self.accounts: dict[int, int] = {}
        self.markets: dict[str, int] = {}
        # (account, market) pairs whose position or holding may have changed or closed
        self.account_markets: set[tuple[int, str]] = set()

    def add(
        self,
        seq: int,
        command_id: int,
        command: dict[str, Any],
        events: list[Event],
        state: ProjectionState,
        ts: int,
    ) -> None:
        """Fold one applied command (its journal dict, its events and its engine time)
        into the batch; the state must already include the events."""
        index = 0
        minute = ts - ts % CANDLE_MS
        for event in events:
            self._add_event(seq, command_id, command, index, event, state, minute)
            index += 1

    def _candle_add(self, market: str, start: int, price: int, size: int) -> None:
        bar = self.candles.get((market, start))
        if bar is None:
            self.candles[(market, start)] = [price, price, price, price, size, price * size, 1]
            return
        if price > bar[1]:
            bar[1] = price
        if price < bar[2]:
            bar[2] = price
        bar[3] = price
        bar[4] += size
        bar[5] += price * size
        bar[6] += 1

    def _order(self, order_id: int, seq: int) -> OrderChange:
        change = self.orders.get(order_id)
        if change is None:
            change = self.orders[order_id] = OrderChange()
        change.seq = seq
        return change

    def _touch(self, seq: int, account: int, market: str = "") -> None:
        self.accounts[account] = seq
        if market:
            self.account_markets.add((account, market))

    def _add_event(
        self,
        seq: int,
        command_id: int,
        command: dict[str, Any],
        index: int,
        event: Event,
        state: ProjectionState,
        minute: int,
    ) -> None:
        collateral = state.ledger.collateral
        if isinstance(event, Fill):
            self._candle_add(event.market, minute, event.price, event.size)
            self.fills.append(
                (
                    self.shard_id,
                    seq,
                    index,
                    event.market,
                    event.maker_order_id,
                    event.taker_order_id,
                    event.maker_account,
                    event.taker_account,
                    event.taker_buys,
                    event.price,
                    event.size,
                    event.maker_fee,
                    event.taker_fee,
                )
            )
            self._order(event.maker_order_id, seq).filled += event.size
            self._order(event.taker_order_id, seq).filled += event.size
            self.markets[event.market] = seq
            market = state.markets[event.market]
            fee_asset = market.config["quote_asset"] if market.kind == "spot" else collateral
            self._touch(seq, event.maker_account, event.market)
            if event.maker_fee:
                self._statement(
                    seq,
                    index,
                    event.maker_account,
                    "fee",
                    fee_asset,
                    -event.maker_fee,
                    event.market,
                )
            self._touch(seq, event.taker_account, event.market)
            if event.taker_fee:
                self._statement(
                    seq,
                    index,
                    event.taker_account,
                    "fee",
                    fee_asset,
                    -event.taker_fee,
                    event.market,
                )
        elif isinstance(event, OrderAccepted):
            self._order(event.order_id, seq).row = self._order_row(
                seq, command_id, command, event.order_id, event.price, event.size, OPEN, ""
            )
            self._touch(seq, event.account, event.market)
        elif isinstance(event, Rejected):
            if event.command == "PlaceOrder" and event.order_id:
                self._order(event.order_id, seq).row = self._order_row(
                    seq,
                    command_id,
                    command,
                    event.order_id,
                    int(command.get("price", 0)),
                    int(command["size"]),
                    REJECTED,
                    str(event.reason),
                )
        elif isinstance(event, OrderCancelled):
            self._order(event.order_id, seq).cancelled_reason = str(event.reason)
            self._touch(seq, event.account, event.market)
        elif isinstance(event, OrderAmended):
            change = self._order(event.order_id, seq)
            change.price = event.price
            change.amended_size, change.filled_at_amend = event.size, change.filled
            self._touch(seq, event.account, event.market)
        elif isinstance(event, OrderReserveChanged):
            self._order(event.order_id, seq)
            self._touch(seq, event.account)
        elif isinstance(event, BalanceMoved):
            if event.account:
                self._touch(seq, event.account)
            elif event.kind == "insurance":
                self._insurance(seq, index, "fund", event.amount, reference=event.reference)
            self._statement(
                seq,
                index,
                event.account,
                event.kind,
                event.asset,
                event.amount,
                reference=event.reference,
            )
        elif isinstance(event, Payout):
            self._touch(seq, event.account, event.market)
            self._statement(
                seq, index, event.account, "payout", collateral, event.amount, event.market
            )
        elif isinstance(event, FundingPaid):
            self._touch(seq, event.account, event.market)
            self._statement(
                seq, index, event.account, "funding", collateral, -event.amount, event.market
            )
        elif isinstance(event, SetsMerged):
            self._touch(seq, event.account, event.market)
        elif isinstance(event, Liquidated):
            self._touch(seq, event.account)
            self._insurance(seq, index, "liquidation_fee", event.fee, account=event.account)
            if event.fee:
                self._statement(
                    seq, index, event.account, "liquidation_fee", collateral, -event.fee
                )
        elif isinstance(event, DeficitCovered):
            self._touch(seq, event.account)
            covered = event.insurance_used + event.clawed_back + event.bad_debt
            self._statement(seq, index, event.account, "deficit_covered", collateral, covered)
            self._insurance(
                seq,
                index,
                "deficit",
                -event.insurance_used,
                account=event.account,
                clawed_back=event.clawed_back,
                bad_debt=event.bad_debt,
            )
        elif isinstance(event, ProfitClawedBack):
            # profit taken back from an open position: its entry moves, not its cash
            self._touch(seq, event.account, event.market)
            self._insurance(
                seq,
                index,
                "clawed_back",
                0,
                account=event.account,
                market_id=event.market,
                clawed_back=event.amount,
            )
        elif isinstance(event, Deleveraged):
            self._touch(seq, event.account, event.market)
            self._touch(seq, event.counterparty, event.market)
            self._insurance(
                seq,
                index,
                "deleveraged",
                0,
                account=event.account,
                counterparty=event.counterparty,
                market_id=event.market,
                size=event.size,
                price=event.price,
            )
        elif isinstance(event, FundingApplied):
            self.funding.append(
                (
                    self.shard_id,
                    seq,
                    index,
                    event.market,
                    event.rate_ppm,
                    event.mark,
                    event.paid,
                    event.received,
                )
            )
            self._insurance(
                seq, index, "funding", event.paid - event.received, market_id=event.market
            )
        elif isinstance(event, (MarketChanged, MarketConfigured, MarkPriceSet)):
            for market_id in state.market_ids(event.market):
                self.markets[market_id] = seq

    def _order_row(
        self,
        seq: int,
        command_id: int,
        command: dict[str, Any],
        order_id: int,
        price: int,
        size: int,
        status: str,
        reason: str,
    ) -> list[Any]:
        return [
            self.shard_id,
            order_id,
            command_id,
            command["account"],
            command["market"],
            command["side"],
            command.get("outcome", ""),
            command.get("order_type", "limit"),
            command.get("tif", "gtc"),
            price,
            size,
            size if status == OPEN else 0,
            0,
            status,
            reason,
            command.get("client_order_id", ""),
            seq,
            seq,
        ]

    def _statement(
        self,
        seq: int,
        index: int,
        account: int,
        kind: str,
        asset: str,
        amount: int,
        market_id: str = "",
        reference: str = "",
    ) -> None:
        self.statement.append(
            (self.shard_id, seq, index, account, kind, asset, amount, market_id, reference)
        )

    def _insurance(
        self,
        seq: int,
        index: int,
        kind: str,
        amount: int,
        *,
        account: int = 0,
        counterparty: int = 0,
        market_id: str = "",
        size: int = 0,
        price: int = 0,
        clawed_back: int = 0,
        bad_debt: int = 0,
        reference: str = "",
    ) -> None:
        self.insurance.append(
            (
                self.shard_id,
                seq,
                index,
                kind,
                amount,
                account,
                counterparty,
                market_id,
                size,
                price,
                clawed_back,
                bad_debt,
                reference,
            )
        )

    # ------------------------------------------------------------------ the rows

    def rows(self, state: ProjectionState) -> ProjectionRows:
        """The batch's rows, with the touched keys' values as `state` holds them now (the
        writer reads them before it applies the next batch, and stores them meanwhile)."""
        orders, order_updates = self._order_rows(state.ledger)
        balances, positions, holdings = self._account_rows(state)
        return ProjectionRows(
            self.shard_id,
            orders,
            order_updates,
            self.fills,
            self.statement,
            self.insurance,
            self.funding,
            balances,
            positions,
            holdings,
            self._market_rows(state),
            [(self.shard_id, market, start, *bar) for (market, start), bar in self.candles.items()],
        )

    def _order_rows(self, ledger: Ledger) -> tuple[list[Row], list[Row]]:
        new_rows: list[Row] = []
        updates: list[Row] = []
        open_orders = ledger.orders
        for order_id, change in self.orders.items():
            row = change.row
            if row is not None and row[_STATUS] == REJECTED:
                new_rows.append(tuple(row))
                continue
            order = open_orders.get(order_id)
            if order is not None:
                status, remaining = OPEN, order.size
            else:
                status, remaining = (CANCELLED if change.cancelled_reason else FILLED), 0
            if row is not None:
                row[_STATUS] = status
                row[_REMAINING] = remaining
                row[_FILLED] = change.filled
                row[_REASON] = change.cancelled_reason
                row[_UPDATED_SEQ] = change.seq
                if change.price is not None:
                    row[_PRICE] = change.price
                if change.amended_size is not None:
                    row[_SIZE] = change.filled_at_amend + change.amended_size
                new_rows.append(tuple(row))
            else:
                updates.append(
                    (
                        order_id,
                        change.filled,
                        remaining,
                        status,
                        change.cancelled_reason,
                        change.price,
                        None
                        if change.amended_size is None
                        else change.filled_at_amend + change.amended_size,
                        change.seq,
                    )
                )
        return new_rows, updates

    def _account_rows(self, state: ProjectionState) -> tuple[list[Row], list[Row], list[Row]]:
        ledger = state.ledger
        touched: dict[int, set[str]] = {}
        for account_id, market_id in self.account_markets:
            touched.setdefault(account_id, set()).add(market_id)
        balances: list[Row] = []
        positions: list[Row] = []
        holdings: list[Row] = []
        shard_id = self.shard_id
        no_markets: set[str] = set()
        for account_id, seq in sorted(self.accounts.items()):
            account_balances = ledger.balances.get(account_id)
            if account_balances is not None:
                for balance in account_balances.values():
                    balances.append(
                        (shard_id, account_id, balance.asset, balance.free, balance.locked, seq)
                    )
            # a position or holding that closed is gone from the ledger: write it as zero
            open_positions = ledger.positions.get(account_id, {})
            open_holdings = ledger.holdings.get(account_id, {})
            markets = touched.get(account_id, no_markets)
            if not markets and not open_positions and not open_holdings:
                continue
            for market_id in sorted(markets | open_positions.keys() | open_holdings.keys()):
                kind = state.markets[market_id].kind
                if kind == PERP:
                    position = open_positions.get(market_id) or Position(account_id, market_id)
                    positions.append(
                        (
                            shard_id,
                            account_id,
                            market_id,
                            position.size,
                            position.entry,
                            position.realised,
                            position.funding,
                            seq,
                        )
                    )
                elif kind == PREDICTION:
                    holding = open_holdings.get(market_id) or Holding()
                    holdings.append(
                        (
                            shard_id,
                            account_id,
                            market_id,
                            holding.yes,
                            holding.no,
                            holding.yes_locked,
                            holding.no_locked,
                            seq,
                        )
                    )
        return balances, positions, holdings

    def _market_rows(self, state: ProjectionState) -> list[Row]:
        rows: list[Row] = []
        for market_id, seq in sorted(self.markets.items()):
            row = state.markets[market_id]
            rows.append(
                (
                    self.shard_id,
                    market_id,
                    row.kind,
                    row.status,
                    row.config,
                    row.mark,
                    row.last_price,
                    seq,
                )
            )
        return rows
