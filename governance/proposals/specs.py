"""The structured part of an XIP, per type: parsing, normalising and checking it against the
target risk group's bounds. Every problem is reported on the field it concerns, all at once.

A cleaned spec is plain JSON (decimals as strings, times as ISO 8601 UTC strings), so the
market registry can hash it (markets/config_hash.py) exactly as the chain will."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from xip_portal.errors import ApplicationError

from .models import ProposalType

if TYPE_CHECKING:
    from governance.risk_groups.models import RiskGroup

BPS = 10_000
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,39}$")
MARKET_TYPES = ("spot", "perp", "prediction")
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
    "margin_tiers",
    "funding_interval_hours",
    "funding_cap_bps",
    "resolution_source",
    "dispute_window_hours",
)
DECIMAL_FIELDS = ("tick", "lot", "min_size")


class SpecError(ApplicationError):
    code = "invalid_spec"


class _Checker:
    """Collects one message list per field while reading a raw spec."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.errors: dict[str, list[str]] = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def has(self, name: str) -> bool:
        value = self.raw.get(name)
        return value is not None and value != "" and value != []

    def text(self, name: str, *, required: bool = True, max_length: int = 500) -> str:
        value = self.raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(name, "Required.")
            return ""
        if not isinstance(value, str):
            self.fail(name, "Must be text.")
            return ""
        value = value.strip()
        if len(value) > max_length:
            self.fail(name, f"At most {max_length} characters.")
        return value

    def decimal(self, name: str, *, required: bool = True) -> Decimal | None:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, "Required.")
            return None
        if isinstance(value, float):
            self.fail(name, 'Give decimals as strings, e.g. "0.01", never as floats.')
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            self.fail(name, "Must be a decimal number.")
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(name, f"{value!r} is not a decimal number.")
            return None
        if not number.is_finite():
            self.fail(name, "Must be a finite number.")
            return None
        return number

    def integer(
        self, name: str, *, low: int | None = None, high: int | None = None, required: bool = True
    ) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, "Required.")
            return None
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, "Must be a whole number.")
            return None
        if low is not None and value < low:
            self.fail(name, f"Must be at least {low}.")
        elif high is not None and value > high:
            self.fail(name, f"Must be at most {high}.")
        return value

    def time(self, name: str, *, after: datetime | None, required: bool = True) -> str:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, "Required.")
            return ""
        moment = value if isinstance(value, datetime) else None
        if isinstance(value, str):
            moment = parse_datetime(value.strip())
        if moment is None:
            self.fail(name, "Not a date and time (ISO 8601, e.g. 2026-07-19T19:00:00Z).")
            return ""
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, UTC)
        moment = moment.astimezone(UTC)
        if after is not None and moment <= after:
            self.fail(name, f"Must be after {after:%Y-%m-%d %H:%M} UTC.")
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def decimal_text(number: Decimal) -> str:
    """A decimal as canonical text: no exponent, no trailing zeros ("0.0100" -> "0.01")."""
    text = format(number.normalize(), "f")
    return text


def _bounds_of(risk_group: RiskGroup) -> Any:
    from governance.risk_groups.models import MarketBounds

    try:
        return risk_group.bounds
    except MarketBounds.DoesNotExist:
        return MarketBounds(risk_group=risk_group)


def _known_assets(symbols: set[str]) -> set[str]:
    from markets.models import Asset

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
    check = _Checker(raw)
    bounds = _bounds_of(risk_group)
    spec: dict[str, Any] = {}

    market_type = check.text("market_type")
    if market_type and market_type not in MARKET_TYPES:
        check.fail("market_type", f"One of {', '.join(MARKET_TYPES)}.")
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
        from markets.models import Market

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
        elif market_type == "prediction" and (tick >= 1 or Decimal(1) % tick != 0):
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
        elif lot is not None and lot > 0 and min_size % lot != 0:
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
    if oracle_kind or oracle_source:
        spec["oracle_kind"] = oracle_kind
        spec["oracle_source"] = oracle_source

    if market_type == "perp":
        spec["margin_tiers"] = _margin_tiers(check, bounds)
        spec["funding_interval_hours"] = check.integer("funding_interval_hours", low=1, high=24)
        spec["funding_cap_bps"] = check.integer("funding_cap_bps", low=0, high=BPS)
    else:
        for name in ("margin_tiers", "funding_interval_hours", "funding_cap_bps"):
            if check.has(name):
                check.fail(name, "Only perpetual markets have this.")

    if market_type == "prediction":
        spec["outcomes"] = _outcomes(check)
        after = None if existing_market_id is not None else now
        spec["close_time"] = check.time("close_time", after=after)
        spec["resolution_source"] = check.text("resolution_source", max_length=500)
        spec["dispute_window_hours"] = check.integer("dispute_window_hours", low=0, high=720)
    else:
        for name in ("outcomes", "close_time", "resolution_source", "dispute_window_hours"):
            if check.has(name):
                check.fail(name, "Only prediction markets have this.")

    if check.has("launch_time"):
        spec["launch_time"] = check.time("launch_time", after=None)

    if check.errors:
        raise SpecError(
            "The spec has problems: " + ", ".join(sorted(check.errors)) + ".", fields=check.errors
        )
    return spec


