"""Forecast method `historical`: stage-to-win probabilities and times to close learned
from history (closed deals' stage entries and the store's transitions), smoothed with
an m-estimate; `--by owner,product` adjusts each deal naive-Bayes style."""
from __future__ import annotations

from collections import Counter

from flowctl.forecasting import (QUANTILES_NOTE, SMOOTHING_NOTE, TIMING_NOTE, bernoulli_quantiles, learn,
                                 open_deals, timing)
from flowctl.forecast_parts import EXISTING_NOTE, existing_chance
from flowctl.hookspecs import hookimpl
from flowctl.catalogs import N_
from flowctl.hooktypes import ForecastInput, ForecastMethod

DEFINITION = EXISTING_NOTE + ("; a stage and age no past deal reached: learned win probability x "
                              "P(closing within the horizon)")


def forecast(data: ForecastInput) -> dict:
    by = tuple(data.options.get("by") or ())
    model = learn(data.states, data.workflow, data.now, data.store, by)
    amounts, probs = [], []
    sources: Counter[str] = Counter()
    for deal in open_deals(data.states):
        chance = existing_chance(deal, model.curves, data.now, data.horizon_days)
        if chance is None:  # nobody was that long in the stage: the smoothed rate and timing
            within, source = timing(deal, model, data.now, data.horizon_days)
            chance = model.deal_probability(deal) * within
        else:
            source = "censored history"
            if by:  # the --by fields move the odds as they move the smoothed rate
                chance *= model.deal_probability(deal) / model.probability(deal.stage)
        sources[source] += 1
        amounts.append(deal.amount)
        probs.append(min(1.0, chance))
    return {
        **bernoulli_quantiles(amounts, probs),
        "open_deals": len(amounts),
        "definition": DEFINITION,
        "quantiles": QUANTILES_NOTE,
        "smoothing": SMOOTHING_NOTE,
        "timing": TIMING_NOTE,
        "timing_sources": dict(sorted(sources.items())),
        "by": list(by),
        "stages": model.stages_json(),
        "sources": model.sources,
    }


@hookimpl
def flowctl_forecast_methods() -> list[ForecastMethod]:
    return [ForecastMethod("historical", forecast, N_("win probability and time to close learned from closed deals"), label=N_("Historical"))]
