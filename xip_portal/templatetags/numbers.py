from datetime import UTC, datetime
from decimal import Decimal

from django import template

register = template.Library()


@register.filter(name="percent")
def percent(fraction: Decimal | None, places: int = 1) -> str:
    """`{{ stats.probability|percent }}`: 0.1234 → "12.3%"; None (or nothing) → "–"."""
    if fraction is None or fraction == "":
        return "–"
    return f"{Decimal(fraction) * 100:.{int(places)}f}%"


@register.filter(name="signed_percent")
def signed_percent(fraction: Decimal | None, places: int = 1) -> str:
    """A change: 0.021 → "+2.1%", -0.005 → "-0.5%"; None (or nothing) → "–"."""
    if fraction is None or fraction == "":
        return "–"
    return f"{Decimal(fraction) * 100:+.{int(places)}f}%"


@register.filter(name="amount")
def amount(value: Decimal | None) -> str:
    """An exact decimal without exponent or trailing zeros: 1.500 → "1.5"; None (or
    nothing) → "–"."""
    if value is None or value == "":
        return "–"
    return f"{Decimal(value).normalize():f}"


@register.filter(name="get_item")
def get_item(mapping: dict[str, object], key: str) -> object:
    """`{{ holdings|get_item:market_id }}`: a dict's value by a variable key (None if absent)."""
    return mapping.get(key)


@register.filter(name="ms_time")
def ms_time(milliseconds: int | None) -> str:
    """Engine time (ms since the epoch) as "2026-06-11 18:00:00 UTC"."""
    if not milliseconds:
        return "–"
    return datetime.fromtimestamp(int(milliseconds) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
