"""Durations in workflow files: 36h, 7d, 2w."""
from __future__ import annotations

import datetime as dt
import functools
import re

_DURATION = re.compile(r"^\s*(\d{1,5})\s*([hdw])\s*$")
_UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}


def parse_duration(text: str) -> dt.timedelta:
    """`7d` -> 7 days. Raises ValueError with a message a user understands."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"bad duration {text!r}: use a number and h, d or w (36h, 7d, 2w); at most 5 digits")
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_date(value: object) -> dt.date | None:
    """An ISO date (or date-time, whose date is taken) from a deal file; None if absent."""
    if value.__class__ is str:
        return _iso_date(value)
    if value is None or value is True or value is False:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return _iso_date(str(value))


@functools.lru_cache(maxsize=4096)  # deals share a few hundred distinct days; dates are immutable
def _iso_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
