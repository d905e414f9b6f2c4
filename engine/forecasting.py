"""What the forecasting methods share: the slim deal states they receive, the model
learned from history (stage-to-win probabilities, time to close, censored win curves),
the deal-level Bernoulli quantiles, and running a method (which adds the new-deal part).
The rolling-origin backtest is in backtest.py.

The methods themselves are plugins (plugins/forecast_*.py) behind the forecasting hook.
"""
from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import math
from collections import Counter
from typing import Any, Iterable, Iterator

from .forecast_error import calibrate, past_log_errors, replays
from .forecast_parts import combine, new_part
from .plugin_configs import method_options
from .survival import Sample, WinCurve, sample
from .hooktypes import ForecastInput, ForecastMethod
from .metrics import SlimState, field_value, group_key, ratio, slim
from .model import Workflow

FORECAST_FIELDS = ("id", "owner", "product", "account")  # deal fields kept for forecasts (plus --by ones)
PRIOR_STRENGTH = 2.0  # pseudo-deals of the m-estimate's prior
PRIOR_CLIP = (0.05, 0.95)  # the prior mean never sits at 0 or 1, so neither does the estimate
MIN_TIMING_SAMPLES = 5  # fewer past wins from a stage than this: time to close is not learned
Z90 = 1.2815515655446004  # standard normal quantile of 0.9
QUANTILES_NOTE = ("p10/p50/p90: normal approximation of the sum of independent deals, each won with its "
                  "probability (mean sum(a*p), variance sum(a^2*p*(1-p))), floored at 0 and capped at the total")
SMOOTHING_NOTE = ("m-estimate (additive smoothing): p = (won + m*p0) / (won + lost + m) over closed deals "
                  f"that reached the stage, m = {PRIOR_STRENGTH:g}, p0 = the stage's configured probability "
                  f"clipped to [{PRIOR_CLIP[0]}, {PRIOR_CLIP[1]}]; never 0 or 1")
TIMING_NOTE = ("time to close: days from entering the stage to the win, over past wins from that stage "
               f"(at least {MIN_TIMING_SAMPLES}); a deal d days in its stage closes within the horizon H "
               "with probability #(d <= t <= d+H) / #(t >= d); with too little history, its expected_close "
               "decides, and without one it is taken to close within the horizon")


def slim_for_forecast(state: Any, by: Iterable[str] = ()) -> SlimState:
    return slim(state, tuple(FORECAST_FIELDS) + tuple(by))


# ---------------------------------------------------------------------------------
# learned from history
# ---------------------------------------------------------------------------------

@dataclasses.dataclass
class HistoryModel:
    stages: list[str]  # non-terminal stage ids, in order
    configured: dict[str, float]
    won: Counter
    lost: Counter
    win_days: dict[str, list[int]]  # stage -> sorted days from entering it to the win
    by: tuple[str, ...] = ()
    field_counts: dict[str, dict[str, list[int]]] = dataclasses.field(default_factory=dict)  # field -> value -> [won, lost]
    sources: dict = dataclasses.field(default_factory=dict)
    prior_strength: float = PRIOR_STRENGTH
    samples: dict[str, list[Sample]] = dataclasses.field(default_factory=dict)  # stage -> (days, outcome)

    @functools.cached_property
    def curves(self) -> dict[str, WinCurve]:
        """Stage -> censored win curve; built when first asked for: Monte Carlo and the
        smoothed rates never read them, and they are a third of learning's cost."""
        return {stage: WinCurve(rows) for stage, rows in self.samples.items()}

    def prior(self, stage: str) -> float:
        return min(max(self.configured.get(stage, 0.5), PRIOR_CLIP[0]), PRIOR_CLIP[1])

    def probability(self, stage: str) -> float:
        """Smoothed stage-to-win probability (m-estimate toward the configured one)."""
        won, lost = self.won.get(stage, 0), self.lost.get(stage, 0)
        return (won + self.prior_strength * self.prior(stage)) / (won + lost + self.prior_strength)

    def deal_probability(self, deal: Any) -> float:
        """The stage's probability, adjusted naive-Bayes style by the `by` fields: the
        odds are multiplied by P(value | won) / P(value | lost), each Laplace-smoothed."""
        p = self.probability(deal.stage)
        if not self.by:
            return p
        odds = p / (1 - p)
        for f in self.by:
            values = self.field_counts.get(f, {})
            total_won = sum(v[0] for v in values.values())
            total_lost = sum(v[1] for v in values.values())
            w, l = values.get(group_key(field_value(deal, f)), (0, 0))
            k = len(values) + 1  # distinct values seen, plus one for unseen ones
            odds *= ((w + 1) / (total_won + k)) / ((l + 1) / (total_lost + k))
        return odds / (1 + odds)

    def within(self, stage: str, age: int, horizon: int) -> float | None:
        """P(close within the horizon | won, already `age` days in the stage); None
        when too few past wins from the stage say how long it takes."""
        days = self.win_days.get(stage) or []
        if len(days) < MIN_TIMING_SAMPLES:
            return None
        lo = bisect.bisect_left(days, age)
        if lo == len(days):
            return 0.0  # older than every past win from this stage
        return (bisect.bisect_right(days, age + horizon) - lo) / (len(days) - lo)

    def calibration(self) -> list[dict]:
        rows = []
        for s in self.stages:
            won, lost = self.won.get(s, 0), self.lost.get(s, 0)
            rows.append({"stage": s, "configured": self.configured[s], "observed": ratio(won, won + lost),
                         "won": won, "lost": lost, "learned": round(self.probability(s), 4)})
        return rows

    def stages_json(self) -> dict:
        out = {}
        for row in self.calibration():
            days = self.win_days.get(row["stage"]) or []
            out[row["stage"]] = {**{k: row[k] for k in ("configured", "learned", "won", "lost")},
                                 "time_to_win_median_days": _median(days), "time_to_win_samples": len(days)}
        return out


