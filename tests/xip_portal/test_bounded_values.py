"""The one reader per kind of value: whole numbers, decimals and times from outside are
refused beyond what their storage and the code hold, with the field and the limit named."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django import forms

from xip_portal.bounded_values import (
    INTEGER_MAX,
    BoundedDecimalFormField,
    BoundedIntegerFormField,
    BoundedIntegerSerializerField,
    BoundedTimeFormField,
    bounded_decimal,
    bounded_integer,
    bounded_time,
)
from xip_portal.errors import ApplicationError


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (2**31, "out_of_range"),
        ("-1", "out_of_range"),
        ("1e3", "invalid_number"),
        ("١٢", "invalid_number"),  # Arabic-Indic digits: int() would read them
        ("1" * 5000, "invalid_number"),
        (True, "invalid_number"),
        (float("nan"), "invalid_number"),
        (float("inf"), "invalid_number"),
        ("NaN", "invalid_number"),
    ],
)
def test_a_whole_number_outside_its_bounds_is_refused_naming_field_and_limit(value, code):
    with pytest.raises(ApplicationError) as refused:
        bounded_integer(value, field="vote_quorum", minimum=0, maximum=INTEGER_MAX)

    assert refused.value.code == code
    assert refused.value.fields == {"vote_quorum": [refused.value.message]}
    if code == "out_of_range":
        assert str(INTEGER_MAX) in refused.value.message


@pytest.mark.parametrize("value", [7, "7", " 7 ", 7.0, Decimal("7.00")])
def test_whole_numbers_are_read_from_their_usual_forms(value) -> None:
    assert bounded_integer(value, field="n", minimum=0, maximum=10) == 7


@pytest.mark.parametrize(
    ("value", "code", "limit"),
    [
        ("1e1000000", "out_of_range", "1e14"),
        (10**30, "out_of_range", "1e14"),
        ("1e-1000000", "too_many_decimal_places", "6"),
        ("0.0000001", "too_many_decimal_places", "6"),
        ("NaN", "invalid_number", ""),
        ("-Infinity", "invalid_number", ""),
        ("١.٥", "invalid_number", ""),
        ("1e999999999999", "invalid_number", ""),
        ("-1", "out_of_range", "0"),
    ],
)
def test_a_decimal_beyond_its_column_is_refused(value, code, limit) -> None:
    with pytest.raises(ApplicationError) as refused:
        bounded_decimal(value, field="bond", max_digits=20, decimal_places=6, minimum=0)

    assert refused.value.code == code
    assert refused.value.message.startswith("bond: ")
    assert limit in refused.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.5", Decimal("12.5")), ("1.50000000", Decimal("1.5")), ("1e3", Decimal(1000)), (3, 3)],
)
def test_decimals_that_fit_are_kept_exact(value, expected) -> None:
    number = bounded_decimal(value, field="x", max_digits=20, decimal_places=6)

    assert number == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("2030-02-30T00:00:00Z", "invalid_time"),
        ("9999-12-31T23:00:00-05:00", "out_of_range"),  # year 10000 in UTC
        ("0001-01-01T00:00:00+01:00", "out_of_range"),  # year 0 in UTC
        ("9500-01-01T00:00:00Z", "out_of_range"),
        ("tomorrow", "invalid_time"),
        ("2030-01-01T00:00:00" + "0" * 200, "invalid_time"),
    ],
)
def test_an_impossible_or_unholdable_time_is_refused(value, code) -> None:
    with pytest.raises(ApplicationError) as refused:
        bounded_time(value, field="close_time")

    assert refused.value.code == code
    assert "close_time" in refused.value.message


def test_a_time_without_an_offset_is_utc() -> None:
    assert bounded_time("2030-06-01T12:00", field="t") == datetime(2030, 6, 1, 12, tzinfo=UTC)


def test_the_form_and_serializer_fields_read_through_the_same_functions() -> None:
    whole = BoundedIntegerFormField(min_value=1, max_value=10, label="Quorum")
    decimal = BoundedDecimalFormField(max_digits=20, decimal_places=6, label="Bond")
    when = BoundedTimeFormField(label="Launch")
    api_whole = BoundedIntegerSerializerField(min_value=1, max_value=10)
    api_whole.bind("vote_quorum", None)

    with pytest.raises(forms.ValidationError, match="Quorum: must be between 1 and 10"):
        whole.clean(str(2**31))
    with pytest.raises(forms.ValidationError, match="Bond: must be less than 1e14"):
        decimal.clean("1e1000000")
    with pytest.raises(forms.ValidationError, match="Launch: enter a real date"):
        when.clean("2030-02-30T00:00")
    with pytest.raises(Exception, match="vote_quorum: must be between 1 and 10"):
        api_whole.run_validation(2**40)
