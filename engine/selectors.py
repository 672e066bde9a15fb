"""Reads of the engine's projections: an account's orders, fills, balances, positions,
holdings and statement, and the markets a shard trades.

`account_overviews` reads everything of one account in one REPEATABLE READ transaction,
so the parts agree with each other at one journal sequence number per shard (`as_of`). The
other selectors read the latest committed batch.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Floor

from engine import models, outcomes
from engine.core.markets import BPS, MarginTier
from engine.core.perp import margin_at
from engine.core.projection import CANDLE_MS
from engine.services import MAX_WAIT_SECONDS
from xip_portal.compiled_queries import CompiledQuery

OPEN = models.Order.Status.OPEN


@contextmanager
def consistent_read() -> Iterator[None]:
    """Every query inside sees the same committed state."""
    with transaction.atomic():
        if connection.vendor == "postgresql" and not connection.savepoint_ids:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def account_caught_up(
    *, account: int, shard: models.Shard | None = None, timeout: float = MAX_WAIT_SECONDS
) -> bool:
    """Wait (up to `timeout` seconds) until every command `account` journaled before
    this call (in `shard`, or in any) is applied, so that a read sees the trader's own
    writes: an order whose id was answered at commit is then found. False if some are
    still pending."""
    commands = models.Command.objects.filter(account=account, seq__isnull=True)
    if shard is not None:
        commands = commands.filter(shard=shard)
    deadline = time.monotonic() + timeout
    for shard_id in sorted(set(commands.values_list("shard_id", flat=True))):

        def pending(shard_id: int = shard_id) -> set[int]:
            return set(commands.filter(shard_id=shard_id).values_list("pk", flat=True))

        if not outcomes.wait_applied(shard_id, pending, deadline - time.monotonic()):
            return False
    return True


def shards_of(*, account: int) -> QuerySet[models.Shard]:
    """The shards (risk groups) where the account holds or held a balance, by id."""
    return (
        models.Shard.objects.filter(balances__account=account)
        .distinct()
        .select_related("risk_group")
        .order_by("id")
    )


def markets_of(*, shard: models.Shard) -> QuerySet[models.MarketView]:
    return models.MarketView.objects.filter(shard=shard)


def market_get(*, shard: models.Shard, market_id: str) -> models.MarketView | None:
    return models.MarketView.objects.filter(shard=shard, market_id=market_id).first()


def orders_of(
    *, shard: models.Shard | None, account: int, open_only: bool = False, market_id: str = ""
) -> QuerySet[models.Order]:
    """Newest first; `open_only` for the resting ones; `shard` None: in every shard."""
    orders = models.Order.objects.filter(account=account)
    if shard is not None:
        orders = orders.filter(shard=shard)
    if open_only:
        orders = orders.filter(status=OPEN)
    if market_id:
        orders = orders.filter(market_id=market_id)
    return orders.order_by("-order_id")


def order_by_command(*, command_id: int) -> models.Order | None:
    """The order a PlaceOrder command placed: its id is the command's."""
    return models.Order.objects.filter(order_id=command_id).first()


def fills_of(
    *, shard: models.Shard | None, account: int, market_id: str = ""
) -> QuerySet[models.Fill]:
    """The account's fills as maker or taker, oldest first; `shard` None: in every shard."""
    fills = models.Fill.objects.filter(Q(maker_account=account) | Q(taker_account=account))
    if shard is not None:
        fills = fills.filter(shard=shard)
    if market_id:
        fills = fills.filter(market_id=market_id)
    return fills.order_by("seq", "index")


def balances_of(*, shard: models.Shard, account: int) -> QuerySet[models.Balance]:
    return models.Balance.objects.filter(shard=shard, account=account).order_by("asset")


def holdings_of(*, shard: models.Shard, account: int) -> QuerySet[models.Holding]:
    return (
        models.Holding.objects.filter(shard=shard, account=account)
        .exclude(yes=0, no=0, yes_locked=0, no_locked=0)
        .order_by("market_id")
    )


def statement_of(*, shard: models.Shard | None, account: int) -> QuerySet[models.StatementEntry]:
    """Oldest first; `shard` None: in every shard."""
    entries = models.StatementEntry.objects.filter(account=account)
    if shard is not None:
        entries = entries.filter(shard=shard)
    return entries.order_by("seq", "index")


