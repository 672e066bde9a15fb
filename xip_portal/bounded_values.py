"""Numbers and times from the outside world, bounded by what their storage and the code can
hold, in one place per kind of value: `bounded_integer`, `bounded_decimal` and
`bounded_time`. Forms, DRF serializers and spec validation all call these (through the field
types below, or directly); a refusal is an ApplicationError naming the field and the limit."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django import forms
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from .errors import ApplicationError, ErrorCode

# PostgreSQL's integer (Django's IntegerField and PositiveIntegerField on every database).
INTEGER_MIN = -(2**31)
INTEGER_MAX = 2**31 - 1
# Durations a bounded time can be moved by without leaving what datetime holds.
DAYS_MAX = 36_500
MINUTES_MAX = DAYS_MAX * 24 * 60
# Times: PostgreSQL holds far more, Python's datetime stops at year 9999; keep room for
# the durations above.
TIME_MIN = datetime(1970, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(9000, 1, 1, tzinfo=UTC)

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,30}")
_DECIMAL_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,9})?")
_NUMBER_TEXT_MAX = 100


def _refuse(field: str, message: str, code: ErrorCode) -> ApplicationError:
    return ApplicationError(f"{field}: {message}", code=code, field=field)


def bounded_integer(value: object, *, field: str, minimum: int, maximum: int) -> int:
    """A whole number between `minimum` and `maximum` (inclusive), from an int or a string
    of ASCII digits; anything else is refused (`invalid_number`, `out_of_range`)."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer() and abs(value) < 1e30:
        number = int(value)
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        number = int(value) if value.adjusted() < 30 else None
    if number is None:
        raise _refuse(field, "enter a whole number.", ErrorCode.INVALID_NUMBER)
    if not minimum <= number <= maximum:
        raise _refuse(field, f"must be between {minimum} and {maximum}.", ErrorCode.OUT_OF_RANGE)
    return number


def bounded_decimal(
    value: object,
    *,
    field: str,
    max_digits: int,
    decimal_places: int,
    minimum: Decimal | int | None = None,
    maximum: Decimal | int | None = None,
) -> Decimal:
    """An exact decimal that a DecimalField(max_digits, decimal_places) stores, within
    `minimum`..`maximum` when given. Accepts ints, Decimals, floats (as their shortest text)
    and ASCII decimal text with an optional exponent; refuses NaN, Infinity and anything
    else (`invalid_number`, `out_of_range`, `too_many_decimal_places`)."""
    number: Decimal | None = None
    whole_digits = max_digits - decimal_places
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= 10**whole_digits:
            raise _refuse(
                field, f"must be less than 1e{whole_digits} in size.", ErrorCode.OUT_OF_RANGE
            )
        number = Decimal(value)
    elif isinstance(value, Decimal) and value.is_finite():
        number = value
    elif isinstance(value, float | str):
        text = str(value).strip()
        if len(text) <= _NUMBER_TEXT_MAX and _DECIMAL_NUMBER.fullmatch(text):
            try:
                number = Decimal(text)
            except InvalidOperation:  # the pattern admits only what Decimal reads
                number = None
    if number is None:
        raise _refuse(field, "enter a decimal number (such as 0.01).", ErrorCode.INVALID_NUMBER)
    if not number.is_zero() and number.adjusted() >= whole_digits:
        raise _refuse(field, f"must be less than 1e{whole_digits} in size.", ErrorCode.OUT_OF_RANGE)
    _, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int):  # not reached: NaN and Infinity are refused above
        raise _refuse(field, "enter a finite number.", ErrorCode.INVALID_NUMBER)
    significant = "".join(map(str, digits)).rstrip("0")
    places = max(0, -(exponent + len(digits) - len(significant))) if significant else 0
    if places > decimal_places:
        message = f"may have at most {decimal_places} decimal places."
        raise _refuse(field, message, ErrorCode.TOO_MANY_DECIMAL_PLACES)
    if minimum is not None and number < minimum:
        raise _refuse(field, f"must be at least {minimum}.", ErrorCode.OUT_OF_RANGE)
    if maximum is not None and number > maximum:
        raise _refuse(field, f"must be at most {maximum}.", ErrorCode.OUT_OF_RANGE)
    return number