def _median(values: list[int]) -> float | None:
    if not values:
        return None
    n = len(values)
    return (values[(n - 1) // 2] + values[n // 2]) / 2


def learn(states: Iterable[Any], workflow: Workflow, now: dt.date, store: Any = None,
          by: Iterable[str] = ()) -> HistoryModel:
    """Stage-to-win counts and times to close from closed deals (as of `now`): their
    stage entries (jobs, `history:`), merged with stage transitions the store recorded,
    and deals only the store still knows."""
    stages = [s.id for s in workflow.stages if not s.terminal]
    model = HistoryModel(stages, {s.id: s.probability for s in workflow.stages}, Counter(), Counter(),
                         {s: [] for s in stages}, tuple(by), {f: {} for f in by})
    known, from_store = {}, {}
    for state in states:
        known[state.id] = state
    if store is not None:
        try:
            from_store = _store_history(store, now, set(known), model.sources)
        except Exception as exc:  # no store, or an unreachable one: the deals' own history still counts
            model.sources["store_error"] = f"{type(exc).__name__}: {exc}"
    closed: Counter[str] = Counter()
    for deal_id, state in known.items():
        entries = dict(state.stage_entries)
        extra = from_store.get(deal_id)
        if extra:
            for s, at in extra["entries"].items():
                entries[s] = min(at, entries.get(s, at))
        _learn_one(model, entries, state.outcome, state.closed_at, now, state, closed)
    for deal_id, h in from_store.items():
        if deal_id not in known:
            _learn_one(model, h["entries"], h["outcome"], h["closed_at"], now, None, closed)
    model.sources.update({"closed_won": closed["won"], "closed_lost": closed["lost"]})
    for days in model.win_days.values():
        days.sort()
    return model


def _learn_one(model: HistoryModel, entries: dict, outcome: str, closed_at: dt.date | None, now: dt.date,
               state: Any, closed: Counter) -> None:
    for stage, entered in entries.items():  # every deal, open ones censored: the win curves
        one = sample(entered, outcome, closed_at, now)
        if one is not None:
            model.samples.setdefault(stage, []).append(one)
    if outcome not in ("won", "lost") or closed_at is None or closed_at > now:
        return
    closed[outcome] += 1
    counter = model.won if outcome == "won" else model.lost
    for s in model.stages:
        if s in entries:
            counter[s] += 1
            if outcome == "won" and entries[s] <= closed_at:
                model.win_days[s].append((closed_at - entries[s]).days)
    if state is not None:
        for f in model.by:
            row = model.field_counts[f].setdefault(group_key(field_value(state, f)), [0, 0])
            row[0 if outcome == "won" else 1] += 1


def _store_history(store: Any, now: dt.date, in_files: set[str], sources: dict) -> dict[str, dict]:
    """Per deal id: stages the store saw it enter (earliest date), its last outcome and when."""
    out: dict[str, dict] = {}
    n = 0
    for t in store.transitions():
        if t.at > now:
            continue
        n += 1
        h = out.setdefault(t.deal_id, {"entries": {}, "outcome": "open", "closed_at": None})
        if t.to_stage not in h["entries"] or t.at < h["entries"][t.to_stage]:
            h["entries"][t.to_stage] = t.at
        h["outcome"] = t.outcome
        h["closed_at"] = t.at if t.outcome in ("won", "lost") else None
    sources["store_transitions"] = n
    sources["store_only_deals"] = sum(1 for d in out if d not in in_files)
    return out


# ---------------------------------------------------------------------------------
# pieces the methods share
# ---------------------------------------------------------------------------------

def open_deals(states: Iterable[Any]) -> Iterator[Any]:
    return (s for s in states if s.outcome == "open")


def by_date(deal: Any, now: dt.date, horizon: int) -> float:
    """1 when the deal's expected_close falls within the horizon (or is past, or absent)."""
    if deal.expected_close is None:
        return 1.0
    return 1.0 if deal.expected_close <= now + dt.timedelta(days=horizon) else 0.0


def timing(deal: Any, model: HistoryModel, now: dt.date, horizon: int) -> tuple[float, str]:
    """(P(closes within the horizon if won), where that came from)."""
    age = max(0, (now - deal.stage_entries.get(deal.stage, now)).days)
    learned = model.within(deal.stage, age, horizon)
    if learned is not None:
        return learned, "history"
    if deal.expected_close is not None:
        return by_date(deal, now, horizon), "expected_close"
    return 1.0, "assumed"


def bernoulli_quantiles(amounts: list[float], probs: list[float]) -> dict:
    """expected, p10, p50, p90 of the sum of independent deals won with their probability
    (normal approximation; see QUANTILES_NOTE)."""
    mean = sum(a * p for a, p in zip(amounts, probs))
    variance = sum(a * a * p * (1 - p) for a, p in zip(amounts, probs))
    # a^2 overflows for amounts past 1e154 (the schema allows 1e300): then the sd is summed as hypot
    sd = math.sqrt(variance) if math.isfinite(variance) else \
        math.hypot(*(a * math.sqrt(p * (1 - p)) for a, p in zip(amounts, probs)))
    cap = sum(a for a, p in zip(amounts, probs) if p > 0)
    return {"expected": round(mean, 2), "p10": round(max(0.0, mean - Z90 * sd), 2), "p50": round(mean, 2),
            "p90": round(min(cap, mean + Z90 * sd), 2)}


class ForecastFailed(Exception):
    """A forecasting plugin raised or returned something unusable."""


# Keys of a forecast's output that flowctl sets: a method's result cannot replace them.
RESERVED_KEYS = frozenset({"method", "horizon_days", "errors", "default_reason", "workflow", "now", "as_of", "deals",
                           "left_out", "currency"})


def run_method(method: ForecastMethod, data: ForecastInput) -> dict:
    data = dataclasses.replace(data, options=method_options(data.workflow, method.name, data.options))
    try:
        result = method.forecast(data)
    except Exception as exc:  # a broken plugin is named, and the command goes on
        raise ForecastFailed(f"forecast method {method.name} failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(result, dict) or any(k not in result for k in ("expected", "p10", "p50", "p90")):
        raise ForecastFailed(f"forecast method {method.name} returned no expected/p10/p50/p90")
    if "new" not in result and not data.options.get("existing_only"):  # add the deals not created yet
        rows = list(replays(method, data, new_part))
        calibration = calibrate(rows)
        result = combine(result, new_part(data.states, data.now, data.horizon_days), calibration.spread,
                         (calibration.existing, calibration.new))
        result["past_log_errors"] = [round(e, 4) for e in past_log_errors(rows)]
        result["replay_calibration"] = calibration.as_json()
    return {"method": method.name, "horizon_days": data.horizon_days,
            **{k: v for k, v in result.items() if k not in RESERVED_KEYS}}
