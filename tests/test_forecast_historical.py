"""plugins/forecast_historical.py: win chances and timing learned from history."""
from __future__ import annotations

import datetime as dt

import pytest

from flowctl.compiled import CompiledWorkflow
from flowctl.forecast_parts import EXISTING_NOTE
from flowctl.forecasting import slim_for_forecast
from flowctl.hooktypes import ForecastInput
from flowctl.pipeline import evaluate_all
from flowctl.plugins.forecast_historical import DEFINITION, flowctl_forecast_methods, forecast
from flowctl.workflow import load_workflow

NOW = dt.date(2026, 6, 1)
WON = "outcome: won\nclosed_at: 2026-0{m}-15\nproduct: {p}\njobs: {{verify: 2026-01-05}}\n"
LOST = "outcome: lost\nclosed_at: 2026-0{m}-20\nproduct: {p}\n"


@pytest.fixture
def history(project):
    """Past deals won (product X) and lost (product Y), and open ones of each product."""
    for i, month in enumerate((2, 3, 4)):
        project.deal(f"W{i}", WON.format(m=month, p="X"))
        project.deal(f"L{i}", LOST.format(m=month, p="Y"))
    project.deal("OX", "product: X\n")
    project.deal("OY", "product: Y\n")
    wf = load_workflow(project.workflow)[0]
    states = [slim_for_forecast(i.state, ["product"])
              for i in evaluate_all(CompiledWorkflow(wf), [str(project.deals)], NOW) if i.state]
    return wf, states


def _run(history, horizon: int = 60, **options) -> dict:
    wf, states = history
    return forecast(ForecastInput(states, wf, NOW, horizon, None, options))


def test_the_forecast_of_the_open_deals(history):
    result = _run(history)
    assert result["open_deals"] == 2 and result["by"] == [] and result["definition"] == DEFINITION
    assert result["definition"].startswith(EXISTING_NOTE)
    assert 0 <= result["p10"] <= result["expected"] == result["p50"] <= result["p90"] <= 2000.0
    assert sum(result["timing_sources"].values()) == 2
    assert {"stages", "sources", "smoothing", "timing", "quantiles"} <= set(result)


def test_no_open_deals_forecast_nothing(project):
    project.deal("W", WON.format(m=2, p="X"))
    wf = load_workflow(project.workflow)[0]
    states = [slim_for_forecast(i.state) for i in evaluate_all(CompiledWorkflow(wf), [str(project.deals)], NOW)]
    result = forecast(ForecastInput(states, wf, NOW, 30, None))
    assert (result["open_deals"], result["expected"], result["p90"], result["timing_sources"]) == (0, 0, 0, {})


def test_by_a_field_moves_each_deals_odds_toward_its_groups_history(history):
    wf, states = history

    def alone(deal_id: str) -> dict:
        kept = [s for s in states if s.outcome != "open" or s.id == deal_id]
        return forecast(ForecastInput(kept, wf, NOW, 60, None, {"by": ["product"]}))

    assert _run(history, by=["product"])["by"] == ["product"]
    assert alone("OX")["expected"] > alone("OY")["expected"]  # X deals were won, Y deals lost


@pytest.mark.parametrize("horizon", [0, 1, 30, 365])
def test_every_horizon_gives_ordered_finite_figures(history, horizon):
    result = _run(history, horizon)
    assert 0 <= result["p10"] <= result["p50"] <= result["p90"]


def test_the_method_is_registered_as_historical():
    (method,) = flowctl_forecast_methods()
    assert method.name == "historical" and method.forecast is forecast and method.description
