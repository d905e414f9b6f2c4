"""engine/durations.py: durations of workflow files (36h, 7d, 2w) and dates of deal files."""
from __future__ import annotations

import datetime as dt

import pytest

from flowctl.durations import parse_date, parse_duration


@pytest.mark.parametrize("text,hours", [("36h", 36), ("7d", 168), ("2w", 336), ("0d", 0), (" 10d ", 240),
                                        ("99999h", 99999), ("00007d", 168), ("1 w", 168)])
def test_good_durations(text, hours):
    assert parse_duration(text).total_seconds() == hours * 3600


@pytest.mark.parametrize("text", ["7x", "7", "1.5d", "2 days", "d", "-1d", "7D", "", "1w2d", "123456h", "+1d",
                                  "7d\n7d"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match=r"use a number and h, d or w \(36h, 7d, 2w\)"):
        parse_duration(text)


def test_bad_duration_message_quotes_the_text():
    with pytest.raises(ValueError, match=r"bad duration '7x'"):
        parse_duration("7x")


@pytest.mark.parametrize("value", [7, 7.0, None, ["7d"]])
def test_non_text_durations_are_read_as_their_text(value):
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value,expected", [
    ("2026-01-31", dt.date(2026, 1, 31)),
    ("2026-01-31T23:59:59Z", dt.date(2026, 1, 31)),  # a date-time: its date
    ("2026-01-31 08:00", dt.date(2026, 1, 31)),
    (dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
    (dt.datetime(2026, 3, 1, 12, 30), dt.date(2026, 3, 1)),
    (20260131, dt.date(2026, 1, 31)),  # a number: its text, an ISO basic date
    (2026, None),
    (None, None), (True, None), (False, None),
    ("", None), ("yesterday", None), ("2026-02-30", None), ("2026-13-01", None), ("26-01-01", None),
])
def test_parse_date(value, expected):
    got = parse_date(value)
    assert got == expected
    assert got is None or type(got) is dt.date


def test_parse_date_reads_the_text_of_other_objects():
    class Stamp:
        def __str__(self) -> str:
            return "2026-05-04T10:00"

    assert parse_date(Stamp()) == dt.date(2026, 5, 4)
