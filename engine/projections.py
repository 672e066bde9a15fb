"""Projections: what the worker writes for a batch of applied commands, from their events.

`ProjectionBatch` folds the events of consecutive commands into rows (orders, fills,
statement lines, markets) and the keys of the balances, positions and holdings the events
touched; `write` stores them with a handful of multi-row statements, inside the caller's
transaction. The balances, positions and holdings of the touched keys are taken from the
engine the events came from, so live projections and a rebuild from the journal (which
replays the same commands through a fresh engine) are equal by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import F

from engine import models
from engine.core import Engine, MarketStatus
from engine.core.events import (
    BalanceMoved,
    Deleveraged,
    Event,
    Fill,
    FundingApplied,
    Liquidated,
    MarketChanged,
    MarkPriceSet,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    Payout,
    Rejected,
)

OPEN = models.Order.Status.OPEN
FILLED = models.Order.Status.FILLED
CANCELLED = models.Order.Status.CANCELLED
REJECTED = models.Order.Status.REJECTED


@dataclass
class OrderChange:
    """What a batch did to one order. `row` is set for an order placed in this batch."""

    row: dict[str, Any] | None = None
    filled: int = 0
    price: int | None = None
    cancelled_reason: str = ""
    seq: int = 0


@dataclass
class ProjectionBatch:
    shard_id: int
    orders: dict[int, OrderChange] = field(default_factory=dict)
    fills: list[models.Fill] = field(default_factory=list)
    statement: list[models.StatementEntry] = field(default_factory=list)
    # touched accounts and markets -> the last sequence number that touched them (so the
    # rows are the same however the journal is cut into batches)
    accounts: dict[int, int] = field(default_factory=dict)
    markets: dict[str, int] = field(default_factory=dict)
    # (account, market) pairs whose position or holding may have changed or closed
    account_markets: set[tuple[int, str]] = field(default_factory=set)
    all_accounts_seq: int = 0
    seq: int = 0

    def add(
        self,
        *,
        seq: int,
        command_id: int,
        command: dict[str, Any],
        events: list[Event],
        engine: Engine,
    ) -> None:
        """Fold one applied command (its journal dict and its events) into the batch."""
        self.seq = seq
        kind = command["type"]
        if kind in ("AddMarket", "UpdateMarket"):
            self.markets[command["config"]["market_id"]] = seq
        for index, event in enumerate(events):
            self._add_event(seq, command_id, command, index, event, engine)

    def _order(self, order_id: int, seq: int) -> OrderChange:
        change = self.orders.get(order_id)
        if change is None:
            change = self.orders[order_id] = OrderChange()
        change.seq = seq
        return change

    def _add_event(
        self,
        seq: int,
        command_id: int,
        command: dict[str, Any],
        index: int,
        event: Event,
        engine: Engine,
    ) -> None:
        if isinstance(event, Fill):
            self.fills.append(
                models.Fill(
                    shard_id=self.shard_id,
                    seq=seq,
                    index=index,
                    market_id=event.market,
                    maker_order_id=event.maker_order_id,
                    taker_order_id=event.taker_order_id,
                    maker_account=event.maker_account,
                    taker_account=event.taker_account,
                    taker_buys=event.taker_buys,
                    price=event.price,
                    size=event.size,
                    maker_fee=event.maker_fee,
                    taker_fee=event.taker_fee,
                )
            )
            self._order(event.maker_order_id, seq).filled += event.size
            self._order(event.taker_order_id, seq).filled += event.size
            self.markets[event.market] = seq
            config = engine.markets[event.market].config
            fee_asset = config.quote_asset if config.kind == "spot" else engine.collateral
            for account, fee in (
                (event.maker_account, event.maker_fee),
                (event.taker_account, event.taker_fee),
            ):
                self.accounts[account] = seq
                self.account_markets.add((account, event.market))
                if fee:
                    self._statement(seq, index, account, "fee", fee_asset, -fee, event.market, "")
        elif isinstance(event, OrderAccepted):
            self._order(event.order_id, seq).row = self._order_row(
                seq, command_id, command, event.order_id, event.price, event.size, OPEN, ""
            )
            self.accounts[event.account] = seq
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
            self.accounts[event.account] = seq
        elif isinstance(event, OrderAmended):
            self._order(event.order_id, seq).price = event.price
            self.accounts[event.account] = seq
        elif isinstance(event, BalanceMoved):
            self.accounts[event.account] = seq
            self._statement(
                seq,
                index,
                event.account,
                event.kind,
                event.asset,
                event.amount,
                "",
                event.reference,
            )
        elif isinstance(event, Payout):
            self.accounts[event.account] = seq
            self.account_markets.add((event.account, event.market))
            self._statement(
                seq,
                index,
                event.account,
                "payout",
                engine.collateral,
                event.amount,
                event.market,
                "",
            )
        elif isinstance(event, Liquidated):
            self.accounts[event.account] = seq
            if event.fee:
                fee = -event.fee
                self._statement(
                    seq, index, event.account, "liquidation_fee", engine.collateral, fee, "", ""
                )
        elif isinstance(event, Deleveraged):
            self.accounts[event.account] = self.accounts[event.counterparty] = seq
            self.account_markets.update(
                ((event.account, event.market), (event.counterparty, event.market))
            )
            self.markets[event.market] = seq
        elif isinstance(event, FundingApplied):
            self.markets[event.market] = seq
            self.accounts.update(dict.fromkeys(engine.markets[event.market].positions, seq))
        elif isinstance(event, MarketChanged):
            self.markets[event.market] = seq
            if event.status == MarketStatus.SETTLED:
                # settlement pays every holder and covers deficits across the group
                self.all_accounts_seq = seq
        elif isinstance(event, MarkPriceSet):
            self.markets[event.market] = seq

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
            "outcome": command.get("outcome", "") if status == OPEN or status == REJECTED else "",
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
        market_id: str,
        reference: str,
    ) -> None:
        self.statement.append(
            models.StatementEntry(
                shard_id=self.shard_id,
                seq=seq,
                index=index,
                account=account,
                kind=kind,
                asset=asset,
                amount=amount,
                market_id=market_id,
                reference=reference,
            )
        )

    # ------------------------------------------------------------------ writing

    def write(self, engine: Engine) -> None:
        """Store the batch (inside the caller's transaction)."""
        self._write_orders(engine)
        models.Fill.objects.bulk_create(self.fills, batch_size=2000)
        models.StatementEntry.objects.bulk_create(self.statement, batch_size=2000)
        self._write_accounts(engine)
        self._write_markets(engine)

    def _final_state(self, engine: Engine, order_id: int, change: OrderChange) -> tuple[str, int]:
        order = engine.orders.get(order_id)
        if order is not None:
            return OPEN, order.size
        if change.cancelled_reason:
            return CANCELLED, 0
        return FILLED, 0

    def _write_orders(self, engine: Engine) -> None:
        new_rows = []
        updates = []
        for order_id, change in self.orders.items():
            row = change.row
            if row is not None and row["status"] == REJECTED:
                new_rows.append(models.Order(**row))
                continue
            status, remaining = self._final_state(engine, order_id, change)
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
                new_rows.append(models.Order(**row))
            else:
                updates.append(
                    (
                        order_id,
                        change.filled,
                        remaining,
                        status,
                        change.cancelled_reason,
                        change.price,
                        change.seq,
                    )
                )
        models.Order.objects.bulk_create(new_rows, batch_size=2000)
        if updates:
            _update_orders(self.shard_id, updates)

    def _write_accounts(self, engine: Engine) -> None:
        touched_accounts = dict(self.accounts)
        if self.all_accounts_seq:
            for account_id in engine.accounts:
                seen = touched_accounts.get(account_id, 0)
                touched_accounts[account_id] = max(seen, self.all_accounts_seq)
        balances = []
        positions = []
        holdings = []
        shard_id = self.shard_id
        touched: dict[int, set[str]] = {}
        for account_id, market_id in self.account_markets:
            touched.setdefault(account_id, set()).add(market_id)
        for account_id, seq in sorted(touched_accounts.items()):
            account = engine.accounts.get(account_id)
            if account is None:
                continue
            for balance in account.balances.values():
                balances.append(
                    models.Balance(
                        shard_id=shard_id,
                        account=account_id,
                        asset=balance.asset,
                        free=balance.free,
                        locked=balance.locked,
                        seq=seq,
                    )
                )
            # a position or holding that closed is gone from the engine: write it as zero
            markets = touched.get(account_id, set())
            for market_id in sorted(markets | set(account.positions)):
                if engine.markets[market_id].config.kind == "perp":
                    position = account.positions.get(market_id)
                    positions.append(
                        models.Position(
                            shard_id=shard_id,
                            account=account_id,
                            market_id=market_id,
                            size=position.size if position else 0,
                            entry=position.entry if position else 0,
                            realised=position.realised if position else 0,
                            funding=position.funding if position else 0,
                            seq=seq,
                        )
                    )
            for market_id in sorted(markets | set(account.holdings)):
                if engine.markets[market_id].config.kind != "prediction":
                    continue
                holding = account.holdings.get(market_id)
                holdings.append(
                    models.Holding(
                        shard_id=shard_id,
                        account=account_id,
                        market_id=market_id,
                        yes=holding.yes if holding else 0,
                        no=holding.no if holding else 0,
                        yes_locked=holding.yes_locked if holding else 0,
                        no_locked=holding.no_locked if holding else 0,
                        seq=seq,
                    )
                )
        _upsert(models.Balance, balances, ["shard", "account", "asset"], ["free", "locked", "seq"])
        _upsert(
            models.Position,
            positions,
            ["shard", "account", "market_id"],
            ["size", "entry", "realised", "funding", "seq"],
        )
        _upsert(
            models.Holding,
            holdings,
            ["shard", "account", "market_id"],
            ["yes", "no", "yes_locked", "no_locked", "seq"],
        )

    def _write_markets(self, engine: Engine) -> None:
        touched = dict(self.markets)
        for market_id, seq in self.markets.items():
            # a categorical market's status moves its outcome markets with it
            for child in engine.categorical.get(market_id, ()):
                touched[child] = max(touched.get(child, 0), seq)
        rows = []
        for market_id, seq in sorted(touched.items()):
            market = engine.markets.get(market_id)
            children = engine.categorical.get(market_id)
            if market is not None:
                config = market.config.to_dict()
            elif children is not None:
                # the parent: its listed config, the status its outcome markets share
                market = engine.markets[children[0]]
                config = {
                    **market.config.to_dict(),
                    "market_id": market_id,
                    "outcomes": [child.split(":", 1)[1] for child in children],
                }
            else:
                continue
            rows.append(
                models.MarketView(
                    shard_id=self.shard_id,
                    market_id=market_id,
                    kind=str(market.config.kind),
                    status=str(market.status),
                    config=config,
                    mark=market.mark if children is None else 0,
                    last_price=market.last_price if children is None else 0,
                    seq=seq,
                )
            )
        _upsert(
            models.MarketView,
            rows,
            ["shard", "market_id"],
            ["kind", "status", "config", "mark", "last_price", "seq"],
        )


def _upsert(model: type[Any], rows: list[Any], keys: list[str], update: list[str]) -> None:
    if rows:
        model.objects.bulk_create(
            rows, batch_size=2000, update_conflicts=True, unique_fields=keys, update_fields=update
        )


def _update_orders(shard_id: int, updates: list[tuple[Any, ...]]) -> None:
    """Apply fills, cancels and amends to orders placed in earlier batches."""
    if connection.vendor == "postgresql":
        rows = ",".join(["(%s,%s,%s,%s,%s,%s,%s)"] * len(updates))
        params: list[Any] = []
        for row in updates:
            params.extend(row)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE engine_order AS o SET
                    filled = o.filled + v.filled::numeric,
                    remaining = v.remaining::numeric,
                    status = v.status,
                    reason = CASE WHEN v.reason = '' THEN o.reason ELSE v.reason END,
                    price = COALESCE(v.price::numeric, o.price),
                    updated_seq = v.seq::bigint
                FROM (VALUES {rows}) AS v(order_id, filled, remaining, status, reason, price, seq)
                WHERE o.shard_id = %s AND o.order_id = v.order_id::bigint
                """,  # noqa: S608 - only placeholders are interpolated
                [*params, shard_id],
            )
        return
    for order_id, filled, remaining, status, reason, price, seq in updates:
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
        models.Order.objects.filter(shard_id=shard_id, order_id=order_id).update(**values)
