"""How likely a deal is to be won within a horizon, learned with censoring.

Each past deal gives (days from its start to its close, won | lost), or, still open,
the days it has been open so far: it is *censored* there (still open, never counted as
lost). The chance of a win within (age, age + H] days for a deal open `age` days is the
cumulative incidence of "won" among deals still open at that age (Aalen-Johansen with
two competing outcomes): sum over days t in (age, age + H] of S(t-) x won(t) / at_risk(t),
S the share with neither outcome yet.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable


class WinCurve:
    """Counts per whole day of wins, losses and censorings, for fast queries."""

    def __init__(self, samples: Iterable[tuple[int, str]]):
        won: dict[int, int] = {}
        ended: dict[int, int] = {}  # won or lost
        censored: dict[int, int] = {}
        n = 0
        for days, outcome in samples:
            days = max(0, days)
            n += 1
            if outcome == "open":
                censored[days] = censored.get(days, 0) + 1
            else:
                ended[days] = ended.get(days, 0) + 1
                if outcome == "won":
                    won[days] = won.get(days, 0) + 1
        self.samples = n
        self.last = max([*won, *ended, *censored], default=-1)
        self.won = [won.get(t, 0) for t in range(self.last + 1)]
        self.ended = [ended.get(t, 0) for t in range(self.last + 1)]
        # at_risk[t] = samples whose time is >= t (a deal censored at t is still at risk on t)
        self.at_risk = [0] * (self.last + 2)
        for t in range(self.last, -1, -1):
            self.at_risk[t] = self.at_risk[t + 1] + ended.get(t, 0) + censored.get(t, 0)
        self._cache: dict[tuple[int, int], float | None] = {}

    def win_within(self, age: int, horizon: int) -> float | None:
        """P(won in (age, age + horizon] | still open after `age` days); None when no past
        deal was still open at that age (nothing to learn from)."""
        key = (age, horizon)
        if key in self._cache:
            return self._cache[key]
        age = max(0, age)
        result: float | None
        if age + 1 > self.last or self.at_risk[age + 1] == 0:
            result = None
        else:
            surviving, cif = 1.0, 0.0
            for t in range(age + 1, min(age + horizon, self.last) + 1):
                n = self.at_risk[t]
                if n == 0:
                    break
                cif += surviving * self.won[t] / n
                surviving *= 1 - self.ended[t] / n
            result = cif
        self._cache[key] = result
        return result


def sample(start: dt.date | None, outcome: str, closed_at: dt.date | None, now: dt.date) -> tuple[int, str] | None:
    """One deal's (days, outcome) from `start`, as known on `now`; None when it has no start."""
    if start is None or start > now:
        return None
    if outcome in ("won", "lost") and closed_at is not None and closed_at <= now:
        return ((closed_at - start).days, outcome)
    return ((now - start).days, "open")
