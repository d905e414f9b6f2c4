"""The report's forecast section: each registered method over the horizon and over the
open deals of each month of expected close (`forecast_section`), and the "how good were
our forecasts" table: each method replayed at the last
QUALITY_ORIGINS months' dates whose horizon has passed (forecast_error.replays: the
deals as they stood then, from what is known on the report's date), against the revenue
actually won in each horizon."""
from __future__ import annotations

import datetime as dt
from typing import Any

from .backtest import choose_default
from .forecast_error import replays
from .forecasting import ForecastFailed, run_method
from .forecast_parts import new_part
from .hooktypes import ForecastInput
from .model import Workflow
from .plugin_configs import method_options
from .report_charts import Fmt

QUALITY_ORIGINS = 6  # the last six months
QUALITY_TRIALS = 1000  # at most, per replay: its error matters, not the 4th digit
REPORT_TRIALS = 4000  # Monte Carlo trials per forecast in a report, unless --trials or the workflow's settings say
REPORT_DEFAULTS = {"trials": REPORT_TRIALS, "seed": 1}  # seeded: the same deals give the same report
MONTHS_AHEAD = 12  # forecast months shown; later ones are grouped


def _month_end(day: dt.date) -> dt.date:
    nxt = dt.date(day.year + (day.month == 12), 1 if day.month == 12 else day.month + 1, 1)
    return nxt - dt.timedelta(days=1)


def _add_months(day: dt.date, n: int) -> dt.date:
    k = day.month - 1 + n
    return dt.date(day.year + k // 12, k % 12 + 1, 1)


def forecast_quality(states: list, workflow: Any, day: dt.date, horizon: int, methods: dict, names: list[str],
                     options: dict[str, dict]) -> dict:
    by_origin: dict[str, dict] = {}
    summary = {}
    for name in names:
        trials = min(int(options[name].get("trials") or QUALITY_TRIALS), QUALITY_TRIALS)
        data = ForecastInput(states, workflow, day, horizon, None, {**options[name], "trials": trials})
        rows = list(replays(methods[name], data, new_part, QUALITY_ORIGINS))
        scored = [r for r in rows if r["actual"] > 0]
        for r in rows:
            r["error"] = (r["expected"] - r["actual"]) / r["actual"] if r["actual"] else None
            r["held"] = r["p10"] <= r["actual"] <= r["p90"]
            by_origin.setdefault(r["origin"], {"origin": r["origin"], "actual": r["actual"], "methods": {}})["methods"][name] = r
        summary[name] = {"origins": len(scored), "held": sum(1 for r in scored if r["held"]),
                         "mape": sum(abs(r["error"]) for r in scored) / len(scored) if scored else None}
    return {"rows": [by_origin[k] for k in sorted(by_origin)], "summary": summary, "horizon_days": horizon}



class _CachedStore:
    """A store whose transitions are read once (the forecasts learn from them many times)."""

    def __init__(self, store: Any):
        self.store = store
        self._transitions: list | None = None

    def transitions(self) -> list:
        if self._transitions is None:
            self._transitions = list(self.store.transitions())
        return self._transitions

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _method_label(method: Any, fmt: Fmt) -> str:
    return fmt._(method.label) if method.label else method.name


def forecast_section(states: list, workflow: Workflow, day: dt.date, horizon: int, store: Any, methods: dict,
                     trials: int | None, fmt: Fmt) -> dict:
    """Each registered method, by name, over the horizon,
    and over the open deals of each month of expected close up to that month's end;
    `trials` as `--trials` gave it (None: the workflow's settings, else REPORT_TRIALS)."""
    names = sorted(methods)
    asked = {} if trials is None else {"trials": trials}
    options = {n: method_options(workflow, n, asked, REPORT_DEFAULTS) for n in names}
    cached: Any = _CachedStore(store) if store is not None else None  # a Store in all but name
    totals = []
    for name in names:
        method = methods[name]
        row: dict[str, Any] = {"name": name, "label": _method_label(method, fmt),
                               "definition": fmt._(method.description) if method.description else ""}
        try:
            r = run_method(methods[name], ForecastInput(states, workflow, day, horizon, cached, dict(options[name])))
            row.update({k: r.get(k) for k in ("expected", "p10", "p50", "p90", "open_deals", "existing", "new")})
        except ForecastFailed as exc:
            row["error"] = str(exc)
        totals.append(row)
    closed = [s for s in states if s.outcome != "open"]
    first = dt.date(day.year, day.month, 1)
    last_shown = _add_months(first, MONTHS_AHEAD - 1)
    buckets: dict[str, list] = {}
    latest: dt.date | None = None
    for s in states:
        if s.outcome != "open":
            continue
        close = s.expected_close
        if close is None:
            key = "none"
        elif close < first:
            key = "past"
        elif close > _month_end(last_shown):
            key = "later"
            latest = close if latest is None or close > latest else latest
        else:
            key = close.strftime("%Y-%m")
        buckets.setdefault(key, []).append(s)
    dated = sorted(k for k in buckets if k[:1].isdigit())
    keys = []
    if "past" in buckets:
        keys.append("past")
    if dated:
        month = first
        while month.strftime("%Y-%m") <= dated[-1]:
            keys.append(month.strftime("%Y-%m"))
            month = _add_months(month, 1)
    keys += [k for k in ("later", "none") if k in buckets]
    months = []
    for key in keys:
        deals = buckets.get(key, [])
        if key[:1].isdigit():
            start = dt.date.fromisoformat(key + "-01")
            h = max(0, (_month_end(start) - day).days)
            label, long = fmt.month(start), fmt.month(start)
        elif key == "later":
            h = max(0, (latest - day).days) if latest else horizon
            label, long = fmt._("Later"), fmt._("expected close after %(month)s", month=fmt.month(last_shown))
        elif key == "past":
            h = horizon
            label, long = fmt._("Overdue"), fmt._("expected close before %(month)s", month=fmt.month(first))
        else:
            h = horizon
            label, long = fmt._("No date"), fmt._("no expected close date")
        row = {"key": key, "label": label, "long": long, "deals": len(deals), "horizon_days": h,
               "amount": round(sum(s.amount for s in deals), 2), "methods": {}}
        for name in names:
            if not methods[name].deal_by_deal:  # its figure is not a sum over these deals
                row["methods"][name] = {"error": f"forecast method {name} does not forecast deal by deal"}
                continue
            if not deals:
                row["methods"][name] = {"expected": 0.0, "p10": 0.0, "p50": 0.0, "p90": 0.0}
                continue
            try:
                r = run_method(methods[name], ForecastInput(closed + deals, workflow, day, h, cached,
                                                            {**options[name], "existing_only": True}))  # open deals only
                row["methods"][name] = {k: r.get(k) for k in ("expected", "p10", "p50", "p90")}
            except ForecastFailed as exc:
                row["methods"][name] = {"error": str(exc)}
        months.append(row)
    quality = forecast_quality(states, workflow, day, horizon, methods, names, options)
    # The headline is the method `forecast` would default to: the best backtest before the day.
    default, _ = choose_default({"methods": quality["summary"]})
    figured = [t for t in totals if t.get("expected") is not None]
    main = next((t for t in figured if t["name"] == default), figured[0] if figured else None)
    return {"horizon_days": horizon, "methods": [{"name": n, "label": _method_label(methods[n], fmt)} for n in names],
            "totals": totals, "months": months, "main": main, "trials": asked.get("trials", REPORT_TRIALS),
            "open_deals": sum(1 for s in states if s.outcome == "open"),
            "undated": len(buckets.get("none", [])), "quality": quality}
