"""Projections: the read side of a shard, written from the engine's events only.

`ProjectionState` is what the writer keeps beside its engine: the core's `Ledger` (every
balance, reservation, position and holding, moved by events exactly as the engine moved
them) and the board of markets (config, status, mark, last price), also moved by events.
`ProjectionBatch` folds the events of consecutive commands into rows (orders, fills,
statement lines) and the keys they touched; `write` stores the batch with a handful of
multi-row statements inside the caller's transaction, reading the touched keys' values
from the state. Each row carries the sequence number of the last command that touched it,
so the rows are the same however the journal was cut into batches: a rebuild from the
journal equals what the writer wrote live.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sized
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import psycopg
from django.db import connection
from django.db.models import F, Model

from engine import models
from engine.core import Engine
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

OPEN = models.Order.Status.OPEN
FILLED = models.Order.Status.FILLED
CANCELLED = models.Order.Status.CANCELLED
REJECTED = models.Order.Status.REJECTED
MARKET_SETTLED = str(MarketStatus.SETTLED)


@dataclass
class MarketRow:
    kind: str
    status: str
    config: dict[str, Any]
    mark: int = 0
    last_price: int = 0


class ProjectionState:
    """The ledger and the market board of one shard, kept current from events."""

    def __init__(self, collateral: str) -> None:
        self.ledger = Ledger(collateral)
        self.markets: dict[str, MarketRow] = {}

    @classmethod
    def of_engine(cls, engine: Engine) -> ProjectionState:
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
                config = event.config
                row = markets.get(event.market)
                status = row.status if row is not None else "live"
                markets[event.market] = MarketRow(str(config.kind), status, config.to_dict())
                if row is not None:
                    markets[event.market].mark = row.mark
                    markets[event.market].last_price = row.last_price
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
            elif isinstance(event, MarketChanged):
                for market_id in self.market_ids(event.market):
                    # an outcome eliminated before the rest keeps its settled status
                    if markets[market_id].status != MARKET_SETTLED:
                        markets[market_id].status = event.status

    def market_ids(self, market_id: str) -> list[str]:
        """The market and, for a categorical market, its outcomes' markets."""
        outcomes = self.markets[market_id].config.get("outcomes") or []
        return [market_id, *(f"{market_id}:{name}" for name in outcomes)]


@dataclass
class OrderChange:
    """What a batch did to one order. `row` is set for an order placed in this batch.
    An amend sets what is left of the order: its size becomes what had filled by then
    (`filled_at_amend` of this batch's fills, plus the row's earlier ones) and that."""

    row: dict[str, Any] | None = None
    filled: int = 0
    price: int | None = None
    amended_size: int | None = None
    filled_at_amend: int = 0
    cancelled_reason: str = ""
    seq: int = 0


