"""Dry-run of a proposed perpetual: its risk parameters (margin tiers, price band, tick, lot,
liquidation fee) against a generated gap move, through a throwaway `engine.core.Engine`.

The scenario is fixed so that two specs can be compared: the market opens at a reference
price; a maker rests bids below it (1% apart, within the book's band) and sells to six
traders who each put the same collateral behind a long at 2x, 5x, 10x, 15x, 20x and 25x;
the insurance fund holds a small float. Then the oracle gaps down by the chosen size. What
the engine says is the result: which orders were refused (and why), which accounts were
liquidated, what the insurance fund paid, who was deleveraged, and the bad debt left. It
depends only on the spec and the gap, so it is cached per (config hash, gap).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.core.cache import cache

from engine.core import (
    AddMarket,
    CancelAll,
    DeficitCovered,
    Deleveraged,
    Deposit,
    Engine,
    FundInsurance,
    Liquidated,
    OraclePrice,
    PlaceOrder,
    Rejected,
    Side,
)
from engine.errors import SpecNotConvertible
from engine.specs import market_config_from_spec
from markets.config_hash import config_hash
from markets.models import Asset
from xip_portal.errors import ApplicationError

LEVERAGES = (2, 5, 10, 15, 20, 25)
MAKER, SHORT = 1, 2
TRADER_IDS = tuple(range(10, 10 + len(LEVERAGES)))
REFERENCE_PRICE = Decimal(1000)
COLLATERAL_EACH = Decimal(1000)
INSURANCE_FLOAT = Decimal(500)
GAP_CHOICES = (500, 1000, 2000, 3000, 5000)
DEFAULT_GAP_BPS = 2000
CACHE_SECONDS = 24 * 3600


@dataclass
class DryRun:
    gap_bps: int
    refused: list[str] = field(default_factory=list)
    liquidated: list[str] = field(default_factory=list)
    deleveraged: list[str] = field(default_factory=list)
    insurance_used: Decimal = Decimal(0)
    bad_debt: Decimal = Decimal(0)
    insurance_after: Decimal = Decimal(0)

    @property
    def summary(self) -> str:
        return (
            f"A {self.gap_bps / 100:g}% gap down: {len(self.refused)} of {len(LEVERAGES)} "
            f"longs refused, {len(self.liquidated)} liquidated, "
            f"{len(self.deleveraged)} deleveraging fills, insurance paid "
            f"{self.insurance_used.normalize():f}, bad debt {self.bad_debt.normalize():f}."
        )


def proposal_dry_run(*, spec: dict[str, Any], gap_bps: int) -> DryRun:
    """The dry-run of a perpetual market spec under a gap down of `gap_bps` (cached)."""
    if spec.get("market_type") != "perp":
        raise ApplicationError("Only perpetual markets have a dry-run.", field="spec")
    if gap_bps not in GAP_CHOICES:
        raise ApplicationError(
            f"The gap is one of {', '.join(str(g) for g in GAP_CHOICES)} bps.", field="gap_bps"
        )
    key = f"xip-dry-run:{config_hash(spec)}:{gap_bps}"
    cached = cache.get(key)
    if isinstance(cached, DryRun):
        return cached
    result = _run(spec, gap_bps)
    cache.set(key, result, CACHE_SECONDS)
    return result


def _run(spec: dict[str, Any], gap_bps: int) -> DryRun:
    quote = spec["quote_asset"]
    symbols = {quote, spec.get("base_asset") or quote}
    decimals = dict(Asset.objects.filter(symbol__in=symbols).values_list("symbol", "decimals"))
    try:
        listed = market_config_from_spec(spec, collateral=quote, decimals=decimals)
    except (SpecNotConvertible, KeyError, TypeError, ValueError) as error:
        raise ApplicationError(f"The spec does not make an engine market: {error}") from None
    config = listed.config
    money_unit = listed.price_unit * listed.size_unit  # one engine unit of collateral
    market = config.market_id
    engine = Engine("dry-run", collateral=quote)
    ts = 1

    def apply(command: Any) -> list[Any]:
        nonlocal ts
        ts += 1
        return engine.apply(replace(command, ts=ts))

    def money(amount: Decimal) -> int:
        return int(amount / money_unit)

    def price(value: Decimal) -> int:
        ticks = int(value / listed.price_unit) // config.tick_size
        return max(ticks, 1) * config.tick_size

    def lots(value: Decimal) -> int:
        return max(int(value / listed.size_unit) // config.lot_size, 1) * config.lot_size

    apply(AddMarket(config))
    reference = price(REFERENCE_PRICE)
    apply(OraclePrice(market, reference))
    apply(FundInsurance(money(INSURANCE_FLOAT), "dry-run-insurance"))
    for account in (MAKER, SHORT):
        apply(Deposit(account, quote, money(COLLATERAL_EACH * 1000), f"dry-run-{account}"))
    for step in range(1, 11):  # bids every 1% below the reference
        level = price(REFERENCE_PRICE * (100 - step) / 100)
        apply(PlaceOrder(MAKER, market, Side.BUY, lots(Decimal(5)), price=level))
    result = DryRun(gap_bps=gap_bps)
    names = {}
    for account, leverage in zip(TRADER_IDS, LEVERAGES, strict=True):
        names[account] = f"the {leverage}x long"
        apply(Deposit(account, quote, money(COLLATERAL_EACH), f"dry-run-{account}"))
        size = lots(COLLATERAL_EACH * leverage / REFERENCE_PRICE)
        apply(PlaceOrder(SHORT, market, Side.SELL, size, price=reference))
        events = apply(PlaceOrder(account, market, Side.BUY, size, price=reference))
        refusal = next((e for e in events if isinstance(e, Rejected)), None)
        if refusal is not None:
            result.refused.append(f"{names[account]}: {refusal.reason}")
            apply(CancelAll(SHORT, market))  # its offer to the refused long
    insurance_before = engine.insurance
    gapped = price(REFERENCE_PRICE * (10_000 - gap_bps) / 10_000)
    for event in apply(OraclePrice(market, gapped)):
        if isinstance(event, Liquidated):
            result.liquidated.append(
                f"{names.get(event.account, 'the short')}: equity "
                f"{_decimal(event.equity, money_unit)} below maintenance "
                f"{_decimal(event.maintenance, money_unit)}"
            )
        elif isinstance(event, Deleveraged):
            result.deleveraged.append(
                f"{names.get(event.account, 'an account')} against "
                f"{names.get(event.counterparty, 'the short')}: {event.size} lots"
            )
        elif isinstance(event, DeficitCovered):
            result.insurance_used += _decimal(event.insurance_used, money_unit)
            result.bad_debt += _decimal(event.bad_debt, money_unit)
    engine.check_invariants()
    result.insurance_after = _decimal(engine.insurance, money_unit)
    if engine.insurance < insurance_before:
        result.insurance_used = max(
            result.insurance_used, _decimal(insurance_before - engine.insurance, money_unit)
        )
    return result


def _decimal(units: int, unit: Decimal) -> Decimal:
    return (units * unit).quantize(Decimal("0.01"))
