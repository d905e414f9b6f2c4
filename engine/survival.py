"""How likely a deal is to be won within a horizon, learned with censoring.

Each past deal gives (days from its start to its close, won | lost), or, still open,
the days it has been open so far: it is *censored* there (still open, never counted as
lost). The chance of a win within (age, age + H] days for a deal open `age` days is the
cumulative incidence of "won" among deals still open at that age (Aalen-Johansen with
two competing outcomes): sum over days t in (age, age + H] of S(t-) x won(t) / at_risk(t),
S the share with neither outcome yet.

Outcomes are observed only from the first close the history records (`observed_since`):
a deal started before it enters the risk set at its age on that day (left truncation).
The days before, when no deal anywhere closed, say nothing about how fast deals close;
counting them as days survived would make every deal of that backlog look slow.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

# (days from the start to the close or to now, outcome, first day observed): the third is 0 when omitted
Sample = tuple[int, str] | tuple[int, str, int]


class WinCurve:
    """Counts per whole day of wins, losses and deals at risk, for fast queries."""

    def __init__(self, samples: Iterable[Sample]):
        won: dict[int, int] = {}
        ended: dict[int, int] = {}  # won or lost
        leaving: dict[int, int] = {}  # the last day a deal is at risk (its close or its censoring)
        entering: dict[int, int] = {}  # the first day a deal is at risk
        n = 0
        for one in samples:
            days, outcome = max(0, one[0]), one[1]
            entry = min(days, max(0, one[2])) if len(one) > 2 else 0
            n += 1
            leaving[days] = leaving.get(days, 0) + 1
            entering[entry] = entering.get(entry, 0) + 1
            if outcome != "open":
                ended[days] = ended.get(days, 0) + 1
                if outcome == "won":
                    won[days] = won.get(days, 0) + 1
        self.samples = n
        self.last = max(leaving, default=-1)
        self.won = [won.get(t, 0) for t in range(self.last + 1)]
        self.ended = [ended.get(t, 0) for t in range(self.last + 1)]
        # at_risk[t] = deals with entry <= t <= their time (a deal censored at t is still at risk on t)
        self.at_risk = [0] * (self.last + 2)
        count = 0
        for t in range(self.last + 1):
            count += entering.get(t, 0)
            self.at_risk[t] = count
            count -= leaving.get(t, 0)
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
                if n:  # nobody at risk that day (a gap between entries): nothing happened
                    cif += surviving * self.won[t] / n
                    surviving *= 1 - self.ended[t] / n
            result = cif
        self._cache[key] = result
        return result


def observed_since(states: Iterable[Any], now: dt.date) -> dt.date | None:
    """The first close (won or lost) on or before `now`: outcomes are observed from then on."""
    return min((s.closed_at for s in states
                if s.outcome in ("won", "lost") and s.closed_at is not None and s.closed_at <= now), default=None)


def sample(start: dt.date | None, outcome: str, closed_at: dt.date | None, now: dt.date,
           observed_from: dt.date | None = None) -> Sample | None:
    """One deal's (days, outcome) from `start`, as known on `now`; None when it has no start.
    With `observed_from` after the start, (days, outcome, days from the start to it)."""
    if start is None or start > now:
        return None
    if outcome in ("won", "lost") and closed_at is not None and closed_at <= now:
        days, final = (closed_at - start).days, outcome
    else:
        days, final = (now - start).days, "open"
    if observed_from is not None and observed_from > start:
        if days < (observed_from - start).days:
            return None  # it ended before outcomes were observed
        return (days, final, (observed_from - start).days)
    return (days, final)
