"""Reading the structured spec of an XIP (plain JSON) field by field: every problem is
reported on the field it concerns, all at once. The market registry and the XIPs use it.

A cleaned spec is plain JSON (decimals as strings, times as ISO 8601 UTC strings), so the
market registry can hash it (markets/config_hash.py) exactly as the chain will."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from django.utils.dateparse import parse_datetime

from .bounded_values import INTEGER_MAX, INTEGER_MIN, bounded_decimal, bounded_integer, bounded_time
from .errors import ApplicationError, ErrorCode

# Spec decimals are held to the market bounds' columns (DecimalField(30, 18)); exact
# arithmetic on two of them needs twice their digits.
SPEC_MAX_DIGITS = 30
SPEC_DECIMAL_PLACES = 18
SPEC_PRECISION = 2 * SPEC_MAX_DIGITS + 4


class SpecError(ApplicationError):
    code: str = ErrorCode.INVALID_SPEC


class SpecChecker:
    """Collects one message list per field while reading a raw spec."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.errors: dict[str, list[str]] = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def raise_if_errors(self) -> None:
        """SpecError naming every offending field, if any field failed."""
        if self.errors:
            raise SpecError(
                "The spec has problems: " + ", ".join(sorted(self.errors)) + ".",
                fields=self.errors,
            )

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

    def decimal(
        self,
        name: str,
        *,
        required: bool = True,
        max_digits: int = SPEC_MAX_DIGITS,
        decimal_places: int = SPEC_DECIMAL_PLACES,
    ) -> Decimal | None:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, "Required.")
            return None
        if isinstance(value, float):
            self.fail(name, 'Give decimals as strings, e.g. "0.01", never as floats.')
            return None
        try:
            return bounded_decimal(
                value, field=name, max_digits=max_digits, decimal_places=decimal_places
            )
        except ApplicationError as exc:
            self.fail(name, exc.message)
            return None

    def integer(
        self, name: str, *, low: int | None = None, high: int | None = None, required: bool = True
    ) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, "Required.")
            return None
        minimum = INTEGER_MIN if low is None else low
        maximum = INTEGER_MAX if high is None else high
        try:
            return bounded_integer(value, field=name, minimum=minimum, maximum=maximum)
        except ApplicationError as exc:
            self.fail(name, exc.message)
            return None

    def time(self, name: str, *, after: datetime | None, required: bool = True) -> str:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, "Required.")
            return ""
        try:
            moment = bounded_time(value, field=name)
        except ApplicationError as exc:
            self.fail(name, exc.message)
            return ""
        if after is not None and moment <= after:
            self.fail(name, f"Must be after {after:%Y-%m-%d %H:%M} UTC.")
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def decimal_text(number: Decimal) -> str:
    """A decimal as canonical text: no exponent, no trailing zeros ("0.0100" -> "0.01")."""
    with localcontext(prec=SPEC_PRECISION):  # normalize() rounds to the context's precision
        return format(number.normalize(), "f")


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """Whether `value` is a whole number of `step`s, exactly (the quotient of two spec
    decimals may have more digits than the default context keeps)."""
    with localcontext(prec=SPEC_PRECISION):
        return value % step == 0


def spec_time(value: str) -> datetime:
    """A spec's ISO time string back as an aware datetime."""
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(f"not a time: {value!r}")
    return moment
