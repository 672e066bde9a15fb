"""From the registry's decimal market specs to the engine's integers, exactly.

Engine units, per risk group: an asset that is the group's collateral counts in units of
10^-(decimals + 6) (USDC: 10^-12), so that a spot price per smallest unit of a base asset
is still a whole number of them; any other asset counts in units of 10^-min(decimals, 9)
(BTC: a satoshi; ETH: a gwei). Spot sizes are base units and prices are quote units per
base unit. Perp and prediction sizes count lots (a perp contract is one lot of the base; a
prediction share is one lot of shares, paying one collateral unit per share), and their
prices are collateral units per lot. A spec value that is not a whole number of its
engine unit is refused (SpecNotConvertible naming the field), never rounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.core.markets import MarginTier, MarketConfig, MarketKind
from engine.errors import SpecNotConvertible
from engine.services import units_exact

COLLATERAL_EXTRA_DIGITS = 6
MAX_ASSET_DIGITS = 9
HOUR_MS = 3_600_000


def asset_unit(*, decimals: int, collateral: bool) -> Decimal:
    """The engine's unit of an asset (what one engine integer is worth)."""
    digits = decimals + COLLATERAL_EXTRA_DIGITS if collateral else min(decimals, MAX_ASSET_DIGITS)
    return Decimal(1).scaleb(-digits)


@dataclass(frozen=True)
class ListedMarket:
    """The engine config of a market and the decimal value of one engine unit of its
    prices and sizes (human value = engine integer * unit)."""

    config: MarketConfig
    price_unit: Decimal
    size_unit: Decimal

    def price(self, value: Any, field: str = "price") -> int:
        return units_exact(value, unit=self.price_unit, field=field)

    def size(self, value: Any, field: str = "size") -> int:
        return units_exact(value, unit=self.size_unit, field=field)


def market_config_from_spec(
    spec: dict[str, Any],
    *,
    collateral: str,
    decimals: dict[str, int],
    close_at: datetime | None = None,
) -> ListedMarket:
    """The engine config of a registry spec. `decimals` maps each asset symbol the spec
    names to its decimals; `close_at` is a prediction market's close time."""
    kind = MarketKind(spec["market_type"])
    quote = spec["quote_asset"]
    base = spec.get("base_asset") or ""
    quote_unit = asset_unit(decimals=decimals[quote], collateral=quote == collateral)
    tick, lot = Decimal(spec["tick"]), Decimal(spec["lot"])
    if kind is MarketKind.SPOT:
        size_unit = asset_unit(decimals=decimals[base], collateral=base == collateral)
        price_unit = quote_unit / size_unit
    else:
        # sizes count lots; prices are collateral units per lot
        size_unit = lot
        price_unit = quote_unit / lot
    values: dict[str, Any] = {
        "market_id": spec["symbol"],
        "kind": kind,
        "quote_asset": quote,
        "base_asset": base if kind is MarketKind.SPOT else "",
        "tick_size": units_exact(tick, unit=price_unit, field="tick"),
        "lot_size": units_exact(lot, unit=size_unit, field="lot"),
        "min_size": units_exact(spec.get("min_size") or lot, unit=size_unit, field="min_size"),
        "price_band_bps": spec.get("price_band_bps") or 0,
        "maker_fee_bps": spec.get("maker_fee_bps") or 0,
        "taker_fee_bps": spec.get("taker_fee_bps") or 0,
        "deployer_share_bps": spec.get("deployer_share_bps") or 0,
    }
    if kind is MarketKind.PERP:
        values["margin_tiers"] = tuple(
            MarginTier(
                units_exact(tier["max_notional"], unit=quote_unit, field="margin_tiers"),
                tier["im_bps"],
                tier["mm_bps"],
            )
            for tier in spec["margin_tiers"]
        )
        values["funding_interval_ms"] = spec["funding_interval_hours"] * HOUR_MS
        values["funding_cap_ppm"] = spec["funding_cap_bps"] * 100
        values["liquidation_fee_bps"] = spec.get("liquidation_fee_bps") or 0
    elif kind is MarketKind.PREDICTION:
        values["payout"] = units_exact(1, unit=price_unit, field="lot")
        values["close_ts"] = int(close_at.timestamp() * 1000) if close_at is not None else 0
        values["dispute_window_ms"] = (spec.get("dispute_window_hours") or 0) * HOUR_MS
        values["outcomes"] = tuple(spec.get("outcomes") or ())
    config = MarketConfig(**values)
    if config.validate() is not None:
        raise SpecNotConvertible(
            f"The spec of {spec['symbol']} does not make a valid engine market.", field="spec"
        )
    return ListedMarket(config, price_unit, size_unit)