def _margin_tiers(check: _Checker, bounds: Any) -> list[dict[str, Any]]:
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
        sub = _Checker(tier)
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


def _outcomes(check: _Checker) -> list[str]:
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


def _market_in_group(check: _Checker, risk_group: RiskGroup) -> Any:
    from markets.models import Market, MarketStatus

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
    check = _Checker(raw)
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
    if check.errors:
        raise SpecError(
            "The spec has problems: " + ", ".join(sorted(check.errors)) + ".", fields=check.errors
        )
    return {"market": market.symbol, "changes": clean_changes, "enactment_time": enactment}


def delisting_spec_clean(
    raw: dict[str, Any], *, risk_group: RiskGroup, now: datetime | None = None
) -> dict[str, Any]:
    now = now or timezone.now()
    check = _Checker(raw)
    market = _market_in_group(check, risk_group)
    reason = check.text("reason", max_length=2000)
    wind_down = check.time("wind_down_time", after=now)
    if check.errors:
        raise SpecError(
            "The spec has problems: " + ", ".join(sorted(check.errors)) + ".", fields=check.errors
        )
    return {"market": market.symbol, "reason": reason, "wind_down_time": wind_down}


def risk_group_spec_clean(raw: dict[str, Any]) -> dict[str, Any]:
    from governance.risk_groups.models import RiskGroup

    check = _Checker(raw)
    name = check.text("name", max_length=120)
    slug = check.text("slug", max_length=60).lower()
    if slug and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug):
        check.fail("slug", "Lower-case letters, digits and '-'.")
    if name and RiskGroup.objects.filter(name__iexact=name).exists():
        check.fail("name", f"A risk group named {name!r} exists.")
    if slug and RiskGroup.objects.filter(slug=slug).exists():
        check.fail("slug", f"A risk group {slug!r} exists.")
    kind = check.text("kind")
    if kind and kind not in RiskGroup.Kind.values:
        check.fail("kind", f"One of {', '.join(RiskGroup.Kind.values)}.")
    spec: dict[str, Any] = {
        "name": name,
        "slug": slug,
        "kind": kind,
        "description": check.text("description", required=False, max_length=2000),
        "last_call_hours": check.integer("last_call_hours", low=1, high=24 * 60),
        "vote_quorum": check.integer("vote_quorum", low=0, high=1_000_000),
        "vote_threshold_bps": check.integer("vote_threshold_bps", low=1, high=BPS),
        "stagnant_after_days": check.integer("stagnant_after_days", low=1, high=3650),
    }
    bond = check.decimal("proposal_bond_amount", required=False)
    if bond is not None and bond < 0:
        check.fail("proposal_bond_amount", "Can not be negative.")
    spec["proposal_bond_amount"] = decimal_text(bond) if bond is not None else "0"
    spec["proposal_bond_asset"] = check.text("proposal_bond_asset", required=False).upper()
    if check.errors:
        raise SpecError(
            "The spec has problems: " + ", ".join(sorted(check.errors)) + ".", fields=check.errors
        )
    return spec


def proposal_spec_clean(
    proposal_type: str,
    raw: dict[str, Any],
    *,
    risk_group: RiskGroup,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The normalised spec for an XIP of `proposal_type`, or SpecError per field."""
    if not isinstance(raw, dict):
        raise SpecError("The spec must be an object.", fields={"spec": ["Must be an object."]})
    if proposal_type == ProposalType.MARKET:
        return market_spec_clean(raw, risk_group=risk_group, now=now)
    if proposal_type == ProposalType.PARAMETER_CHANGE:
        return parameter_change_spec_clean(raw, risk_group=risk_group, now=now)
    if proposal_type == ProposalType.DELISTING:
        return delisting_spec_clean(raw, risk_group=risk_group, now=now)
    if proposal_type == ProposalType.RISK_GROUP:
        return risk_group_spec_clean(raw)
    if proposal_type == ProposalType.PROCESS:
        return {}
    raise SpecError(
        f"Unknown XIP type {proposal_type!r}.", fields={"proposal_type": ["Unknown type."]}
    )


def spec_time(value: str) -> datetime:
    """A spec's ISO time string back as an aware datetime."""
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(f"not a time: {value!r}")
    return moment
