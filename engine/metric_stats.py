"""Small exact statistics the metric definitions share: a day histogram with exact mean
and median in little memory (`Days`), a deal's first stage entry, and its stays per stage."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, Iterable

from .model import Workflow


class Days:
    """A multiset of whole days (a histogram): exact mean and median in little memory."""

    __slots__ = ("counts", "n", "total")

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.n = 0
        self.total = 0

    def add(self, days: int) -> None:
        self.counts[days] += 1
        self.n += 1
        self.total += days

    @property
    def mean(self) -> float | None:
        return round(self.total / self.n, 2) if self.n else None

    @property
    def median(self) -> float | None:
        if not self.n:
            return None
        lo_rank, hi_rank = (self.n - 1) // 2, self.n // 2
        seen, lo = 0, None
        for days in sorted(self.counts):
            seen += self.counts[days]
            if lo is None and seen > lo_rank:
                lo = days
            if seen > hi_rank and lo is not None:  # lo_rank <= hi_rank: lo is set by now
                return (lo + days) / 2
        return None  # pragma: no cover

    def to_json(self) -> dict:
        return {"mean": self.mean, "median": self.median, "n": self.n}


def first_entry(state: Any) -> dt.date | None:
    """The deal's first known stage entry (its creation date if earlier)."""
    dates = list(state.stage_entries.values())
    if state.created is not None:
        dates.append(state.created)
    return min(dates) if dates else None


def stays(state: Any, workflow: Workflow, now: dt.date) -> Iterable[tuple[str, int]]:
    """(stage, days) the deal spent in each non-terminal stage it reached: until it
    entered the next stage it reached, or closed there, or until today when still there.
    Stays with inconsistent dates (negative) are left out."""
    entries = state.stage_entries
    order = [s.id for s in workflow.stages if s.id in entries]
    for i, stage_id in enumerate(order):
        if workflow.stage_by_id[stage_id].terminal:
            continue
        if i + 1 < len(order):
            end = entries[order[i + 1]]
        elif state.outcome == "lost" and state.closed_at is not None:
            end = state.closed_at
        elif state.outcome == "open":
            end = now
        else:
            continue
        days = (end - entries[stage_id]).days
        if days >= 0:
            yield stage_id, days