def bounded_time(value: object, *, field: str) -> datetime:
    """An aware UTC datetime between TIME_MIN and TIME_MAX, from a datetime or ISO 8601
    text (no offset: UTC). Impossible dates (30 February) and times that leave the range
    once in UTC are refused (`invalid_time`, `out_of_range`)."""
    moment: datetime | None = value if isinstance(value, datetime) else None
    if isinstance(value, str) and len(value) <= _NUMBER_TEXT_MAX:
        try:
            moment = parse_datetime(value.strip())
        except ValueError:  # well formed but impossible, such as 2030-02-30
            moment = None
    if moment is None:
        message = "enter a real date and time (ISO 8601, such as 2030-06-01T12:00:00Z)."
        raise _refuse(field, message, ErrorCode.INVALID_TIME)
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (OverflowError, ValueError):  # the offset moves it past year 9999 or before year 1
        moment = None
    if moment is None or not TIME_MIN <= moment < TIME_MAX:
        span = f"{TIME_MIN:%Y-%m-%d} and {TIME_MAX:%Y-%m-%d} (UTC)"
        raise _refuse(field, f"must be between {span}.", ErrorCode.OUT_OF_RANGE)
    return moment


class _ReadByBoundedForm:
    """A form field whose text is read by `reader` (a bounded_* function with its limits
    bound); a refusal shows beside the field."""

    reader: Callable[..., Any]
    label: Any
    empty_values: Any

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        try:
            return self.reader(value, field=str(self.label or "Value"))
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc


class _ReadByBoundedSerializer:
    """A serializer field whose input is read by `reader`; a refusal names the field."""

    reader: Callable[..., Any]
    field_name: str | None

    def to_internal_value(self, data: Any) -> Any:
        try:
            return self.reader(data, field=self.field_name or "value")
        except ApplicationError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from exc


def _decimal_reader(max_digits: int, decimal_places: int, kwargs: Any) -> Callable[..., Any]:
    minimum, maximum = kwargs.get("min_value"), kwargs.get("max_value")
    return partial(
        bounded_decimal,
        max_digits=max_digits,
        decimal_places=decimal_places,
        minimum=minimum,
        maximum=maximum,
    )


class BoundedIntegerFormField(_ReadByBoundedForm, forms.IntegerField):
    """A form's whole number, read by bounded_integer (the bounds are required)."""

    def __init__(self, *, min_value: int, max_value: int, **kwargs: Any) -> None:
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)
        self.reader = partial(bounded_integer, minimum=min_value, maximum=max_value)


class BoundedDecimalFormField(_ReadByBoundedForm, forms.DecimalField):
    """A form's decimal, read by bounded_decimal (digits and places are required)."""

    def __init__(self, *, max_digits: int, decimal_places: int, **kwargs: Any) -> None:
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)
        self.reader = _decimal_reader(max_digits, decimal_places, kwargs)


class BoundedTimeFormField(_ReadByBoundedForm, forms.DateTimeField):
    """A form's date and time, read by bounded_time."""

    reader = staticmethod(bounded_time)


class BoundedIntegerSerializerField(_ReadByBoundedSerializer, serializers.IntegerField):
    """An API whole number, read by bounded_integer (the bounds show in the schema)."""

    def __init__(self, *, min_value: int, max_value: int, **kwargs: Any) -> None:
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)
        self.reader = partial(bounded_integer, minimum=min_value, maximum=max_value)


class BoundedDecimalSerializerField(_ReadByBoundedSerializer, serializers.DecimalField):
    """An API decimal, read by bounded_decimal (digits and places are required)."""

    def __init__(self, *, max_digits: int, decimal_places: int, **kwargs: Any) -> None:
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)
        self.reader = _decimal_reader(max_digits, decimal_places, kwargs)


class BoundedTimeSerializerField(_ReadByBoundedSerializer, serializers.DateTimeField):
    """An API date and time, read by bounded_time."""

    reader = staticmethod(bounded_time)
