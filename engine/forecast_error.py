"""A method's own past error, for its intervals (SPEC section 7: P10-P90 count the
method's past error too).

The method is replayed at PAST_ORIGINS dates before the forecast date whose horizon has
fully passed by it, on the deals as they stood then — derived from their slim states on
the forecast date (stage = the last stage entered by then, open unless closed by then;
amounts as known on the forecast date), so only facts dated on or before the forecast
date are used, and the deal files are not read again. Each replay's total (existing +
new) is compared with the revenue won in its horizon: the spread of log(actual /
forecast) widens the interval of today's forecast.

Calibration (`calibrate`): each part is also compared with what it forecast — `existing`
with the revenue won by the deals open at the replay date, `new` with the revenue of
deals created after it. Today's part is scaled by exp(w x mean past log(actual /
forecast)), the mean over the n replays that scored the part, shrunk toward no
correction by its own noise: w = max(0, 1 - (sd^2 / n) / mean^2) (positive-part
James-Stein: errors that agree correct fully, scattered ones hardly). A part is
corrected only when that would have helped in the replays themselves: each replay's
error after the correction learned from the others (leave-one-out) must square-sum
below the raw errors' — so one replay alone never corrects, and a part whose error
changed sign over time is left alone. The interval uses the total's leave-one-out
errors after the correction: their root mean square, scaled so that the interval is
Student's t with n degrees of freedom (a spread known from few errors is uncertain),
not the RMS of the raw errors with the whole bias in.

A replay date is scored only when closes had been seen for at least a replay step
before it: with less, its win curves came from a few days of closes (the first months
of a CRM export) and its error says nothing about the method.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any, Callable, Iterable, Iterator

from .forecast_parts import band_sd
from .hooktypes import ForecastInput, ForecastMethod
from .metrics import SlimState
from .survival import observed_since

PAST_ORIGINS = 4  # replays, a month apart, the last one a horizon before the date
REPLAY_STEP_DAYS = 30
MIN_PAST_WINS = 5  # a replay date with fewer wins before it is not scored (as for time to close)
Z90 = 1.2815515655446004
REPLAY_TRIALS = 500  # Monte Carlo trials in a replay: the error is what matters, not the 4th digit


def state_then(s: SlimState, day: dt.date, order: dict[str, int], probability: dict[str, float],
               category: dict[str, str], first: str) -> SlimState | None:
    """The deal on `day` as its state on a later date tells it; None if it did not exist yet."""
    start = s.started
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
    the date: {origin, expected, existing, new, p10, p90, actual, actual_existing}; stops
    where history is too short (fewer than MIN_PAST_WINS wins before a date, or closes
    seen for less than REPLAY_STEP_DAYS) or the method cannot replay."""
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
        pairs = [(s, t) for s in data.states if (t := state_then(s, day, order, probability, category, open_stages[0].id))]
        then = [t for _, t in pairs]
        if not has_history(then, day):
            return
        actual = sum(s.amount for s in data.states if _won_within(s, day, end))
        actual_existing = sum(s.amount for s, t in pairs if t.outcome == "open" and _won_within(s, day, end))
        try:
            result: Any = method.forecast(ForecastInput(then, wf, day, data.horizon_days, None, options))
            part = new(then, day, data.horizon_days)
            existing = float(result.get("existing", result["expected"]))
        except Exception:  # a method that cannot replay has no past error to show
            return
        total = existing + part["expected"]
        sd = math.hypot(band_sd(result), part["sd"])  # hypot: no overflow
        yield {"origin": day.isoformat(), "expected": round(total, 2), "existing": round(existing, 2),
               "new": part["expected"], "p10": round(max(0.0, total - Z90 * sd), 2),
               "p90": round(total + Z90 * sd, 2), "actual": round(actual, 2),
               "actual_existing": round(actual_existing, 2)}


def has_history(states: list[SlimState], day: dt.date) -> bool:
    """Whether a forecast on `day`, from the deals as they stood on it, had something to
    learn from: at least MIN_PAST_WINS wins, and closes seen over at least REPLAY_STEP_DAYS
    (with less, its curves came from a few days of closes: its error says nothing about
    the method)."""
    if sum(1 for t in states if t.outcome == "won" and t.closed_at is not None and t.closed_at <= day) < MIN_PAST_WINS:
        return False
    since = observed_since(states, day)
    return since is not None and (day - since).days >= REPLAY_STEP_DAYS


