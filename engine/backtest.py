"""The rolling-origin backtest (`flowctl forecast --backtest`) and the choice of the
default method: every method replayed at past dates with exactly the --as-of code
path (engine/asof.py), scored against what was then won.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable

from .asof import as_of
from .compiled import CompiledWorkflow
from .evaluate import Facts, evaluate
from .forecast_error import has_history
from .forecasting import ForecastFailed, learn, run_method, slim_for_forecast, SMOOTHING_NOTE
from .hooktypes import ForecastInput, ForecastMethod
from .metrics import SlimState

FALLBACK_METHOD = "weighted"
MIN_ORIGINS = 3  # fewer scored past origins than this: too little history to choose a method
CHOICE_ORIGINS = 6  # the default method is chosen by a backtest at this many monthly dates before the date
CHOICE_TRIALS = 2000  # at most, per Monte Carlo forecast in that backtest: the ranking matters, not the 4th digit
_EVERY = re.compile(r"^\s*(\d{1,4})\s*(d|w|mo)\s*$")


def parse_every(text: str) -> tuple[int, str]:
    """`1mo` -> (1, "mo"), `30d` -> (30, "d"), `2w` -> (14, "d"); ValueError otherwise."""
    match = _EVERY.match(str(text))
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"bad step {text!r}: use a number and d, w or mo (30d, 2w, 1mo)")
    n, unit = int(match.group(1)), match.group(2)
    return (n * 7, "d") if unit == "w" else (n, unit)


def schedule(start: dt.date, end: dt.date, every: tuple[int, str]) -> list[dt.date]:
    """Origins from `start` to `end` inclusive, every n days or n months (same day of month, clipped)."""
    n, unit = every
    out: list[dt.date] = []
    k = 0
    while True:
        if unit == "mo":
            months = start.month - 1 + n * k
            year, month = start.year + months // 12, months % 12 + 1
            day = min(start.day, _month_days(year, month))
            origin = dt.date(year, month, day)
        else:
            origin = start + dt.timedelta(days=n * k)
        if origin > end or len(out) >= 1000:
            return out
        out.append(origin)
        k += 1


def _month_days(year: int, month: int) -> int:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day


def choose_default(result: dict) -> tuple[str, str]:
    """(method, why): the lowest backtest MAPE over at least MIN_ORIGINS past origins
    (the backtest gives only origins with a history to learn from: forecast_error.has_history);
    ties and too little history: FALLBACK_METHOD."""
    scored = {n: m for n, m in result["methods"].items() if m.get("mape") is not None and m["origins"] >= MIN_ORIGINS}
    if not scored:
        return FALLBACK_METHOD, (f"too little history to backtest (fewer than {MIN_ORIGINS} past origins with "
                                 f"revenue won and a history before them): {FALLBACK_METHOD}")
    best = min(m["mape"] for m in scored.values())
    winners = sorted(n for n, m in scored.items() if m["mape"] == best)
    if len(winners) > 1:
        name = FALLBACK_METHOD if FALLBACK_METHOD in winners else winners[0]
        return name, f"tie at backtest MAPE {best:.1%} between {', '.join(winners)}: {name}"
    origins = scored[winners[0]]["origins"]
    return winners[0], f"lowest backtest MAPE {best:.1%} over {origins} past origin(s) before the date"


BACKTEST_NOTE = ("rolling origin: at each origin date every deal is re-evaluated with only the facts dated "
                 "up to it (the --as-of code path), each method forecasts the revenue won within the horizon "
                 "(existing: deals open then; new: deals not created yet), and the forecast is compared with "
                 "actual = the amount won in (origin, origin + horizon] by all deals (actual_existing: by the "
                 "deals open at the origin; actual_new: by deals created after it); MAPE = mean |forecast - "
                 "actual| / actual, bias = mean (forecast - actual) / actual, over origins with actual > 0; "
                 "coverage = origins whose actual fell within P10-P90; width = mean (P90 - P10) / P50")


def score(result: dict, actual_all: float, actual_existing: float) -> dict:
    """One origin's forecast against what happened: both parts, the error, whether P10-P90 held it."""
    existing, new = result.get("existing", result["expected"]), result.get("new", 0.0)
    return {"expected": result["expected"], "existing": existing, "new": new, "p10": result["p10"],
            "p50": result["p50"], "p90": result["p90"], "actual": round(actual_all, 2),
            "actual_existing": round(actual_existing, 2), "actual_new": round(actual_all - actual_existing, 2),
            "error": round(result["expected"] - actual_all, 2),
            "held": result["p10"] is not None and result["p10"] <= actual_all <= result["p90"]}


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarise(items: list[dict]) -> dict:
    """MAPE, bias (total, existing, new), coverage and mean interval width over origins."""
    total = [(i["expected"], i["actual"]) for i in items if i["actual"] > 0]
    return {
        "mape": _mean([abs(f - a) / a for f, a in total]),
        "bias": _mean([(f - a) / a for f, a in total]),
        "bias_amount": round(sum(f - a for f, a in total) / len(total), 2) if total else None,
        "existing_bias": _mean([(i["existing"] - i["actual_existing"]) / i["actual_existing"]
                                for i in items if i["actual_existing"] > 0]),
        "new_bias": _mean([(i["new"] - i["actual_new"]) / i["actual_new"] for i in items if i["actual_new"] > 0]),
        "coverage": sum(1 for i in items if i["held"]),
        "width": _mean([(i["p90"] - i["p10"]) / i["p50"] for i in items if i["p50"]]),
        "origins": len(total)}


