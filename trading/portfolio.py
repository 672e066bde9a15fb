"""A trader's unified account across risk groups and market types, in the trader's
decimals: per risk group the collateral (free, reserved for orders, in positions), perp
positions with unrealised PnL, outcome holdings with their value, open orders; across
groups the latest fills, the statement (deposits, withdrawals, transfers, bonds, fees,
funding, payouts) with totals, and the transfers between groups.

Read from the engine's selectors in a constant number of queries whatever the number of
risk groups, orders, holdings and fills (a few more per risk group with perp positions);
the history is kept rendered in the cache while it has not changed (HISTORY_SECONDS)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    DateTimeField,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from engine import models as engine
from engine.selectors import (
    AccountOverview,
    MarketQuote,
    account_overviews,
    fill_time,
    market_quotes,
)
from engine.specs import asset_unit
from governance.risk_groups.models import RiskGroup
from markets.models import Asset
from markets.selectors import registry_mark, risk_groups_kept
from xip_portal.cache import kept_while
from xip_portal.compiled_queries import CompiledQuery
from xip_portal.templatetags.numbers import amount

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
    # open orders as the page shows them: dicts of text, the quickest rows for a template
    orders: list[dict[str, str]] = field(default_factory=list)

    @property
    def unrealised_pnl(self) -> Decimal:
        return sum((p.unrealised_pnl for p in self.positions), Decimal(0))

    @property
    def equity(self) -> Decimal:
        held = sum((h.value for h in self.holdings), Decimal(0))
        return self.free + self.reserved + self.unrealised_pnl + held


@dataclass
class History:
    """The trader's latest fills, statement lines with the totals per kind, and transfers."""

    fills: list[dict[str, Any]] = field(default_factory=list)
    statement: list[dict[str, Any]] = field(default_factory=list)
    totals: list[dict[str, Any]] = field(default_factory=list)  # per group, asset and category
    transfers: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Portfolio:
    groups: list[GroupAccount]
    history: SafeString  # trading/includes/portfolio_history.html, rendered


def _fill_rows(user_id: int) -> QuerySet[engine.Fill]:
    return engine.Fill.objects.filter(Q(maker_account=user_id) | Q(taker_account=user_id))


# The history changes only when the trader has a new fill or statement line, a transfer of
# theirs moves on, or a risk group or market is edited (their names and units): it is kept
# rendered in the cache, per user, with a mark of all of that: what the shards query reads in
# passing (the last sequence number of the trader's fills as maker, as taker and of their
# statement lines in each shard, the latest change of their transfers) and the registry's
# mark, read once for the page (markets.selectors.registry_mark). Those rows are only ever
# added for a later sequence number or, for transfers and the registry, saved with a later
# time, so an entry whose mark equals the one just read shows the same as a render would. A
# row committed after the mark was read is in the render already, stored under the older
# mark: the next page renders again; it is never older.
HISTORY_SECONDS = 300


# The history's mark in SQL: Django compiles these several times faster than the same
# subqueries built from querysets (about a millisecond of CPU per page). (name, SQL, type)
HISTORY_MARK = (
    (
        "last_made",
        "SELECT max(seq) FROM engine_fill WHERE shard_id = engine_shard.id AND maker_account = %s",
        BigIntegerField,
    ),
    (
        "last_taken",
        "SELECT max(seq) FROM engine_fill WHERE shard_id = engine_shard.id AND taker_account = %s",
        BigIntegerField,
    ),
    (
        "last_line",
        "SELECT max(seq) FROM engine_statemententry WHERE shard_id = engine_shard.id "
        "AND account = %s",
        BigIntegerField,
    ),
    (
        "transfers_changed",
        "SELECT max(updated_at) FROM engine_transfer WHERE account = %s",
        DateTimeField,
    ),
)


# the shards where the user has an account, by risk group name, each with the history's mark
# (one query, compiled once: xip_portal.compiled_queries); their risk groups come from
# the registry (risk_groups_kept)
_SHARDS_OF = CompiledQuery(
    lambda user: (
        engine.Shard.objects.filter(
            pk__in=engine.Balance.objects.filter(account=user).values("shard")
        )
        .order_by("risk_group__name")
        .annotate(
            **{
                name: RawSQL(sql, (user,) * sql.count("%s"), kind())  # noqa: S611 - constants
                for name, sql, kind in HISTORY_MARK
            }
        )
    ),
    user=int,
)


