"""Market specifications as the market registry hands them to the engine."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from engine.core.reasons import Reason

BPS: Final = 10_000
PPM: Final = 1_000_000


class MarketKind(StrEnum):
    SPOT = "spot"
    PERP = "perp"
    PREDICTION = "prediction"


class MarketStatus(StrEnum):
    LIVE = "live"
    HALTED = "halted"
    CLOSED = "closed"
    SETTLED = "settled"


@dataclass(frozen=True, slots=True)
class MarginTier:
    """Margin rates for positions whose notional at mark is at most `max_notional`.

    The last tier of a market applies to any notional above the previous tiers.
    """

    max_notional: int
    im_bps: int
    mm_bps: int

    def to_dict(self) -> dict[str, int]:
        return {"max_notional": self.max_notional, "im_bps": self.im_bps, "mm_bps": self.mm_bps}


@dataclass(frozen=True, slots=True)
class MarketConfig:
    """One market's rules.

    Units: prices are integer minor units of `quote_asset` per unit of size; sizes are
    integer units (spot: minor units of `base_asset`; perp: contracts; prediction: shares).
    A prediction share pays `payout` minor units of collateral when it wins, so prices of a
    prediction market lie strictly between 0 and `payout`. Times are integer milliseconds.
    A prediction market with `outcomes` is categorical: one binary market per outcome,
    named `<market_id>:<outcome>`, exactly one of which resolves YES.
    """

    market_id: str
    kind: MarketKind
    quote_asset: str
    base_asset: str = ""
    tick_size: int = 1
    lot_size: int = 1
    min_size: int = 1
    price_band_bps: int = 0
    market_order_band_bps: int = 500
    maker_fee_bps: int = 0
    taker_fee_bps: int = 0
    deployer_share_bps: int = 0
    margin_tiers: tuple[MarginTier, ...] = ()
    funding_interval_ms: int = 0
    funding_cap_ppm: int = 0
    liquidation_fee_bps: int = 0
    payout: int = 0
    close_ts: int = 0
    dispute_window_ms: int = 0
    outcomes: tuple[str, ...] = ()

    def validate(self) -> Reason | None:
        """Return why the config is unusable, or None."""
        if not self._typed():
            return Reason.BAD_MARKET_CONFIG
        if not self.market_id or ":" in self.market_id or not self.quote_asset:
            return Reason.BAD_MARKET_CONFIG
        if self.tick_size <= 0 or self.lot_size <= 0 or self.min_size <= 0:
            return Reason.BAD_MARKET_CONFIG
        if self.price_band_bps < 0 or not 0 < self.market_order_band_bps < BPS:
            return Reason.BAD_MARKET_CONFIG
        # a maker rebate is bounded by the taker fee so that every trade nets a fee >= 0
        if not 0 <= self.taker_fee_bps <= BPS or not -self.taker_fee_bps <= self.maker_fee_bps:
            return Reason.BAD_MARKET_CONFIG
        if self.maker_fee_bps > BPS or not 0 <= self.deployer_share_bps <= BPS:
            return Reason.BAD_MARKET_CONFIG
        if self.kind is MarketKind.SPOT:
            if not self.base_asset or self.base_asset == self.quote_asset:
                return Reason.BAD_MARKET_CONFIG
        elif self.kind is MarketKind.PERP:
            return self._validate_perp()
        elif self.kind is MarketKind.PREDICTION:
            return self._validate_prediction()
        return None

    def _typed(self) -> bool:
        """Whether every field holds its declared type (bools and floats are not ints):
        a config built from untyped input is refused rather than let into the engine."""
        values: tuple[object, ...] = (self.market_id, self.quote_asset, self.base_asset)
        if any(type(value) is not str for value in values) or type(self.kind) is not MarketKind:
            return False
        numbers: tuple[object, ...] = (
            self.tick_size,
            self.lot_size,
            self.min_size,
            self.price_band_bps,
            self.market_order_band_bps,
            self.maker_fee_bps,
            self.taker_fee_bps,
            self.deployer_share_bps,
            self.funding_interval_ms,
            self.funding_cap_ppm,
            self.liquidation_fee_bps,
            self.payout,
            self.close_ts,
            self.dispute_window_ms,
        )
        if any(type(value) is not int for value in numbers):
            return False
        tiers: object = self.margin_tiers
        outcomes: object = self.outcomes
        if type(tiers) is not tuple or type(outcomes) is not tuple:
            return False
        for tier in tiers:
            if type(tier) is not MarginTier:
                return False
            if any(type(v) is not int for v in (tier.max_notional, tier.im_bps, tier.mm_bps)):
                return False
        return all(type(name) is str for name in outcomes)

    def _validate_perp(self) -> Reason | None:
        if not self.margin_tiers or self.funding_interval_ms <= 0 or self.funding_cap_ppm < 0:
            return Reason.BAD_MARKET_CONFIG
        if not 0 <= self.liquidation_fee_bps < BPS:
            return Reason.BAD_MARKET_CONFIG
        previous = 0
        for tier in self.margin_tiers:
            if tier.max_notional <= previous or not 0 < tier.mm_bps <= tier.im_bps <= BPS:
                return Reason.BAD_MARKET_CONFIG
            previous = tier.max_notional
        return None

    def _validate_prediction(self) -> Reason | None:
        # void pays half a unit per share, so the unit must split evenly
        if self.payout <= 0 or self.payout % 2 or self.payout % self.tick_size:
            return Reason.BAD_MARKET_CONFIG
        if self.close_ts < 0 or self.dispute_window_ms < 0:
            return Reason.BAD_MARKET_CONFIG
        if len(set(self.outcomes)) != len(self.outcomes) or len(self.outcomes) == 1:
            return Reason.BAD_MARKET_CONFIG
        if any(not name or ":" in name for name in self.outcomes):
            return Reason.BAD_MARKET_CONFIG
        return None

    def to_dict(self) -> dict[str, object]:
        return {
            "market_id": self.market_id,
            "kind": str(self.kind),
            "quote_asset": self.quote_asset,
            "base_asset": self.base_asset,
            "tick_size": self.tick_size,
            "lot_size": self.lot_size,
            "min_size": self.min_size,
            "price_band_bps": self.price_band_bps,
            "market_order_band_bps": self.market_order_band_bps,
            "maker_fee_bps": self.maker_fee_bps,
            "taker_fee_bps": self.taker_fee_bps,
            "deployer_share_bps": self.deployer_share_bps,
            "margin_tiers": [tier.to_dict() for tier in self.margin_tiers],
            "funding_interval_ms": self.funding_interval_ms,
            "funding_cap_ppm": self.funding_cap_ppm,
            "liquidation_fee_bps": self.liquidation_fee_bps,
            "payout": self.payout,
            "close_ts": self.close_ts,
            "dispute_window_ms": self.dispute_window_ms,
            "outcomes": list(self.outcomes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> "MarketConfig":
        values = dict(data)
        values["kind"] = MarketKind(str(values["kind"]))
        tiers = values.get("margin_tiers", [])
        outcomes = values.get("outcomes", [])
        if not isinstance(tiers, list) or not isinstance(outcomes, list):
            raise TypeError("margin_tiers and outcomes must be lists")
        values["margin_tiers"] = tuple(MarginTier(**tier) for tier in tiers)
        values["outcomes"] = tuple(str(name) for name in outcomes)
        return cls(**values)  # type: ignore[arg-type]


# the types a command's or an event's field holds as it is written in JSON (bool is not an
# int here: `type` is checked, not isinstance)
_PLAIN_TYPES: Final = frozenset({int, str, bool, type(None)})


def plain(value: Any) -> Any:
    """A command's or an event's field as written in JSON: an enum as its value, a market
    config as its dict, anything else as it is."""
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, MarketConfig):
        return value.to_dict()
    if isinstance(value, StrEnum):
        return str(value)
    return value