def origin_dates(now: dt.date, horizon: int, count: int, step: int) -> list[dt.date]:
    """Origins whose horizon has fully passed by `now`, newest last."""
    last = now - dt.timedelta(days=horizon)
    return sorted(last - dt.timedelta(days=step * k) for k in range(count))


def backtest(deals: Iterable[tuple[dict, Any]], cw: CompiledWorkflow, now: dt.date, horizon: int,
             methods: dict[str, ForecastMethod], store: Any = None, origins: int = 6, step: int = 30,
             options: dict | None = None, dates: list[dt.date] | None = None,
             finals: list[SlimState] | None = None) -> dict:
    """`deals` yields (deal document, its state on `now`). Each document is re-evaluated
    as of every origin once, as it streams by; only slim states are kept. `dates` gives
    the origins (else `origins` of them, `step` days apart, the last one horizon days ago)."""
    options = options or {}
    by = tuple(options.get("by") or ())
    dates = sorted(set(dates) if dates else set(origin_dates(now, horizon, origins, step)))  # each origin once
    unfinished = [o for o in dates if o + dt.timedelta(days=horizon) > now]  # what they forecast is not known yet
    dates = [o for o in dates if o not in unfinished]
    at_origin: dict[dt.date, list[SlimState]] = {o: [] for o in dates}
    actual = {o: 0.0 for o in dates}
    actual_all = {o: 0.0 for o in dates}
    finals = [] if finals is None else finals  # the states on `now`, slim: for the caller too
    for deal, final in deals:
        finals.append(slim_for_forecast(final, by))
        won_at = final.closed_at if final.outcome == "won" else None
        for o in dates:
            window = won_at is not None and o < won_at <= o + dt.timedelta(days=horizon)
            if window:
                actual_all[o] += final.amount
            then = as_of(deal, o)
            if then is None:
                continue
            state = evaluate(cw, then, o, Facts())
            at_origin[o].append(slim_for_forecast(state, by))
            if window and state.outcome == "open":
                actual[o] += final.amount
    rows = []
    scored: dict[str, list[dict]] = {m: [] for m in methods}
    # only origins with a history count for the default: before it every method forecasts from nothing
    learned: dict[str, list[dict]] = {m: [] for m in methods}
    failures: list[str] = []
    for o in dates:
        states = at_origin.pop(o)
        if not states:
            continue
        row: dict[str, Any] = {"origin": o.isoformat(), "open_deals": sum(1 for s in states if s.outcome == "open"),
               "actual": round(actual_all[o], 2), "actual_existing": round(actual[o], 2),
               "actual_new": round(actual_all[o] - actual[o], 2), "actual_all_deals": round(actual_all[o], 2),
               "forecasts": {}, "detail": {}}
        history = row["used_for_default"] = has_history(states, o)
        for name, method in methods.items():
            try:
                result = run_method(method, ForecastInput(states, cw.workflow, o, horizon, store, dict(options)))
            except ForecastFailed as exc:
                failures.append(f"{o}: {exc}")
                continue
            row["forecasts"][name] = result["expected"]
            one = score(result, actual_all[o], actual[o])
            row["detail"][name] = one
            if actual_all[o] > 0:
                scored[name].append(one)
                if history:
                    learned[name].append(one)
        rows.append(row)
    summary = {name: summarise(items) for name, items in scored.items()}
    model = learn(finals, cw.workflow, now, store)
    out = {"method": "backtest", "horizon_days": horizon, "now": now.isoformat(), "step_days": step,
            "definition": BACKTEST_NOTE, "methods": summary, "origins": rows, "calibration": model.calibration(),
            "calibration_definition": "observed = won / (won + lost) among closed deals that reached the stage; "
                                      "learned = the same, smoothed (" + SMOOTHING_NOTE + ")",
            "errors": failures, "origins_not_yet_known": [o.isoformat() for o in unfinished]}
    if len(methods) > 1:
        out["default_method"], out["default_reason"] = choose_default(
            {"methods": {name: summarise(items) for name, items in learned.items()}})
    return out


def choose_method(deals: Iterable[tuple[dict, Any]], cw: CompiledWorkflow, now: dt.date, horizon: int,
                  methods: dict[str, ForecastMethod], store: Any = None, options: dict | None = None,
                  finals: list[SlimState] | None = None) -> tuple[str, str]:
    """(method, why) a plain `forecast` uses: the backtest at CHOICE_ORIGINS monthly dates
    before `now` (choose_default); `finals` receives the deals' slim states on `now`, so
    the caller forecasts without reading the deals again. With one method installed it is
    that one; a fallback that is not installed gives way to the first method by name."""
    options = options or {}
    trial = backtest(deals, cw, now, horizon, methods, store, CHOICE_ORIGINS, 30,
                     {**options, "trials": min(options.get("trials", CHOICE_TRIALS), CHOICE_TRIALS)}, finals=finals)
    name, why = trial.get("default_method"), trial.get("default_reason", "")
    if name is None:
        name = sorted(methods)[0]
        return name, f"the only forecast method installed: {name}"
    if name not in methods:
        first = sorted(methods)[0]
        return first, f"{why}; {name} is not installed: {first}"
    return name, why
