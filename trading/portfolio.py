"""A trader's unified account across risk groups and market types, in the trader's
decimals: per risk group the collateral (free, reserved for orders, in positions), perp
positions with unrealised PnL, outcome holdings with their value, open orders; across
groups the latest fills, the statement (deposits, withdrawals, transfers, bonds, fees,
funding, payouts) with totals, and the transfers between groups.

Read from the engine's selectors; a constant number of queries per risk group the trader
has an account in, whatever the number of positions, orders and fills."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, CharField, Count, F, Q, QuerySet, Sum, Value, When

from engine import models as engine
from engine.selectors import PositionView, account_overview, fill_time, market_quotes
from engine.specs import asset_unit
from governance.risk_groups.models import RiskGroup
from markets.models import Asset

from .instruments import Tradable, tradables

RECENT = 50
# statement lines by what they mean to the trader: (category, kind, reference prefix)
STATEMENT_CATEGORIES = (
    ("bond", "transfer_out", "xip-bond:"),
    ("bond", "transfer_in", "xip-bond:"),
    ("faucet", "deposit", "faucet:"),
    ("deposit", "deposit", ""),
    ("withdrawal", "withdraw", ""),
    ("transfer", "transfer_in", ""),
    ("transfer", "transfer_out", ""),
    ("fee", "fee", ""),
    ("funding", "funding", ""),
    ("payout", "payout", ""),
)


# the category of a statement line, in SQL
CATEGORY = Case(
    *(
        When(kind=kind, reference__startswith=prefix, then=Value(category))
        for category, kind, prefix in STATEMENT_CATEGORIES
    ),
    default=F("kind"),
    output_field=CharField(),
)


@dataclass
class PositionRow:
    tradable: Tradable
    size: Decimal
    entry_price: Decimal
    mark: Decimal
    unrealised_pnl: Decimal
    margin: Decimal
    liquidation_price: Decimal | None


@dataclass
class HoldingRow:
    tradable: Tradable
    yes: Decimal
    no: Decimal
    price: Decimal | None  # the YES price the shares are valued at
    value: Decimal


@dataclass
class OrderRow:
    tradable: Tradable
    order: engine.Order
    price: Decimal
    size: Decimal
    remaining: Decimal


@dataclass
class GroupAccount:
    risk_group: RiskGroup
    collateral: str
    as_of: int
    free: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)
    in_positions: Decimal = Decimal(0)
    other_assets: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)
    positions: list[PositionRow] = field(default_factory=list)
    holdings: list[HoldingRow] = field(default_factory=list)
    orders: list[OrderRow] = field(default_factory=list)

    @property
    def unrealised_pnl(self) -> Decimal:
        return sum((p.unrealised_pnl for p in self.positions), Decimal(0))

    @property
    def equity(self) -> Decimal:
        held = sum((h.value for h in self.holdings), Decimal(0))
        return self.free + self.reserved + self.unrealised_pnl + held


@dataclass
class Portfolio:
    groups: list[GroupAccount]
    fills: list[dict[str, Any]]
    statement: list[dict[str, Any]]
    totals: list[dict[str, Any]]  # per group, asset and category
    transfers: list[dict[str, Any]]


def _fill_rows(user_id: int) -> QuerySet[engine.Fill]:
    return engine.Fill.objects.filter(Q(maker_account=user_id) | Q(taker_account=user_id))


def portfolio_of(*, user_id: int) -> Portfolio:
    shards = list(
        engine.Shard.objects.filter(
            pk__in=engine.Balance.objects.filter(account=user_id).values("shard")
        )
        .select_related("risk_group")
        .order_by("risk_group__name")
    )
    by_shard = {shard.pk: shard for shard in shards}
    decimals = dict(Asset.objects.values_list("symbol", "decimals"))

    def money(shard_id: int, asset: str, units: Any) -> Decimal:
        """Engine units of `asset` in the shard as a decimal amount."""
        shard = by_shard[shard_id]
        unit = asset_unit(decimals=decimals[asset], collateral=asset == shard.collateral)
        return (Decimal(units) * unit).normalize()

    known = tradables()
    groups = [_group_account(shard, user_id, money, known) for shard in shards]
    fills = [
        _fill_row(fill, user_id, known)
        for fill in _fill_rows(user_id).annotate(ts=fill_time()).order_by("-pk")[:RECENT]
    ]
    lines = engine.StatementEntry.objects.filter(account=user_id, shard__in=shards).annotate(
        category=CATEGORY
    )
    statement = [
        {
            "group": by_shard[line.shard_id].risk_group,
            "category": line.category,
            "asset": line.asset,
            "amount": money(line.shard_id, line.asset, line.amount),
            "market": line.market_id,
            "reference": line.reference,
            "seq": line.seq,
        }
        for line in lines.order_by("-pk")[:RECENT]
    ]
    totals = [
        {
            "group": by_shard[shard_id].risk_group,
            "category": category,
            "asset": asset,
            "amount": money(shard_id, asset, total),
            "lines": count,
        }
        for shard_id, category, asset, total, count in lines.values("shard", "category", "asset")
        .annotate(total=Sum("amount"), n=Count("pk"))
        .values_list("shard", "category", "asset", "total", "n")
        .order_by("shard", "category", "asset")
    ]
    transfers = [
        {
            "transfer": transfer,
            "amount": (
                transfer.amount * asset_unit(decimals=decimals[transfer.asset], collateral=True)
            ).normalize(),
        }
        for transfer in engine.Transfer.objects.filter(account=user_id)
        .select_related("from_shard__risk_group", "to_shard__risk_group")
        .order_by("-pk")[:RECENT]
    ]
    return Portfolio(
        groups=groups, fills=fills, statement=statement, totals=totals, transfers=transfers
    )


def _group_account(
    shard: engine.Shard,
    user_id: int,
    money: Any,
    known: dict[str, Tradable],
) -> GroupAccount:
    overview = account_overview(shard=shard, account=user_id)
    account = GroupAccount(shard.risk_group, shard.collateral, overview["as_of"])
    for balance in overview["balances"]:
        free, locked = (
            money(shard.pk, balance.asset, balance.free),
            money(shard.pk, balance.asset, balance.locked),
        )
        if balance.asset == shard.collateral:
            account.free, account.reserved = free, locked
        else:
            account.other_assets.append((balance.asset, free, locked))
    position: PositionView
    for position in overview["positions"]:
        tradable = known.get(position.market_id)
        if tradable is None:
            continue
        row = PositionRow(
            tradable=tradable,
            size=tradable.size(position.size),
            entry_price=tradable.price(position.entry_price),
            mark=tradable.price(position.mark),
            unrealised_pnl=tradable.money(position.unrealised_pnl),
            margin=tradable.money(position.initial_margin),
            liquidation_price=tradable.price(position.liquidation_price)
            if position.liquidation_price
            else None,
        )
        account.positions.append(row)
        account.in_positions += row.margin
    held = [h for h in overview["holdings"] if h.market_id in known]
    quotes = market_quotes(market_ids=[h.market_id for h in held]) if held else {}
    for holding in held:
        tradable = known[holding.market_id]
        quote = quotes.get(holding.market_id)
        payout = quote.payout if quote else 0
        yes_price = quote.quoted if quote else None
        yes = int(holding.yes + holding.yes_locked)
        no = int(holding.no + holding.no_locked)
        value = (yes * yes_price + no * (payout - yes_price)) if yes_price is not None else 0
        held_row = HoldingRow(
            tradable=tradable,
            yes=tradable.size(yes),
            no=tradable.size(no),
            price=tradable.price(yes_price) if yes_price is not None else None,
            value=tradable.money(value),
        )
        account.holdings.append(held_row)
        account.in_positions += held_row.value
    for order in overview["open_orders"]:
        tradable = known.get(order.market_id)
        if tradable is not None:
            account.orders.append(
                OrderRow(
                    tradable=tradable,
                    order=order,
                    price=tradable.price(order.price),
                    size=tradable.size(order.size),
                    remaining=tradable.size(order.remaining),
                )
            )
    return account


def _fill_row(fill: Any, user_id: int, known: dict[str, Tradable]) -> dict[str, Any]:
    """One fill from the user's side: their side, role, price, size and fee."""
    taker = fill.taker_account == user_id
    buys = fill.taker_buys if taker else not fill.taker_buys
    tradable = known.get(fill.market_id)
    fee = fill.taker_fee if taker else fill.maker_fee
    return {
        "market": fill.market_id,
        "tradable": tradable,
        "time": fill.ts,
        "side": "buy" if buys else "sell",
        "role": "taker" if taker else "maker",
        "price": tradable.price(fill.price) if tradable else fill.price,
        "size": tradable.size(fill.size) if tradable else fill.size,
        "fee": tradable.money(fee) if tradable else fee,
        "seq": fill.seq,
    }


CSV_COLUMNS = ("time_ms", "market", "side", "role", "price", "size", "fee", "seq")


def fills_csv(*, user_id: int) -> Iterator[str]:
    """Every fill of the user, oldest first, as CSV lines (a header first)."""

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())
    yield writer.writerow(CSV_COLUMNS)
    known = tradables()
    for fill in _fill_rows(user_id).annotate(ts=fill_time()).order_by("pk").iterator(2000):
        row = _fill_row(fill, user_id, known)
        yield writer.writerow(
            [
                row["time"],
                row["market"],
                row["side"],
                row["role"],
                row["price"],
                row["size"],
                row["fee"],
                row["seq"],
            ]
        )
