"""Filters whose work is not bounded by the size of their input, bounded.

`[1]|slice(300000000)` makes 300 million lists from one item (minutes of work);
`[1]|batch(10**9, 'x')` fills a list of a billion items; `map('center', 1000000)` over a
list makes a megabyte per item. Each check happens before or while the work is done, so
a runaway fails with a SecurityError (its gate, metric or message fails with that
message) instead of running for minutes or taking gigabytes.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from jinja2 import filters as _filters
from jinja2.exceptions import SecurityError
from jinja2.utils import pass_context

MAX_PIECES = 100_000  # lists `slice` and items `batch` may make from an input
MAX_MAPPED = 20_000_000  # characters (or items) the values a `map` yields may hold together


def _count(what: str, n: Any, limit: int = MAX_PIECES) -> None:
    if isinstance(n, int) and n > limit:
        raise SecurityError(f"{what} {n:,} is too large (at most {limit:,})")


def _slice(value: Any, slices: int, fill_with: Any = None) -> Iterator[list]:
    _count("slice count", slices)
    return _filters.sync_do_slice(value, slices, fill_with)


def _batch(value: Iterable, linecount: int, fill_with: Any = None) -> Iterator[list]:
    _count("batch size", linecount)
    return _filters.do_batch(value, linecount, fill_with)


@pass_context
def _map(context: Any, value: Iterable, *args: Any, **kwargs: Any) -> Iterator[Any]:
    total = 0
    for item in _filters.sync_do_map(context, value, *args, **kwargs):
        total += len(item) if isinstance(item, (str, bytes, list, tuple, dict)) else 1
        if total > MAX_MAPPED:
            raise SecurityError(f"the values of map() would be too large (more than {MAX_MAPPED:,} characters or items)")
        yield item


BOUNDED_FILTERS = {"slice": _slice, "batch": _batch, "map": _map}
