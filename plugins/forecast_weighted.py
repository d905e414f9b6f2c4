"""Forecast method `weighted`: amount x probability (the deal's own, else its stage's)
of the open deals expected to close within the horizon, by forecast category and by
month of `expected_close`. A deal without expected_close is counted as within the horizon."""
from __future__ import annotations

import datetime as dt

from flowctl.forecasting import QUANTILES_NOTE, bernoulli_quantiles, open_deals
from flowctl.hookspecs import hookimpl
from flowctl.catalogs import N_
from flowctl.hooktypes import ForecastInput, ForecastMethod

CATEGORIES = ("closed", "commit", "best_case", "pipeline", "omitted")
NO_DATE = "(no expected_close)"
DEFINITION = ("sum over open deals expected to close within the horizon (or without expected_close) of "
              "amount x probability (the deal's own, else its stage's)")


def forecast(data: ForecastInput) -> dict:
    end = data.now + dt.timedelta(days=data.horizon_days)
    amounts, probs = [], []
    categories: dict[str, dict] = {}
    months: dict[str, float] = {}
    beyond = {"count": 0, "weighted": 0.0}
    for deal in open_deals(data.states):
        weighted = deal.amount * deal.probability
        if deal.expected_close is not None and deal.expected_close > end:
            beyond["count"] += 1
            beyond["weighted"] += weighted
            continue
        amounts.append(deal.amount)
        probs.append(deal.probability)
        row = categories.setdefault(deal.forecast_category, {"count": 0, "amount": 0.0, "weighted": 0.0})
        row["count"] += 1
        row["amount"] += deal.amount
        row["weighted"] += weighted
        month = deal.expected_close.strftime("%Y-%m") if deal.expected_close else NO_DATE
        months[month] = months.get(month, 0.0) + weighted
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return {
        **bernoulli_quantiles(amounts, probs),
        "open_deals": len(amounts),
        "definition": DEFINITION,
        "quantiles": QUANTILES_NOTE,
        "by_category": {c: {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()}
                        for c, r in sorted(categories.items(), key=lambda kv: order.get(kv[0], 99))},
        "by_month": {m: round(v, 2) for m, v in sorted(months.items())},
        "beyond_horizon": {"count": beyond["count"], "weighted": round(beyond["weighted"], 2)},
    }


@hookimpl
def flowctl_forecast_methods() -> list[ForecastMethod]:
    return [ForecastMethod("weighted", forecast, N_("amount × probability (the deal's own, else its stage's)"), label=N_("Stage-weighted"))]