@dataclass
class ProjectionBatch:
    shard_id: int
    orders: dict[int, OrderChange] = field(default_factory=dict)
    fills: list[tuple[Any, ...]] = field(default_factory=list)  # FILL_COLUMNS
    statement: list[tuple[Any, ...]] = field(default_factory=list)  # STATEMENT_COLUMNS
    insurance: list[tuple[Any, ...]] = field(default_factory=list)  # INSURANCE_COLUMNS
    funding: list[tuple[Any, ...]] = field(default_factory=list)  # FUNDING_COLUMNS
    # touched accounts and markets -> the last sequence number that touched them
    accounts: dict[int, int] = field(default_factory=dict)
    markets: dict[str, int] = field(default_factory=dict)
    # (account, market) pairs whose position or holding may have changed or closed
    account_markets: set[tuple[int, str]] = field(default_factory=set)

    def add(
        self,
        *,
        seq: int,
        command_id: int,
        command: dict[str, Any],
        events: list[Event],
        state: ProjectionState,
    ) -> None:
        """Fold one applied command (its journal dict and its events) into the batch; the
        state must already include the events."""
        for index, event in enumerate(events):
            self._add_event(seq, command_id, command, index, event, state)

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
    ) -> None:
        collateral = state.ledger.collateral
        if isinstance(event, Fill):
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
            config = state.markets[event.market]
            fee_asset = config.config["quote_asset"] if config.kind == "spot" else collateral
            for account, fee in (
                (event.maker_account, event.maker_fee),
                (event.taker_account, event.taker_fee),
            ):
                self._touch(seq, account, event.market)
                if fee:
                    self._statement(seq, index, account, "fee", fee_asset, -fee, event.market)
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
    ) -> dict[str, Any]:
        return {
            "shard_id": self.shard_id,
            "order_id": order_id,
            "command_id": command_id,
            "account": command["account"],
            "market_id": command["market"],
            "side": command["side"],
            "outcome": command.get("outcome", ""),
            "order_type": command.get("order_type", "limit"),
            "tif": command.get("tif", "gtc"),
            "price": price,
            "size": size,
            "remaining": size if status == OPEN else 0,
            "filled": 0,
            "status": status,
            "reason": reason,
            "client_order_id": command.get("client_order_id", ""),
            "created_seq": seq,
            "updated_seq": seq,
        }

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

    # ------------------------------------------------------------------ writing

    def write(self, state: ProjectionState) -> None:
        """Store the batch (inside the caller's transaction)."""
        self.rows(state).store()

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
        )

    def _order_rows(self, ledger: Ledger) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        new_rows = []
        updates = []
        for order_id, change in self.orders.items():
            row = change.row
            if row is not None and row["status"] == REJECTED:
                new_rows.append(tuple(row[name] for name in ORDER_COLUMNS))
                continue
            order = ledger.orders.get(order_id)
            if order is not None:
                status, remaining = OPEN, order.size
            else:
                status, remaining = (CANCELLED if change.cancelled_reason else FILLED), 0
            if row is not None:
                row.update(
                    status=status,
                    remaining=remaining,
                    filled=change.filled,
                    reason=change.cancelled_reason,
                    updated_seq=change.seq,
                )
                if change.price is not None:
                    row["price"] = change.price
                if change.amended_size is not None:
                    row["size"] = change.filled_at_amend + change.amended_size
                new_rows.append(tuple(row[name] for name in ORDER_COLUMNS))
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

    def _account_rows(
        self, state: ProjectionState
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        ledger = state.ledger
        touched: dict[int, set[str]] = {}
        for account_id, market_id in self.account_markets:
            touched.setdefault(account_id, set()).add(market_id)
        balances = []
        positions = []
        holdings = []
        shard_id = self.shard_id
        for account_id, seq in sorted(self.accounts.items()):
            for balance in ledger.balances.get(account_id, {}).values():
                balances.append(
                    (shard_id, account_id, balance.asset, balance.free, balance.locked, seq)
                )
            # a position or holding that closed is gone from the ledger: write it as zero
            open_positions = ledger.positions.get(account_id, {})
            open_holdings = ledger.holdings.get(account_id, {})
            markets = touched.get(account_id, set())
            for market_id in sorted(markets | set(open_positions) | set(open_holdings)):
                kind = state.markets[market_id].kind
                if kind == MarketKind.PERP:
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
                elif kind == MarketKind.PREDICTION:
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

    def _market_rows(self, state: ProjectionState) -> list[tuple[Any, ...]]:
        return [
            (
                self.shard_id,
                market_id,
                row.kind,
                row.status,
                json.dumps(row.config) if connection.vendor == "postgresql" else row.config,
                row.mark,
                row.last_price,
                seq,
            )
            for market_id, seq in sorted(self.markets.items())
            for row in (state.markets[market_id],)
        ]


@dataclass
class ProjectionRows:
    """A batch's projection rows, ready to store: nothing in them changes when the engine
    moves on."""

    shard_id: int
    orders: list[tuple[Any, ...]]  # ORDER_COLUMNS, orders placed in the batch
    order_updates: list[tuple[Any, ...]]  # orders placed before (see _update_orders)
    fills: list[tuple[Any, ...]]
    statement: list[tuple[Any, ...]]
    insurance: list[tuple[Any, ...]]
    funding: list[tuple[Any, ...]]
    balances: list[tuple[Any, ...]]
    positions: list[tuple[Any, ...]]
    holdings: list[tuple[Any, ...]]
    markets: list[tuple[Any, ...]]

    def store(self) -> None:
        """Write the rows (inside the caller's transaction, on this thread's connection)."""
        _insert(models.Order, ORDER_COLUMNS, self.orders)
        if self.order_updates:
            _update_orders(self.shard_id, self.order_updates)
        _insert(models.Fill, FILL_COLUMNS, self.fills)
        _insert(models.StatementEntry, STATEMENT_COLUMNS, self.statement)
        _insert(models.InsuranceEntry, INSURANCE_COLUMNS, self.insurance)
        _insert(models.FundingEntry, FUNDING_COLUMNS, self.funding)
        _upsert(models.Balance, BALANCE_COLUMNS, 3, self.balances)
        _upsert(models.Position, POSITION_COLUMNS, 3, self.positions)
        _upsert(models.Holding, HOLDING_COLUMNS, 3, self.holdings)
        _upsert(models.MarketView, MARKET_COLUMNS, 2, self.markets)


FILL_COLUMNS = (
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
STATEMENT_COLUMNS = (
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
INSURANCE_COLUMNS = (
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
FUNDING_COLUMNS = (
    "shard_id",
    "seq",
    "index",
    "market_id",
    "rate_ppm",
    "mark",
    "paid",
    "received",
)
ORDER_COLUMNS = (
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
ORDER_UPDATE_COLUMNS = (
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
BALANCE_COLUMNS = ("shard_id", "account", "asset", "free", "locked", "seq")
POSITION_COLUMNS = (
    "shard_id",
    "account",
    "market_id",
    "size",
    "entry",
    "realised",
    "funding",
    "seq",
)
HOLDING_COLUMNS = (
    "shard_id",
    "account",
    "market_id",
    "yes",
    "no",
    "yes_locked",
    "no_locked",
    "seq",
)
MARKET_COLUMNS = ("shard_id", "market_id", "kind", "status", "config", "mark", "last_price", "seq")


def _insert(model: type[Any], columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Append rows. On PostgreSQL a few rows (or any inside a pipeline, where COPY cannot
    run) as one prepared INSERT over arrays, many through COPY; a multi-row INSERT elsewhere."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        if prepared(rows) or in_pipeline():
            _insert_arrays(model, columns, rows)
            return
        table = model._meta.db_table
        names = ", ".join(f'"{name}"' for name in columns)
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    model.objects.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=500
    )


def binding_cursor() -> Any:
    """A cursor of this thread's connection that sends parameters apart from the statement
    (PostgreSQL's extended protocol): binary arrays need it, where Django's cursors bind
    on the client and quote every element as text. Django turns psycopg's automatic
    preparation off: the callers prepare a statement for a few rows (`prepared(rows)`)."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


# Below this many rows a statement is prepared (planned once per connection, then run on
# its generic plan); at or above, it is planned for its rows. Measured: with orders arriving
# one by one, planning the writer's statements anew for every batch cost PostgreSQL 5.7 ms of
# CPU per order at 200 orders/s (2.2 ms prepared); for a full inbox's 2,000-command batches
# the generic plans drained 18% slower than plans made for the rows.
PREPARED_BELOW = 256


def prepared(rows: Sized) -> bool:
    return len(rows) < PREPARED_BELOW


@contextmanager
def pipelined(rows: Sized) -> Iterator[None]:
    """For a batch of fewer than PREPARED_BELOW commands on PostgreSQL (a trickle of
    orders), send the statements of the block in one pipeline: one round trip at its end
    instead of one per statement, which with a dozen statements per batch was most of the
    time an order waited for its batch's commit. An error of any statement is raised at
    the end of the block; what statements answer (`rows_written`) is known after it."""
    if connection.vendor != "postgresql" or not prepared(rows):
        yield
        return
    connection.ensure_connection()
    with connection.connection.pipeline():
        yield


def in_pipeline() -> bool:
    raw = connection.connection
    return raw is not None and bool(raw.pgconn.pipeline_status != psycopg.pq.PipelineStatus.OFF)


def rows_written(sql: str, params: list[Any], *, prepare: bool) -> Callable[[], int]:
    """Run a statement (PostgreSQL, parameters bound apart); how many rows it wrote, asked
    once it has run (inside a pipeline, after the pipeline's end)."""
    cursor = binding_cursor()
    cursor.execute(sql, params, prepare=prepare)

    def written() -> int:
        with cursor:  # closed only now: closing it forgets its result
            return int(cursor.rowcount)

    return written


def unnest_rows(
    model: type[Model], columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> tuple[str, list[Any]]:
    """Rows as one set for a single statement (PostgreSQL): `unnest(...) AS s(columns)`
    over one binary array parameter per column (typed as the model's column), and those
    arrays. No staging table, no round trip per step."""
    return _unnest_source(model, columns), [list(column) for column in zip(*rows, strict=True)]


@cache
def _unnest_source(model: type[Model], columns: tuple[str, ...]) -> str:
    """`unnest_rows`' SQL, made once per table and columns (the fields' database types
    are looked up field by field)."""
    arrays = ", ".join(
        f"%b::{model._meta.get_field(name).db_type(connection)}[]" for name in columns
    )
    names = ", ".join(f'"{name}"' for name in columns)
    return f"unnest({arrays}) AS s({names})"


def _upsert(
    model: type[Any], columns: tuple[str, ...], keys: int, rows: list[tuple[Any, ...]]
) -> None:
    """Insert or update rows on their first `keys` columns: on PostgreSQL, one INSERT ...
    ON CONFLICT over the rows passed as arrays."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        conflict = ", ".join(f'"{name}"' for name in columns[:keys])
        updates = ", ".join(f'"{name}" = EXCLUDED."{name}"' for name in columns[keys:])
        _insert_arrays(model, columns, rows, f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}")
        return
    fields = [name.removesuffix("_id") if name == "shard_id" else name for name in columns]
    model.objects.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows],
        batch_size=500,
        update_conflicts=True,
        unique_fields=fields[:keys],
        update_fields=fields[keys:],
    )


def _insert_arrays(
    model: type[Model], columns: tuple[str, ...], rows: list[tuple[Any, ...]], tail: str = ""
) -> None:
    """PostgreSQL: one INSERT of the rows passed as arrays (`unnest_rows`), prepared for a
    few rows; `tail` ends the statement (an ON CONFLICT clause)."""
    table = model._meta.db_table
    names = ", ".join(f'"{name}"' for name in columns)
    source, arrays = unnest_rows(model, columns, rows)
    with binding_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {source}{tail}",  # noqa: S608
            arrays,
            prepare=prepared(rows),
        )


def _update_orders(shard_id: int, updates: list[tuple[Any, ...]]) -> None:
    """Apply fills, cancels and amends to orders placed in earlier batches. An amended
    order's size is its earlier fills plus `amended` (this batch's fills up to the amend
    and the size it was left with)."""
    if connection.vendor == "postgresql":
        # typed as the order's columns; "size" carries `amended`
        source, arrays = unnest_rows(models.Order, ORDER_UPDATE_COLUMNS, updates)
        with binding_cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE engine_order AS o SET
                    filled = o.filled + s.filled,
                    remaining = s.remaining,
                    status = s.status,
                    reason = CASE WHEN s.reason = '' THEN o.reason ELSE s.reason END,
                    price = COALESCE(s.price, o.price),
                    size = COALESCE(o.filled + s.size, o.size),
                    updated_seq = s.updated_seq
                FROM {source}
                WHERE o.shard_id = %b AND o.order_id = s.order_id
                """,  # noqa: S608 - only placeholders are interpolated
                [*arrays, shard_id],
                prepare=prepared(updates),
            )
        return
    for order_id, filled, remaining, status, reason, price, amended, seq in updates:
        values: dict[str, Any] = {
            "filled": F("filled") + filled,
            "remaining": remaining,
            "status": status,
            "updated_seq": seq,
        }
        if reason:
            values["reason"] = reason
        if price is not None:
            values["price"] = price
        if amended is not None:
            values["size"] = F("filled") + amended
        models.Order.objects.filter(shard_id=shard_id, order_id=order_id).update(**values)