def _history_mark(shards: list[engine.Shard]) -> tuple[Any, ...]:
    """What the shards query read of the history's mark (the registry's is apart)."""
    if not shards:
        return ()
    return (
        shards[0].transfers_changed,  # type: ignore[attr-defined]
        *(
            (shard.pk, shard.last_made, shard.last_taken, shard.last_line)  # type: ignore[attr-defined]
            for shard in shards
        ),
    )


def portfolio_of(*, user_id: int) -> Portfolio:
    registry = registry_mark()
    known = tradables(registry)
    overviews = account_overviews(
        shards=_SHARDS_OF.objects(user=user_id),
        account=user_id,
        positions_in={t.risk_group_id for t in known.values() if t.kind == "perp"},
        holdings_in={t.risk_group_id for t in known.values() if t.kind == "prediction"},
    )
    shards = [overview.shard for overview in overviews]
    risk_groups = risk_groups_kept(registry)
    for shard in shards:
        shard.risk_group = risk_groups[shard.risk_group_id]
    by_shard = {shard.pk: shard for shard in shards}
    decimals = dict(Asset.objects.values_list("symbol", "decimals"))

    def money(shard_id: int, asset: str, units: Any) -> Decimal:
        """Engine units of `asset` in the shard as a decimal amount."""
        shard = by_shard[shard_id]
        unit = asset_unit(decimals=decimals[asset], collateral=asset == shard.collateral)
        return (Decimal(units) * unit).normalize()

    held = [h.market_id for o in overviews for h in o.holdings if h.market_id in known]
    quotes = market_quotes(market_ids=held) if held else {}
    groups = [_group_account(overview, money, known, quotes) for overview in overviews]
    history = kept_while(
        f"portfolio-history:{user_id}",
        (registry, _history_mark(shards)),
        lambda: render_to_string(
            "trading/includes/portfolio_history.html",
            {"history": _history_of(user_id, shards, money, decimals, known)},
        ),
        HISTORY_SECONDS,
    )
    return Portfolio(groups=groups, history=SafeString(history))


def _history_of(
    user_id: int,
    shards: list[engine.Shard],
    money: Any,
    decimals: dict[str, int],
    known: dict[str, Tradable],
) -> History:
    if not shards:  # no account: no fills, statement or transfers either
        return History()
    by_shard = {shard.pk: shard for shard in shards}
    fills = [
        _fill_row(fill, user_id, known)
        for fill in _fill_rows(user_id)
        .filter(shard__in=shards)
        .annotate(ts=fill_time())
        .order_by("-pk")[:RECENT]
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
    return History(fills=fills, statement=statement, totals=totals, transfers=transfers)


def _group_account(
    overview: AccountOverview,
    money: Any,
    known: dict[str, Tradable],
    quotes: dict[str, MarketQuote],
) -> GroupAccount:
    shard = overview.shard
    account = GroupAccount(shard.risk_group, shard.collateral, overview.as_of)
    for balance in overview.balances:
        free, locked = (
            money(shard.pk, balance.asset, balance.free),
            money(shard.pk, balance.asset, balance.locked),
        )
        if balance.asset == shard.collateral:
            account.free, account.reserved = free, locked
        else:
            account.other_assets.append((balance.asset, free, locked))
    for position in overview.positions:
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
    for holding in overview.holdings:
        tradable = known.get(holding.market_id)
        if tradable is None:
            continue
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
    for order in overview.open_orders:
        tradable = known.get(order.market_id)
        if tradable is not None:
            account.orders.append(
                {
                    "symbol": tradable.market.symbol,
                    "market": tradable.engine_market,
                    "side": f"{order.side} {order.outcome.upper()}"
                    if order.outcome
                    else order.side,
                    "price": amount(tradable.price(order.price)),
                    "size": amount(tradable.size(order.size)),
                    "remaining": amount(tradable.size(order.remaining)),
                    "id": str(order.order_id),
                }
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