@dataclass(frozen=True)
class PositionView:
    """A perp position at the market's mark. Prices in engine units; `entry_price` and
    `liquidation_price` are rounded toward the trader's disadvantage (None: no mark, or
    no price at which the account would be liquidated)."""

    market_id: str
    size: int
    entry_notional: int
    entry_price: int
    mark: int
    unrealised_pnl: int
    initial_margin: int
    maintenance_margin: int
    realised_pnl: int
    funding: int
    liquidation_price: int | None


def positions_of(
    *, shard: models.Shard, account: int, trade: tuple[str, int, int] | None = None
) -> list[PositionView]:
    """The account's open perp positions with PnL, margin and liquidation price (cross
    margin: the whole account's equity backs each position). With `trade` = (market id,
    signed size, price), as they would be after that trade fills (an order's preview)."""
    rows = list(models.Position.objects.filter(shard=shard, account=account).exclude(size=0))
    if trade is not None:
        rows = _with_trade(rows, shard, account, *trade)
    if not rows:
        return []
    markets = {
        m.market_id: m
        for m in models.MarketView.objects.filter(
            shard=shard, market_id__in=[r.market_id for r in rows]
        )
    }
    cash = models.Balance.objects.filter(
        shard=shard, account=account, asset=shard.collateral
    ).first()
    equity_cash = int(cash.free + cash.locked) if cash is not None else 0
    parts = []
    for row in rows:
        market = markets[row.market_id]
        size, entry, mark = int(row.size), int(row.entry), int(market.mark)
        tiers = tuple(MarginTier(**tier) for tier in market.config["margin_tiers"])
        im, mm = margin_at(abs(size) * mark, tiers)
        parts.append((row, market, size, entry, mark, tiers, size * mark - entry, im, mm))
    equity = equity_cash + sum(part[6] for part in parts)
    maintenance = sum(part[8] for part in parts)
    views = []
    for row, market, size, entry, mark, tiers, upnl, im, mm in parts:
        views.append(
            PositionView(
                market_id=market.market_id,
                size=size,
                entry_notional=entry,
                entry_price=-(-entry // size) if size > 0 else entry // size,
                mark=mark,
                unrealised_pnl=upnl,
                initial_margin=im,
                maintenance_margin=mm,
                realised_pnl=int(row.realised),
                funding=int(row.funding),
                liquidation_price=_liquidation_price(
                    size, entry, equity - upnl, maintenance - mm, _mm_bps(abs(size) * mark, tiers)
                ),
            )
        )
    return views


def _with_trade(
    rows: list[models.Position],
    shard: models.Shard,
    account: int,
    market_id: str,
    size: int,
    price: int,
) -> list[models.Position]:
    """The positions after a fill of `size` (signed) at `price` in `market_id`: the entry
    notional grows with the size, and shrinks in proportion as a position is reduced."""
    found = next((row for row in rows if row.market_id == market_id), None)
    if found is None:
        found = models.Position(
            shard=shard,
            account=account,
            market_id=market_id,
            size=0,
            entry=0,
            realised=0,
            funding=0,
            seq=0,
        )
        rows = [*rows, found]
    held, entry = int(found.size), int(found.entry)
    after = held + size
    if held == 0 or (held > 0) == (size > 0):
        entry += size * price
    elif (after > 0) == (held > 0) and after:
        entry = entry * after // held
    else:
        entry = after * price
    found.size, found.entry = after, entry
    return [row for row in rows if int(row.size)]


def _mm_bps(notional: int, tiers: tuple[MarginTier, ...]) -> int:
    for tier in tiers:
        if notional <= tier.max_notional:
            return tier.mm_bps
    return tiers[-1].mm_bps


def _liquidation_price(
    size: int, entry: int, equity_rest: int, maintenance_rest: int, mm_bps: int
) -> int | None:
    """The mark m at which equity_rest + size*m - entry = maintenance_rest + |size|*m*rate,
    the other positions held where they are."""
    denominator = size * BPS - abs(size) * mm_bps
    if not denominator:
        return None
    numerator = (maintenance_rest + entry - equity_rest) * BPS
    price = -(-numerator // denominator) if size > 0 else numerator // denominator
    return price if price > 0 else None


# read on every market page view (xip_portal.compiled_queries)
_HIGH_WATER = CompiledQuery(
    lambda shard: models.Shard.objects.filter(pk=shard).values_list("high_water"), shard=int
)


def high_water_of(*, shard: models.Shard) -> int:
    """The sequence number of the shard's last committed batch: its projections are at least
    that new."""
    ((high_water,),) = _HIGH_WATER.rows(shard=shard.pk)
    return int(high_water)


class OpenOrder(NamedTuple):
    """An open order as an account's overview lists it (read as a row: building the
    model's instances cost more than the rest of the portfolio's rows)."""

    shard_id: int
    order_id: int
    market_id: str
    side: str
    outcome: str
    price: Decimal
    size: Decimal
    remaining: Decimal


@dataclass
class AccountOverview:
    """One account in one shard, as of the shard's sequence number `as_of`."""

    shard: models.Shard
    as_of: int
    balances: list[models.Balance]
    open_orders: list[OpenOrder]
    positions: list[PositionView]
    holdings: list[models.Holding]


# the account's balances and open orders in every shard (the portfolio's page views)
_ACCOUNT_BALANCES = CompiledQuery(
    lambda account: models.Balance.objects.filter(account=account).order_by("asset"),
    account=int,
)
_ACCOUNT_OPEN_ORDERS = CompiledQuery(
    lambda account: (
        models.Order.objects.filter(account=account, status=OPEN)
        .order_by("-order_id")
        .values_list(*OpenOrder._fields)
    ),
    account=int,
)


def account_overviews(
    *,
    shards: Iterable[models.Shard],
    account: int,
    positions_in: Collection[int],
    holdings_in: Collection[int],
) -> list[AccountOverview]:
    """Everything of one account in each of `shards`, in their order, read in one REPEATABLE
    READ transaction: `shards` is evaluated first, inside it, so each shard's high-water mark
    is the sequence number its part is as of. Positions are read only in the shards of the
    risk groups `positions_in`, holdings only in those of `holdings_in` (where the caller has
    markets of those kinds to show them in). Four queries whatever the number of shards,
    orders and holdings, one more for the holdings and up to three per shard with positions.
    The balances and open orders are read in every shard of the account (the page asks for
    all of them) and kept for `shards`."""
    with consistent_read():
        found = list(shards)
        if not found:
            return []
        balances = _by_shard(_ACCOUNT_BALANCES.objects(account=account))
        open_orders = _by_shard(map(OpenOrder._make, _ACCOUNT_OPEN_ORDERS.rows(account=account)))
        holding_shards = [shard.pk for shard in found if shard.risk_group_id in holdings_in]
        holdings = (
            _by_shard(
                models.Holding.objects.filter(shard__in=holding_shards, account=account)
                .exclude(yes=0, no=0, yes_locked=0, no_locked=0)
                .order_by("market_id")
            )
            if holding_shards
            else {}
        )
        return [
            AccountOverview(
                shard=shard,
                as_of=int(shard.high_water),
                balances=balances.get(shard.pk, []),
                open_orders=open_orders.get(shard.pk, []),
                positions=positions_of(shard=shard, account=account)
                if shard.risk_group_id in positions_in
                else [],
                holdings=holdings.get(shard.pk, []),
            )
            for shard in found
        ]


def _by_shard(rows: Iterable[Any]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.shard_id, []).append(row)
    return grouped


@dataclass(frozen=True)
class MarketQuote:
    """An engine market's prices now, in engine units: the best bid and ask of the merged
    book (a prediction NO order at p counts as YES at payout - p), the last trade price,
    and a prediction market's payout (0 otherwise)."""

    market_id: str
    shard_id: int
    kind: str
    status: str
    payout: int
    last_price: int
    bid: int | None
    ask: int | None

    @property
    def quoted(self) -> int | None:
        """The mid of the best bid and ask when both are there, else the last trade."""
        if self.bid is not None and self.ask is not None:
            return (self.bid + self.ask) // 2
        return self.last_price or None


def market_quotes(*, market_ids: list[str]) -> dict[str, MarketQuote]:
    """The quotes of the engine markets `market_ids` (of any shards): two queries."""
    views = list(models.MarketView.objects.filter(market_id__in=market_ids))
    if not views:
        return {}
    tops: dict[tuple[str, str, str], tuple[int, int]] = {
        (market_id, side, outcome or "yes"): (int(high), int(low))
        for market_id, side, outcome, high, low in models.Order.objects.filter(
            market_id__in=[view.market_id for view in views], status=OPEN
        )
        .values("market_id", "side", "outcome")
        .annotate(high=Max("price"), low=Min("price"))
        .values_list("market_id", "side", "outcome", "high", "low")
    }
    quotes = {}
    for view in views:
        market_id = view.market_id
        payout = int(view.config.get("payout") or 0)
        bids, asks = [], []
        if (market_id, "buy", "yes") in tops:
            bids.append(tops[market_id, "buy", "yes"][0])
        if (market_id, "sell", "no") in tops:
            bids.append(payout - tops[market_id, "sell", "no"][1])
        if (market_id, "sell", "yes") in tops:
            asks.append(tops[market_id, "sell", "yes"][1])
        if (market_id, "buy", "no") in tops:
            asks.append(payout - tops[market_id, "buy", "no"][0])
        quotes[market_id] = MarketQuote(
            market_id=market_id,
            shard_id=view.shard_id,
            kind=view.kind,
            status=view.status,
            payout=payout,
            last_price=int(view.last_price),
            bid=max(bids) if bids else None,
            ask=min(asks) if asks else None,
        )
    return quotes


@dataclass(frozen=True)
class MarketSummary:
    """A market's quote and its day: `previous` is the last trade price at or before the
    day's start (0: none); `volume` the size traded since; `open_interest` the open long
    perp contracts or the YES shares held (0 for spot)."""

    quote: MarketQuote
    previous: int
    volume: int
    trades: int
    open_interest: int


def market_summaries(*, market_ids: list[str], since_ms: int) -> dict[str, MarketSummary]:
    """The summaries of the engine markets `market_ids` (of any shards), for the day that
    began at `since_ms` (engine time). A constant number of queries however many markets,
    orders and fills."""
    quotes = market_quotes(market_ids=market_ids)
    if not quotes:
        return {}
    ids = list(quotes)
    # the day to the minute, as the market pages count it: the one-minute bars with a
    # trade since `since_ms` (engine.Candle), and the close of the last one before them
    day_begins = since_ms - CANDLE_MS
    day = {
        market_id: (int(volume), trades)
        for market_id, volume, trades in models.Candle.objects.filter(
            market_id__in=ids, start__gt=day_begins
        )
        .values("market_id")
        .annotate(volume=Sum("volume"), trades=Sum("trades"))
        .values_list("market_id", "volume", "trades")
    }
    previous = dict(
        models.MarketView.objects.filter(market_id__in=ids)
        .annotate(
            previous=Subquery(
                models.Candle.objects.filter(
                    shard=OuterRef("shard"), market_id=OuterRef("market_id"), start__lte=day_begins
                )
                .order_by("-start")
                .values("close")[:1]
            )
        )
        .exclude(previous=None)
        .values_list("market_id", "previous")
    )
    interest = dict(
        models.Position.objects.filter(market_id__in=ids, size__gt=0)
        .values("market_id")
        .annotate(total=Sum("size"))
        .values_list("market_id", "total")
    )
    interest.update(
        models.Holding.objects.filter(market_id__in=ids)
        .values("market_id")
        .annotate(total=Sum(F("yes") + F("yes_locked")))
        .values_list("market_id", "total")
    )
    return {
        market_id: MarketSummary(
            quote=quote,
            previous=int(previous.get(market_id, 0)),
            volume=day.get(market_id, (0, 0))[0],
            trades=day.get(market_id, (0, 0))[1],
            open_interest=int(interest.get(market_id) or 0),
        )
        for market_id, quote in quotes.items()
    }


DAY_MS = 86_400_000


def fill_time() -> Subquery:
    """For annotating fills (and other rows of a command: insurance, funding): the engine
    time (ms) of the command that made the row."""
    return Subquery(
        models.Command.objects.filter(shard=OuterRef("shard"), seq=OuterRef("seq")).values("ts")[
            :1
        ],
        output_field=BigIntegerField(),
    )


@dataclass(frozen=True)
class FeeDay:
    """One market's trading on one UTC day (engine units): volume, notional (price x
    size), the fees net of rebates, and the deployer's share of them as the engine books
    it (each fill's net fee x the market's deployer share, rounded down); the rest is the
    protocol's."""

    market_id: str
    day: int  # days since the epoch
    trades: int
    volume: int
    notional: int
    fees: int
    deployer: int

    @property
    def protocol(self) -> int:
        return self.fees - self.deployer


def fees_by_day(*, market_ids: list[str], since_ms: int = 0) -> list[FeeDay]:
    """The markets' trading and fees per market and day since `since_ms`, newest day
    first: one query."""
    shares = {
        view.market_id: int(view.config.get("deployer_share_bps") or 0)
        for view in models.MarketView.objects.filter(market_id__in=market_ids)
    }
    if not shares:
        return []
    net = F("maker_fee") + F("taker_fee")
    share = Case(
        *(When(market_id=market_id, then=Value(bps)) for market_id, bps in shares.items()),
        default=Value(0),
        output_field=BigIntegerField(),
    )
    rows = (
        models.Fill.objects.filter(market_id__in=list(shares))
        .annotate(ts=fill_time())
        .filter(ts__gte=since_ms)
        .annotate(day=Floor(F("ts") / DAY_MS))
        .values("market_id", "day")
        .annotate(
            trades=Count("pk"),
            volume=Sum("size"),
            notional=Sum(F("price") * F("size")),
            fees=Sum(net),
            deployer=Sum(Floor(net * share / BPS)),
        )
        .order_by("-day", "market_id")
    )
    return [
        FeeDay(
            market_id=row["market_id"],
            day=int(row["day"]),
            trades=row["trades"],
            volume=int(row["volume"]),
            notional=int(row["notional"]),
            fees=int(row["fees"]),
            deployer=int(row["deployer"]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class InsuranceFund:
    """A risk group's insurance fund as its events left it (engine units of the
    collateral): the balance, what flowed in (paid in, liquidation fees, funding
    remainders) and out (deficits covered), the bad debt nobody covered, and how many
    liquidations and auto-deleveragings there were. `as_of`: the last sequence number
    that touched it."""

    balance: int
    inflows: int
    payouts: int
    bad_debt: int
    liquidations: int
    deleveragings: int
    as_of: int


def insurance_fund_of(*, shard: models.Shard) -> InsuranceFund:
    """One aggregate query over the shard's insurance entries."""
    kind = models.InsuranceEntry.Kind

    def total(name: str, only: Q | None = None) -> Coalesce:
        return Coalesce(Sum(name, filter=only), Value(0), output_field=models.amount_field())

    totals = models.InsuranceEntry.objects.filter(shard=shard).aggregate(
        balance=total("amount"),
        inflows=total("amount", Q(amount__gt=0)),
        payouts=total("amount", Q(amount__lt=0)),
        bad_debt=total("bad_debt"),
        liquidations=Count("id", filter=Q(kind=kind.LIQUIDATION_FEE)),
        deleveragings=Count("id", filter=Q(kind__in=(kind.DELEVERAGED, kind.CLAWED_BACK))),
        as_of=Coalesce(Max("seq"), 0),
    )
    return InsuranceFund(
        balance=int(totals["balance"]),
        inflows=int(totals["inflows"]),
        payouts=-int(totals["payouts"]),
        bad_debt=int(totals["bad_debt"]),
        liquidations=int(totals["liquidations"]),
        deleveragings=int(totals["deleveragings"]),
        as_of=int(totals["as_of"]),
    )


def insurance_entries_of(*, shard: models.Shard) -> QuerySet[models.InsuranceEntry]:
    """The fund's moves and auto-deleveragings, newest first, each with the engine time
    (`ts`, ms) of the command that made it."""
    return (
        models.InsuranceEntry.objects.filter(shard=shard).annotate(ts=fill_time()).order_by("-id")
    )


def funding_of(
    *, shard: models.Shard, market_id: str, after_ms: int = 0, before_ms: int = 0
) -> QuerySet[models.FundingEntry]:
    """A perpetual's funding payments, newest first, each with the engine time (`ts`, ms)
    it was paid at; only those paid after `after_ms` and before `before_ms` when given."""
    entries = models.FundingEntry.objects.filter(shard=shard, market_id=market_id).annotate(
        ts=fill_time()
    )
    if after_ms:
        entries = entries.filter(ts__gt=after_ms)
    if before_ms:
        entries = entries.filter(ts__lt=before_ms)
    return entries.order_by("-id")
