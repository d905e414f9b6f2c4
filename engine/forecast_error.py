"""A method's own past error, for its intervals (SPEC section 7: P10-P90 count the
method's past error too).

The method is replayed at PAST_ORIGINS dates before the forecast date whose horizon has
fully passed by it, on the deals as they stood then — derived from their slim states on
the forecast date (stage = the last stage entered by then, open unless closed by then;
amounts as known on the forecast date), so only facts dated on or before the forecast
date are used, and the deal files are not read again. Each replay's total (existing +
new) is compared with the revenue won in its horizon: the spread of log(actual /
forecast) widens the interval of today's forecast.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Callable, Iterator

from .hooktypes import ForecastInput, ForecastMethod
from .metrics import SlimState

PAST_ORIGINS = 4  # replays, a month apart, the last one a horizon before the date
REPLAY_STEP_DAYS = 30
MIN_PAST_WINS = 5  # a replay date with fewer wins before it is not scored (as for time to close)
Z90 = 1.2815515655446004
REPLAY_TRIALS = 500  # Monte Carlo trials in a replay: the error is what matters, not the 4th digit


def state_then(s: SlimState, day: dt.date, order: dict[str, int], probability: dict[str, float],
               category: dict[str, str], first: str) -> SlimState | None:
    """The deal on `day` as its state on a later date tells it; None if it did not exist yet."""
    start = s.created or min(s.stage_entries.values(), default=None)
    if start is None or start > day:
        return None
    closed = s.closed_at is not None and s.closed_at <= day
    entries = {k: v for k, v in s.stage_entries.items() if v <= day}
    if closed:  # positional construction: dataclasses.replace is 4x slower, and this runs per deal and replay
        return SlimState(s.id, s.stage, s.stage_index, s.outcome, s.amount, s.probability, s.forecast_category,
                         s.owner, s.created, s.closed_at, s.expected_close, s.entered_at, s.days_in_stage, s.stuck,
                         s.rotting, entries, s.deal)
    reached = [k for k in entries if k in probability]
    stage = max(reached, key=lambda k: order[k]) if reached else first
    entered = entries.get(stage, start)
    return SlimState(s.id, stage, order.get(stage, 0), "open", s.amount, probability.get(stage, s.probability),
                     category.get(stage, s.forecast_category), s.owner, s.created, None, s.expected_close, entered,
                     (day - entered).days, False, False, entries, s.deal)


def replays(method: ForecastMethod, data: ForecastInput, new: Callable[[list, dt.date, int], dict],
            count: int = PAST_ORIGINS) -> Iterator[dict]:
    """The method at `count` earlier dates, a month apart, the last one a horizon before
    the date: {origin, expected, existing, new, p10, p90, actual}; stops where history is
    too short (fewer than MIN_PAST_WINS wins before a date) or the method cannot replay."""
    wf = data.workflow
    open_stages = [st for st in wf.stages if not st.terminal]
    if not open_stages:
        return
    order = {st.id: st.index for st in wf.stages}
    probability = {st.id: st.probability for st in open_stages}
    category = {st.id: st.forecast_category for st in open_stages}
    options = {**data.options, "trials": min(int(data.options.get("trials") or REPLAY_TRIALS), REPLAY_TRIALS)}
    for k in range(count):
        day = data.now - dt.timedelta(days=data.horizon_days + REPLAY_STEP_DAYS * k)
        end = day + dt.timedelta(days=data.horizon_days)
        then = [t for s in data.states if (t := state_then(s, day, order, probability, category, open_stages[0].id))]
        if sum(1 for t in then if t.outcome == "won") < MIN_PAST_WINS:
            return  # the method had nothing to learn from then: its error says nothing
        actual = sum(s.amount for s in data.states
                     if s.outcome == "won" and s.closed_at is not None and day < s.closed_at <= end)
        try:
            result: Any = method.forecast(ForecastInput(then, wf, day, data.horizon_days, None, options))
            part = new(then, day, data.horizon_days)
            existing = float(result.get("existing", result["expected"]))
        except Exception:  # a method that cannot replay has no past error to show
            return
        total = existing + part["expected"]
        sd = math.hypot(max(0.0, (result["p90"] - result["p10"]) / (2 * Z90)), part["sd"])  # hypot: no overflow
        yield {"origin": day.isoformat(), "expected": round(total, 2), "existing": round(existing, 2),
               "new": part["expected"], "p10": round(max(0.0, total - Z90 * sd), 2),
               "p90": round(total + Z90 * sd, 2), "actual": round(actual, 2)}


def past_log_errors(method: ForecastMethod, data: ForecastInput, new: Callable[[list, dt.date, int], dict]) -> list[float]:
    """log(actual / forecast) of the method at PAST_ORIGINS earlier dates (fewer when
    history is short or nothing was won)."""
    return [math.log(r["actual"] / r["expected"]) for r in replays(method, data, new)
            if r["actual"] > 0 and r["expected"] > 0]


def spread(errors: list[float]) -> float | None:
    """Root mean square of the log errors (bias included); None with fewer than two (one
    replay's error is no spread)."""
    if len(errors) < 2:
        return None
    return math.sqrt(sum(e * e for e in errors) / len(errors))
