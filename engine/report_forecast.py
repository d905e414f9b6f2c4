"""The report's "how good were our forecasts" table: each method replayed at the last
QUALITY_ORIGINS months' dates whose horizon has passed (forecast_error.replays: the
deals as they stood then, from what is known on the report's date), against the revenue
actually won in each horizon."""
from __future__ import annotations

import datetime as dt
from typing import Any

from .forecast_error import replays
from .forecast_parts import new_part
from .hooktypes import ForecastInput

QUALITY_ORIGINS = 6  # the last six months


def forecast_quality(states: list, workflow: Any, day: dt.date, horizon: int, methods: dict, names: list[str],
                     trials: int) -> dict:
    by_origin: dict[str, dict] = {}
    summary = {}
    for name in names:
        data = ForecastInput(states, workflow, day, horizon, None, {"trials": trials, "seed": 1})
        rows = list(replays(methods[name], data, new_part, QUALITY_ORIGINS))
        scored = [r for r in rows if r["actual"] > 0]
        for r in rows:
            r["error"] = (r["expected"] - r["actual"]) / r["actual"] if r["actual"] else None
            r["held"] = r["p10"] <= r["actual"] <= r["p90"]
            by_origin.setdefault(r["origin"], {"origin": r["origin"], "actual": r["actual"], "methods": {}})["methods"][name] = r
        summary[name] = {"origins": len(scored), "held": sum(1 for r in scored if r["held"]),
                         "mape": sum(abs(r["error"]) for r in scored) / len(scored) if scored else None}
    return {"rows": [by_origin[k] for k in sorted(by_origin)], "summary": summary, "horizon_days": horizon}
