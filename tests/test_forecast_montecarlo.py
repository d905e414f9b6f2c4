"""plugins/forecast_montecarlo.py: seeded trials of the open deals, their percentiles."""
from __future__ import annotations

import datetime as dt

import jsonschema
import pytest

from flowctl.compiled import CompiledWorkflow
from flowctl.forecasting import slim_for_forecast
from flowctl.hooktypes import ForecastInput
from flowctl.pipeline import evaluate_all
from flowctl.plugins import forecast_montecarlo as mc
from flowctl.workflow import load_workflow

NOW = dt.date(2026, 3, 1)


@pytest.mark.parametrize("values,q,expected", [
    ([], 0.5, 0.0), ([7.0], 0.1, 7.0), ([1.0, 2.0], 0.5, 1.5), ([0.0, 10.0], 0.1, 1.0), ([0.0, 10.0], 0.9, 9.0),
    ([1.0, 2.0, 3.0], 0.0, 1.0), ([1.0, 2.0, 3.0], 1.0, 3.0), ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
])
def test_percentile_interpolates_like_numpy(values, q, expected):
    import numpy as np
    assert mc.percentile(values, q) == pytest.approx(expected)
    if values:
        assert mc.percentile(values, q) == pytest.approx(float(np.percentile(values, q * 100)))


@pytest.mark.parametrize("simulate", [mc.simulate, mc._simulate_python])
def test_simulate_certain_and_impossible_deals(simulate):
    assert simulate([], [], 5, 1) == [0.0] * 5
    assert simulate([100.0, 50.0], [1.0, 0.0], 4, 1) == [100.0] * 4
    assert simulate([100.0], [0.5], 0, 1) == []


@pytest.mark.parametrize("simulate", [mc.simulate, mc._simulate_python])
def test_simulate_is_seeded_and_near_its_mean(simulate):
    amounts, probs = [100.0, 200.0, 300.0], [0.2, 0.5, 0.9]
    first = simulate(amounts, probs, 4000, 7)
    assert first == simulate(amounts, probs, 4000, 7) and len(first) == 4000
    assert set(first) <= {sum(a for a, keep in zip(amounts, mask) if keep)
                          for mask in ((x, y, z) for x in (0, 1) for y in (0, 1) for z in (0, 1))}
    assert sum(first) / 4000 == pytest.approx(20 + 100 + 270, rel=0.05)


def test_simulate_in_chunks_gives_every_trial(monkeypatch):
    monkeypatch.setattr(mc, "CELLS_PER_CHUNK", 3)  # one trial of two deals per chunk
    assert mc.simulate([1.0, 2.0], [1.0, 1.0], 5, 1) == [3.0] * 5


@pytest.mark.parametrize("settings,valid", [({}, True), ({"trials": 10, "seed": 3}, True), ({"trials": 0}, False),
                                            ({"trials": 1.5}, False), ({"runs": 3}, False)])
def test_settings_schema(settings, valid):
    assert jsonschema.Draft202012Validator(mc.SETTINGS_SCHEMA).is_valid(settings) is valid


def _input(project, options: dict) -> ForecastInput:
    project.deal("A", "jobs: {verify: 2026-01-05}\n")
    project.deal("B", "stage: qualified\njobs: {verify: 2026-01-05}\n", name="b.yaml")
    project.deal("W", "outcome: won\nclosed_at: 2026-02-01\n")
    wf = load_workflow(project.workflow)[0]
    states = [slim_for_forecast(i.state) for i in evaluate_all(CompiledWorkflow(wf), [str(project.deals)], NOW)]
    return ForecastInput(states, wf, NOW, 90, None, options)


@pytest.mark.parametrize("options,trials,seed", [({}, mc.DEFAULT_TRIALS, mc.DEFAULT_SEED),
                                                 ({"trials": 200, "seed": 0}, 200, 0),
                                                 ({"trials": None, "seed": None}, mc.DEFAULT_TRIALS, mc.DEFAULT_SEED)])
def test_forecast(project, options, trials, seed):
    result = mc.forecast(_input(project, options))
    assert (result["trials"], result["seed"], result["open_deals"]) == (trials, seed, 2)
    assert 0 <= result["p10"] <= result["p50"] <= result["p90"] <= 2000.0  # at most both open deals (W is won)
    assert sum(result["timing_sources"].values()) == 2
    assert mc.forecast(_input(project, options)) == result  # seeded: the same again


def test_the_method_is_registered_as_montecarlo():
    (method,) = mc.flowctl_forecast_methods()
    assert method.name == "montecarlo" and method.forecast is mc.forecast and method.config_schema is mc.SETTINGS_SCHEMA
