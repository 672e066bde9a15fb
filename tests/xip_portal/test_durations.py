"""How a length of time in minutes reads on a page."""

import pytest

from xip_portal.templatetags.durations import minutes_as_duration


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (0, "0 minutes"),
        (1, "1 minute"),
        (5, "5 minutes"),
        (60, "1 hour"),
        (90, "1 hour 30 minutes"),
        (72 * 60, "3 days"),
        (10080, "1 week"),
        (10080 + 24 * 60 + 1, "1 week 1 day 1 minute"),
    ],
)
def test_minutes_read_in_the_largest_whole_units(minutes: int, words: str) -> None:
    assert minutes_as_duration(minutes) == words