def _won_within(s: SlimState, day: dt.date, end: dt.date) -> bool:
    return s.outcome == "won" and s.closed_at is not None and day < s.closed_at <= end


def past_log_errors(rows: Iterable[dict]) -> list[float]:
    """log(actual / forecast) of the replays' totals (those with both above 0)."""
    return [e for r in rows if (e := _log_ratio(r["actual"], r["expected"])) is not None]


def _log_ratio(actual: float, forecast: float) -> float | None:
    return math.log(actual / forecast) if actual > 0 and forecast > 0 else None


@dataclasses.dataclass(frozen=True)
class Calibration:
    """What the replays say about today's forecast: a factor per part, and the spread
    of the total's log error left after those factors (None: fewer than two replays)."""
    existing: float = 1.0
    new: float = 1.0
    spread: float | None = None
    replays: int = 0

    def as_json(self) -> dict:
        return {"existing_factor": round(self.existing, 4), "new_factor": round(self.new, 4),
                "residual_spread": None if self.spread is None else round(self.spread, 4), "replays": self.replays}


def _factor(errors: list[float]) -> float:
    """exp of the mean log error, shrunk toward 0 (a factor of 1) by the mean's own noise:
    w = max(0, 1 - se^2 / mean^2), se^2 = variance / n (positive-part James-Stein); one
    error alone: w = 1/2 (as one pseudo-replay without error)."""
    if not errors:
        return 1.0
    n = len(errors)
    mean = sum(errors) / n
    if n == 1 or mean == 0:
        return math.exp(mean / 2)
    variance = sum((e - mean) ** 2 for e in errors) / (n - 1)
    return math.exp(max(0.0, 1 - variance / n / (mean * mean)) * mean)


def _checked(errors: list[float | None]) -> list[float | None]:
    """The errors a part's correction is learned from, or none at all when correcting
    would not have helped: each replay's error after the correction the others give
    (leave-one-out) must square-sum below its raw error's (so one replay never corrects)."""
    scored = [(k, e) for k, e in enumerate(errors) if e is not None]
    raw = sum(e * e for _, e in scored)
    left = sum((e - math.log(_factor([x for j, x in scored if j != k]))) ** 2 for k, e in scored)
    return errors if scored and left < raw else [None] * len(errors)


def calibrate(rows: list[dict]) -> Calibration:
    """Per-part factors and the spread of the error left after them (see the module's docstring)."""
    existing = _checked([_log_ratio(r["actual_existing"], r["existing"]) for r in rows])
    new = _checked([_log_ratio(r["actual"] - r["actual_existing"], r["new"]) for r in rows])

    def factors(skip: int | None) -> tuple[float, float]:
        return (_factor([e for k, e in enumerate(existing) if k != skip and e is not None]),
                _factor([e for k, e in enumerate(new) if k != skip and e is not None]))

    residuals = []
    for k, r in enumerate(rows):  # each replay forecast with the factors the others give: an honest error
        f_existing, f_new = factors(k)
        if (e := _log_ratio(r["actual"], r["existing"] * f_existing + r["new"] * f_new)) is not None:
            residuals.append(e)
    f_existing, f_new = factors(None)
    return Calibration(f_existing, f_new, residual_spread(residuals), len(rows))


# Student's t 0.9 quantile for 1..10 degrees of freedom (beyond: the Cornish-Fisher expansion)
T90 = (3.0777, 1.8856, 1.6377, 1.5332, 1.4759, 1.4398, 1.4149, 1.3968, 1.3830, 1.3722)


def t90(df: int) -> float:
    if df <= len(T90):
        return T90[df - 1]
    return Z90 + (Z90 ** 3 + Z90) / (4 * df)


def residual_spread(residuals: list[float]) -> float | None:
    """The relative error to expect today from n past errors: their root mean square,
    x t90(n) / z90, so that z90 x spread is the 0.9 quantile of Student's t with n
    degrees of freedom (a scale known from few errors is uncertain); None without any."""
    n = len(residuals)
    if n == 0:
        return None
    return math.sqrt(sum(e * e for e in residuals) / n) * t90(n) / Z90
