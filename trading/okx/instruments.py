"""The registry's tradables as OKX instruments, and their sizes and prices both ways.

- spot market BTC-USDC: `SPOT` "BTC-USDC", sizes in BTC, prices in USDC.
- perpetual (base ETH, quote USDC): `SWAP` "ETH-USDC-SWAP", linear, settled in USDC; one
  contract is one lot of the market (`ctVal` = lot, in ETH), sizes count contracts.
- prediction market: each outcome's YES share is a `SPOT` instrument quoted in the
  collateral, base = the market's symbol (a binary market) or `<symbol>.<outcome>` (a
  categorical one): "RAIN-USDC", "WC26-WINNER.Argentina-USDC". Buying buys YES shares;
  selling sells YES shares, and selling shares one does not hold buys NO at 1 - p (the
  engine's merged book). An order may name OKX's event-contract field `outcome`
  ("yes"/"no") to trade the NO side explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.core.reasons import Reason
from engine.services import units_exact
from markets.models import MarketStatus
from xip_portal.errors import ApplicationError

from ..instruments import Tradable, tradables


@dataclass(frozen=True)
class Instrument:
    inst_id: str
    inst_type: str  # "SPOT" or "SWAP"
    base: str
    quote: str
    tradable: Tradable

    @property
    def is_swap(self) -> bool:
        return self.inst_type == "SWAP"

    def size_in(self, sz: Any, field: str = "sz") -> int:
        """OKX `sz` (base amount; contracts for SWAP) as the engine's size."""
        if self.is_swap:
            return units_exact(sz, field=field)
        return self.tradable.listed.size(sz, field)

    def size_out(self, units: int | Decimal) -> str:
        if self.is_swap:
            return str(int(units))
        return _text(self.tradable.size(units))

    def price_in(self, px: Any, field: str = "px") -> int:
        return self.tradable.listed.price(px, field)

    def price_out(self, units: int | Decimal) -> str:
        return _text(self.tradable.price(units)) if units else ""


def _text(value: Decimal) -> str:
    return f"{value:f}"


def _instrument_of(tradable: Tradable) -> Instrument:
    spec = tradable.market.spec
    quote = spec["quote_asset"]
    if tradable.kind == "perp":
        base = spec["base_asset"]
        return Instrument(f"{base}-{quote}-SWAP", "SWAP", base, quote, tradable)
    if tradable.kind == "prediction":
        base = tradable.market.symbol
        if tradable.outcome:
            base = f"{base}.{tradable.outcome.replace(' ', '_')}"
        return Instrument(f"{base}-{quote}", "SPOT", base, quote, tradable)
    base = spec["base_asset"]
    return Instrument(f"{base}-{quote}", "SPOT", base, quote, tradable)


_by_tradables: tuple[int, dict[str, Instrument], dict[str, Instrument]] | None = None


def _tables() -> tuple[dict[str, Instrument], dict[str, Instrument]]:
    """(by instId, by engine market id), rebuilt when the registry changes."""
    global _by_tradables
    current = tradables()
    if _by_tradables is None or _by_tradables[0] != id(current):
        by_id = {}
        by_engine = {}
        for tradable in current.values():
            instrument = _instrument_of(tradable)
            by_id[instrument.inst_id] = instrument
            by_engine[tradable.engine_market] = instrument
        _by_tradables = (id(current), by_id, by_engine)
    return _by_tradables[1], _by_tradables[2]


def instruments() -> list[Instrument]:
    return list(_tables()[0].values())


def instruments_by_id() -> dict[str, Instrument]:
    """Every instrument by its instId, for a request that looks up several."""
    return _tables()[0]


def instrument_get(inst_id: Any, listed: dict[str, Instrument] | None = None) -> Instrument:
    """The instrument named `instId` (in `listed`, what instruments_by_id() gave this
    request, or read now), or the refusal OKX gives (51001)."""
    instrument = (_tables()[0] if listed is None else listed).get(str(inst_id or ""))
    if instrument is None:
        raise ApplicationError(
            f"Instrument ID {inst_id!r} does not exist.", code=Reason.UNKNOWN_MARKET, field="instId"
        )
    return instrument


def instrument_of_engine(engine_market: str) -> Instrument | None:
    return _tables()[1].get(engine_market)


def instrument_row(instrument: Instrument) -> dict[str, Any]:
    """One row of public/instruments, with the fields ccxt's okx.parse_market reads."""
    tradable = instrument.tradable
    spec = tradable.market.spec
    state = "live" if tradable.market.status == MarketStatus.LIVE else "suspend"
    row: dict[str, Any] = {
        "instType": instrument.inst_type,
        "instId": instrument.inst_id,
        "uly": "",
        "instFamily": "",
        "baseCcy": "",
        "quoteCcy": "",
        "settleCcy": "",
        "ctVal": "",
        "ctMult": "",
        "ctValCcy": "",
        "ctType": "",
        "tickSz": _text(Decimal(spec["tick"]).normalize()),
        "lotSz": _text(Decimal(spec["lot"]).normalize()),
        "minSz": _text(Decimal(spec.get("min_size") or spec["lot"]).normalize()),
        "maxLmtSz": "1000000000",
        "maxMktSz": "1000000000",
        "lever": "",
        "listTime": str(int(tradable.market.created_at.timestamp() * 1000)),
        "expTime": "",
        "state": state,
        "category": "1",
        "ruleType": "normal",
        "outcome": tradable.outcome if tradable.kind == "prediction" else "",
    }
    if instrument.is_swap:
        lot = Decimal(spec["lot"])
        tiers = spec.get("margin_tiers") or []
        lowest_im = min((tier["im_bps"] for tier in tiers), default=10_000)
        row |= {
            "uly": f"{instrument.base}-{instrument.quote}",
            "instFamily": f"{instrument.base}-{instrument.quote}",
            "settleCcy": instrument.quote,
            "ctVal": _text(lot.normalize()),
            "ctMult": "1",
            "ctValCcy": instrument.base,
            "ctType": "linear",
            "lotSz": "1",
            "minSz": _text((Decimal(spec.get("min_size") or lot) / lot).normalize()),
            "lever": str(10_000 // max(lowest_im, 1)),
        }
    else:
        row |= {"baseCcy": instrument.base, "quoteCcy": instrument.quote}
    return row
