"""Reading the structured spec of an XIP (plain JSON) field by field: every problem is
reported on the field it concerns, all at once. The market registry and the XIPs use it.

A cleaned spec is plain JSON (decimals as strings, times as ISO 8601 UTC strings), so the
market registry can hash it (markets/config_hash.py) exactly as the chain will."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .errors import ApplicationError, ErrorCode


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


def spec_time(value: str) -> datetime:
    """A spec's ISO time string back as an aware datetime."""
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(f"not a time: {value!r}")
    return moment
