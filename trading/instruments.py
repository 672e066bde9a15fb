"""What a trader can trade: every tradable of every market in the registry that its engine
lists (live or halted), with the units that turn the trader's decimals into the engine's
integers. A spot or perp market is one tradable; a binary prediction market is one (its
YES share); a categorical one is one per outcome (the engine's `<market>:<outcome>`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from engine import models as engine
from engine.core.reasons import Reason
from engine.services import shard_of
from engine.specs import ListedMarket
from markets.models import Market, MarketStatus
from markets.selectors import registry_mark
from markets.services import market_engine_config
from xip_portal.cache import kept_in_process
from xip_portal.errors import ApplicationError

TRADABLE_STATUSES = (MarketStatus.LIVE, MarketStatus.HALTED)


@dataclass(frozen=True)
class Tradable:
    market: Market
    engine_market: str  # the market's id in its risk group's engine
    outcome: str  # a categorical market's outcome; "" otherwise
    listed: ListedMarket

    @property
    def kind(self) -> str:
        return str(self.market.market_type)

    @property
    def risk_group_id(self) -> int:
        return int(self.market.risk_group_id)

    @property
    def is_live(self) -> bool:
        return self.market.status == MarketStatus.LIVE

    def price(self, units: int | Decimal) -> Decimal:
        """An engine price as a decimal (per base unit, per contract's base, per share)."""
        return (Decimal(units) * self.listed.price_unit).normalize()

    def money(self, units: int | Decimal) -> Decimal:
        """An engine amount of the collateral (fees, PnL, margin) as a decimal."""
        unit = self.listed.price_unit * self.listed.size_unit
        return (Decimal(units) * unit).normalize()

    def size(self, units: int | Decimal) -> Decimal:
        """An engine size as a decimal amount of the base (perp: of lots' base value)."""
        return (Decimal(units) * self.listed.size_unit).normalize()


def tradables(mark: tuple[object, ...] | None = None) -> dict[str, Tradable]:
    """Every tradable by its engine market id, in symbol order (one cheap query when the
    registry has not changed since the last call in this process; none when the caller
    passes the registry's `mark`, read already)."""
    mark = registry_mark() if mark is None else mark
    return kept_in_process("tradables", mark, _tradables_listed)


def _tradables_listed() -> dict[str, Tradable]:
    found: dict[str, Tradable] = {}
    listed = Market.objects.filter(status__in=TRADABLE_STATUSES)
    for market in listed.select_related("risk_group", "base_asset", "quote_asset").order_by(
        "symbol"
    ):
        config = market_engine_config(market)
        outcomes = market.spec.get("outcomes") or [] if market.market_type == "prediction" else []
        if outcomes:
            for outcome in outcomes:
                engine_market = f"{market.symbol}:{outcome}"
                found[engine_market] = Tradable(market, engine_market, outcome, config)
        else:
            found[market.symbol] = Tradable(market, market.symbol, "", config)
    return found


def tradable_get(market: str) -> Tradable:
    """The tradable whose engine id is `market` ("BTC-USDC", "ETH-PERP",
    "WC26-WINNER:Argentina"), or unknown_market."""
    tradable = tradables().get(str(market or ""))
    if tradable is None:
        raise ApplicationError(
            f"No tradable market {market!r}.", code=Reason.UNKNOWN_MARKET, field="market"
        )
    return tradable


def trading_shards() -> list[engine.Shard]:
    """The engine shards of every risk group with a tradable market, by risk group."""
    groups = sorted({t.risk_group_id for t in tradables().values()})
    return [shard_of(risk_group=group) for group in groups]


def tradables_of(engine_markets: Iterable[str]) -> dict[str, Tradable | None]:
    """The tradables of engine market ids, also of markets that no longer trade (closed,
    settled, delisted: their orders and fills are still read in their units)."""
    listed = tradables()
    return {market: listed.get(market) or _tradable_past(market) for market in set(engine_markets)}


def tradable_of(engine_market: str) -> Tradable | None:
    return tradables_of([engine_market])[engine_market]


def _tradable_past(engine_market: str) -> Tradable | None:
    symbol, _, outcome = engine_market.partition(":")
    market = (
        Market.objects.select_related("risk_group", "base_asset", "quote_asset")
        .filter(symbol=symbol)
        .first()
    )
    if market is None:
        return None
    return Tradable(market, engine_market, outcome, market_engine_config(market))
