"""Market specs: parsing, normalising and checking a new market's spec (and a parameter
change or delisting of a listed one) against its risk group's bounds, and how a spec reads
on a page. Every problem is reported on the field it concerns, all at once."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from engine.chain.price_feed import FEED_MAX_LENGTH
from engine.core.markets import BPS
from governance.risk_groups.models import PRICE_FEED_ORACLE, MarketBounds, MarketType, RiskGroup
from xip_portal.models import Institution
from xip_portal.specs import (
    SPEC_DECIMAL_PLACES,
    SpecChecker,
    SpecError,
    decimal_text,
    is_multiple,
)

from .models import Asset, Market, MarketStatus

SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,39}$")
# What a parameter-change XIP may change (symbol, type and assets define the market itself).
CHANGEABLE_FIELDS = (
    "tick",
    "lot",
    "min_size",
    "price_band_bps",
    "maker_fee_bps",
    "taker_fee_bps",
    "deployer_share_bps",
    "oracle_kind",
    "oracle_source",
    "oracle_signers",
    "oracle_max_age_seconds",
    "oracle_max_move_bps",
    "margin_tiers",
    "funding_interval_hours",
    "funding_cap_bps",
    "resolution_source",
    "resolver",
    "dispute_window_hours",
    "dispute_bond",
)

# The spec fields of each market type, as the draft editor shows them: True where a spec must
# give the field, False where it may. `market_spec_clean` refuses the fields a type lacks and
# asks for the required ones; a test holds the two to each other.
_EVERY_MARKET: dict[str, bool] = {
    "market_type": True,
    "symbol": True,
    "name": False,
    "quote_asset": True,
    "tick": True,
    "lot": True,
    "min_size": True,
    "price_band_bps": True,
    "maker_fee_bps": True,
    "taker_fee_bps": True,
    "deployer_share_bps": True,
}
_ORACLE_REQUIRED = {"oracle_kind": True, "oracle_source": True}
MARKET_TYPE_FIELDS: dict[str, dict[str, bool]] = {
    MarketType.SPOT: {
        **_EVERY_MARKET,
        "base_asset": True,
        "oracle_kind": False,
        "oracle_source": False,
        "launch_time": False,
    },
    MarketType.PERP: {
        **_EVERY_MARKET,
        "base_asset": True,
        **_ORACLE_REQUIRED,
        "oracle_signers": False,
        "oracle_max_age_seconds": False,
        "oracle_max_move_bps": False,
        "margin_tiers": True,
        "funding_interval_hours": True,
        "funding_cap_bps": True,
        "launch_time": False,
    },
    MarketType.PREDICTION: {
        **_EVERY_MARKET,
        "outcomes": False,
        **_ORACLE_REQUIRED,
        "close_time": True,
        "resolution_source": True,
        "resolver": False,
        "dispute_window_hours": True,
        "dispute_bond": False,
        "launch_time": False,
    },
}


PERP_ONLY = (
    "margin_tiers",
    "funding_interval_hours",
    "funding_cap_bps",
    "oracle_signers",
    "oracle_max_age_seconds",
    "oracle_max_move_bps",
)
ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
PREDICTION_ONLY = (
    "outcomes",
    "close_time",
    "resolution_source",
    "resolver",
    "dispute_window_hours",
    "dispute_bond",
)


def _bounds_of(risk_group: RiskGroup) -> Any:
    try:
        return risk_group.bounds
    except MarketBounds.DoesNotExist:
        return MarketBounds(risk_group=risk_group)


def _known_assets(symbols: set[str]) -> set[str]:
    return set(Asset.objects.filter(symbol__in=symbols).values_list("symbol", flat=True))


def market_spec_clean(
    raw: dict[str, Any],
    *,
    risk_group: RiskGroup,
    now: datetime | None = None,
    existing_market_id: int | None = None,
) -> dict[str, Any]:
    """The normalised spec of a new market, or SpecError naming each offending field.

    `existing_market_id`: the market a parameter change applies to (its own symbol does not
    collide and its close time may be in the past)."""
    now = now or timezone.now()
    check = SpecChecker(raw)
    bounds = _bounds_of(risk_group)
    spec: dict[str, Any] = {}

    market_type = check.text("market_type")
    if market_type and market_type not in MarketType.values:
        check.fail("market_type", f"One of {', '.join(MarketType.values)}.")
    elif (
        market_type
        and bounds.allowed_market_types
        and (market_type not in bounds.allowed_market_types)
    ):
        check.fail(
            "market_type",
            f"{risk_group.name} allows {', '.join(bounds.allowed_market_types)} markets only.",
        )
    spec["market_type"] = market_type

    symbol = check.text("symbol", max_length=40).upper()
    if symbol and not SYMBOL_RE.fullmatch(symbol):
        check.fail("symbol", "2-40 capitals, digits, '.', '_' or '-', e.g. BTC-USDC.")
    elif symbol:
        taken = Market.objects.filter(symbol=symbol)
        if existing_market_id is not None:
            taken = taken.exclude(pk=existing_market_id)
        if taken.exists():
            check.fail("symbol", f"{symbol} is already a listed market.")
    spec["symbol"] = symbol
    display_name = check.text("name", required=False, max_length=200)
    if display_name:
        spec["name"] = display_name

    quote = check.text("quote_asset", max_length=20).upper()
    base = check.text("base_asset", required=market_type in ("spot", "perp"), max_length=20)
    base = base.upper()
    if market_type == "prediction" and base:
        check.fail("base_asset", "A prediction market has outcomes, not a base asset.")
    if base and quote and base == quote:
        check.fail("base_asset", "The base and quote assets must differ.")
    known = _known_assets({name for name in (base, quote) if name})
    for name, value in (("base_asset", base), ("quote_asset", quote)):
        if value and value not in known:
            check.fail(name, f"{value} is not a registered asset.")
    if market_type != "prediction":
        spec["base_asset"] = base
    spec["quote_asset"] = quote

    tick = check.decimal("tick")
    lot = check.decimal("lot")
    min_size = check.decimal("min_size")
    if tick is not None:
        if tick <= 0:
            check.fail("tick", "Must be positive.")
        elif not bounds.min_tick <= tick <= bounds.max_tick:
            check.fail("tick", f"Must lie within {bounds.min_tick.normalize():f} and "
                       f"{bounds.max_tick.normalize():f} in {risk_group.name}.")  # fmt: skip
        elif market_type == "prediction" and (tick >= 1 or not is_multiple(Decimal(1), tick)):
            check.fail("tick", "A prediction price lies between 0 and 1: the tick must divide 1.")
        spec["tick"] = decimal_text(tick)
    if lot is not None:
        if lot <= 0:
            check.fail("lot", "Must be positive.")
        elif not bounds.min_lot <= lot <= bounds.max_lot:
            check.fail("lot", f"Must lie within {bounds.min_lot.normalize():f} and "
                       f"{bounds.max_lot.normalize():f} in {risk_group.name}.")  # fmt: skip
        spec["lot"] = decimal_text(lot)
    if min_size is not None:
        if min_size <= 0:
            check.fail("min_size", "Must be positive.")
        elif lot is not None and lot > 0 and not is_multiple(min_size, lot):
            check.fail("min_size", "Must be a whole number of lots.")
        spec["min_size"] = decimal_text(min_size)

    spec["price_band_bps"] = check.integer("price_band_bps", low=0, high=BPS)
    maker = check.integer("maker_fee_bps", low=-BPS, high=BPS)
    taker = check.integer("taker_fee_bps", low=0, high=BPS)
    if maker is not None and not bounds.min_maker_fee_bps <= maker <= bounds.max_maker_fee_bps:
        check.fail("maker_fee_bps", f"Must lie within {bounds.min_maker_fee_bps} and "
                   f"{bounds.max_maker_fee_bps} bps in {risk_group.name}.")  # fmt: skip
    if taker is not None and not bounds.min_taker_fee_bps <= taker <= bounds.max_taker_fee_bps:
        check.fail("taker_fee_bps", f"Must lie within {bounds.min_taker_fee_bps} and "
                   f"{bounds.max_taker_fee_bps} bps in {risk_group.name}.")  # fmt: skip
    if maker is not None and taker is not None and maker < -taker:
        check.fail("maker_fee_bps", "A maker rebate can not exceed the taker fee.")
    spec["maker_fee_bps"] = maker
    spec["taker_fee_bps"] = taker
    spec["deployer_share_bps"] = check.integer("deployer_share_bps", low=0, high=BPS)

    oracle_required = market_type in ("perp", "prediction")
    oracle_kind = check.text("oracle_kind", required=oracle_required, max_length=40).lower()
    if (
        oracle_kind
        and bounds.allowed_oracle_kinds
        and (oracle_kind not in bounds.allowed_oracle_kinds)
    ):
        check.fail(
            "oracle_kind",
            f"{risk_group.name} allows {', '.join(bounds.allowed_oracle_kinds)} oracles only.",
        )
    oracle_source = check.text("oracle_source", required=oracle_required, max_length=300)
    if oracle_kind == PRICE_FEED_ORACLE and oracle_source:
        if market_type != MarketType.PERP:
            check.fail("oracle_kind", "Only perpetual markets read an on-chain PriceFeed.")
        elif len(oracle_source) > FEED_MAX_LENGTH or not oracle_source.isascii():
            check.fail(
                "oracle_source",
                f"The PriceFeed's feed name: at most {FEED_MAX_LENGTH} ASCII characters.",
            )
    if oracle_kind or oracle_source:
        spec["oracle_kind"] = oracle_kind
        spec["oracle_source"] = oracle_source

    if market_type == "perp":
        spec["margin_tiers"] = _margin_tiers(check, bounds)
        spec["funding_interval_hours"] = check.integer("funding_interval_hours", low=1, high=24)
        spec["funding_cap_bps"] = check.integer("funding_cap_bps", low=0, high=BPS)
        spec |= _oracle_policy(check)
    else:
        for name in PERP_ONLY:
            if check.has(name):
                check.fail(name, "Only perpetual markets have this.")

    if market_type == "prediction":
        spec["outcomes"] = _outcomes(check)
        after = None if existing_market_id is not None else now
        spec["close_time"] = check.time("close_time", after=after)
        spec["resolution_source"] = check.text("resolution_source", max_length=500)
        spec["dispute_window_hours"] = check.integer("dispute_window_hours", low=0, high=720)
        resolver = check.text("resolver", required=False, max_length=80).lower()
        if resolver and not Institution.objects.filter(slug=resolver).exists():
            check.fail("resolver", f"No institution {resolver!r}: name it by its slug.")
        if resolver:
            spec["resolver"] = resolver
        if check.has("dispute_bond"):
            # the bond is locked in the quote asset: exact in its smallest unit
            decimals = Asset.objects.filter(symbol=quote).values_list("decimals", flat=True)
            places = min(next(iter(decimals), SPEC_DECIMAL_PLACES), SPEC_DECIMAL_PLACES)
            bond = check.decimal("dispute_bond", decimal_places=places)
            if bond is not None and bond < 0:
                check.fail("dispute_bond", "dispute_bond: must not be negative.")
            elif bond is not None:
                spec["dispute_bond"] = decimal_text(bond)
    else:
        for name in PREDICTION_ONLY:
            if check.has(name):
                check.fail(name, "Only prediction markets have this.")

    if check.has("launch_time"):
        spec["launch_time"] = check.time("launch_time", after=None)

    check.raise_if_errors()
    return spec


def _margin_tiers(check: SpecChecker, bounds: Any) -> list[dict[str, Any]]:
    raw = check.raw.get("margin_tiers")
    if not raw:
        check.fail("margin_tiers", "A perpetual market needs at least one margin tier.")
        return []
    if not isinstance(raw, list) or not all(isinstance(tier, dict) for tier in raw):
        check.fail("margin_tiers", "A list of {max_notional, im_bps, mm_bps}.")
        return []
    tiers: list[dict[str, Any]] = []
    previous = Decimal(0)
    for index, tier in enumerate(raw, start=1):
        sub = SpecChecker(tier)
        notional = sub.decimal("max_notional")
        im = sub.integer("im_bps", low=1, high=BPS)
        mm = sub.integer("mm_bps", low=1, high=BPS)
        if notional is not None and notional <= previous:
            sub.fail("max_notional", "Must grow from tier to tier.")
        if im is not None and mm is not None and mm > im:
            sub.fail("mm_bps", "Maintenance margin can not exceed initial margin.")
        if index == 1 and im is not None and im > 0 and BPS / im > bounds.max_leverage:
            sub.fail("im_bps", f"Allows {BPS // im}x leverage; the group allows at most "
                     f"{bounds.max_leverage}x.")  # fmt: skip
        for name, messages in sub.errors.items():
            for message in messages:
                check.fail("margin_tiers", f"Tier {index}, {name}: {message}")
        if notional is not None:
            previous = notional
            tiers.append({"max_notional": decimal_text(notional), "im_bps": im, "mm_bps": mm})
    return tiers


def _oracle_policy(check: SpecChecker) -> dict[str, Any]:
    """Who may push prices (EIP-191 signers), how old a price may grow before the market
    halts, and how far one push may move the index."""
    policy: dict[str, Any] = {}
    raw = check.raw.get("oracle_signers")
    if raw:
        if not isinstance(raw, list) or not all(
            isinstance(a, str) and ADDRESS_RE.fullmatch(a.strip()) for a in raw
        ):
            check.fail("oracle_signers", "A list of 0x-prefixed 20-byte addresses.")
        else:
            policy["oracle_signers"] = sorted({address.strip().lower() for address in raw})
    if check.has("oracle_max_age_seconds"):
        policy["oracle_max_age_seconds"] = check.integer(
            "oracle_max_age_seconds", low=1, high=86_400
        )
    if check.has("oracle_max_move_bps"):
        policy["oracle_max_move_bps"] = check.integer("oracle_max_move_bps", low=1, high=BPS)
    return policy


def _outcomes(check: SpecChecker) -> list[str]:
    raw = check.raw.get("outcomes") or []
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        check.fail("outcomes", "A list of outcome names.")
        return []
    names = [name.strip() for name in raw if name.strip()]
    if len(names) == 1:
        check.fail("outcomes", "Give no outcomes (a YES/NO market) or at least two.")
    if len({name.casefold() for name in names}) != len(names):
        check.fail("outcomes", "Each outcome must be named once.")
    if any(":" in name or len(name) > 80 for name in names):
        check.fail("outcomes", "Outcome names have at most 80 characters and no ':'.")
    return names


def _market_in_group(check: SpecChecker, risk_group: RiskGroup) -> Any:
    symbol = check.text("market", max_length=40).upper()
    if not symbol:
        return None
    market = Market.objects.filter(symbol=symbol).first()
    if market is None or market.risk_group_id != risk_group.pk:
        check.fail("market", f"{symbol} is not a market of {risk_group.name}.")
        return None
    if market.status in (MarketStatus.DELISTED, MarketStatus.SETTLED):
        check.fail("market", f"{symbol} is {market.get_status_display().lower()}.")
        return None
    return market


def parameter_change_spec_clean(
    raw: dict[str, Any], *, risk_group: RiskGroup, now: datetime | None = None
) -> dict[str, Any]:
    now = now or timezone.now()
    check = SpecChecker(raw)
    market = _market_in_group(check, risk_group)
    changes = raw.get("changes")
    clean_changes: dict[str, Any] = {}
    if not changes or not isinstance(changes, dict):
        check.fail("changes", "Name at least one field to change and its new value.")
    else:
        unknown = sorted(set(changes) - set(CHANGEABLE_FIELDS))
        if unknown:
            check.fail("changes", f"Can not change {', '.join(unknown)}; changeable: "
                       f"{', '.join(CHANGEABLE_FIELDS)}.")  # fmt: skip
        elif market is not None:
            merged = {**market.spec, **changes}
            try:
                new_spec = market_spec_clean(
                    merged, risk_group=risk_group, now=now, existing_market_id=market.pk
                )
            except SpecError as exc:
                for name, messages in exc.fields.items():
                    for message in messages:
                        check.fail("changes", f"{name}: {message}")
            else:
                clean_changes = {name: new_spec.get(name) for name in changes}
                if all(market.spec.get(name) == value for name, value in clean_changes.items()):
                    check.fail("changes", "These are the market's current values.")
    enactment = check.time("enactment_time", after=now)
    check.raise_if_errors()
    return {"market": market.symbol, "changes": clean_changes, "enactment_time": enactment}


def delisting_spec_clean(
    raw: dict[str, Any], *, risk_group: RiskGroup, now: datetime | None = None
) -> dict[str, Any]:
    now = now or timezone.now()
    check = SpecChecker(raw)
    market = _market_in_group(check, risk_group)
    reason = check.text("reason", max_length=2000)
    wind_down = check.time("wind_down_time", after=now)
    check.raise_if_errors()
    return {"market": market.symbol, "reason": reason, "wind_down_time": wind_down}


def spec_rows(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """The spec as (label, text) rows for a page."""
    rows = []
    for name, value in spec.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            text = "; ".join(", ".join(f"{k} {v}" for k, v in item.items()) for item in value)
        elif isinstance(value, list):
            text = ", ".join(str(item) for item in value) or "—"
        elif isinstance(value, dict):
            text = "; ".join(f"{k} = {v}" for k, v in value.items())
        else:
            text = "—" if value in (None, "") else str(value)
        rows.append((name.replace("_", " "), text))
    return rows
