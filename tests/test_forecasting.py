"""engine/forecasting.py: the model learned from history (smoothed probabilities, time to
close, the store's transitions), the pieces the methods share (timing, the Bernoulli
quantiles) and running a method (what a broken or overreaching method gets)."""
from __future__ import annotations

import dataclasses
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest

from flowctl.forecasting import FORECAST_FIELDS, RESERVED_KEYS, Z90, ForecastFailed, HistoryModel, \
    bernoulli_quantiles, by_date, learn, open_deals, run_method, slim_for_forecast, timing
from flowctl.hooktypes import ForecastInput, ForecastMethod
from flowctl.metrics import SlimState
from flowctl.model import Workflow
from flowctl.store import Transition
from slim_states import NOW, day, slim_state as deal


@pytest.fixture
def wf(analytics_workflow: Workflow) -> Workflow:
    """tests/data/analytics' workflow: prospect 0.1, qualified 0.4, proposed 0.7, closed."""
    return analytics_workflow


def model(win_days: list[int] | None = None, won: dict | None = None, lost: dict | None = None,
          configured: dict | None = None, **kw: Any) -> HistoryModel:
    return HistoryModel(["p"], configured or {"p": 0.5}, Counter(won or {}), Counter(lost or {}),
                        {"p": sorted(win_days or [])}, **kw)


# ---------------------------------------------------------------------------------
# HistoryModel
# ---------------------------------------------------------------------------------

def test_smoothing_never_gives_0_or_1():
    model = HistoryModel(["a", "b", "c"], {"a": 0.0, "b": 1.0, "c": 0.5}, Counter({"b": 1000, "c": 1}),
                         Counter({"a": 1000, "c": 0}), {})
    for stage in ("a", "b", "c"):
        assert 0 < model.probability(stage) < 1
    assert model.probability("a") == pytest.approx((0 + 2 * 0.05) / (1000 + 2))
    assert model.probability("b") == pytest.approx((1000 + 2 * 0.95) / (1000 + 2))
    empty = HistoryModel(["a"], {"a": 0.0}, Counter(), Counter(), {})
    assert empty.probability("a") == 0.05  # no history: the clipped prior


def test_time_to_close_conditional_on_age():
    model = HistoryModel(["p"], {"p": 0.5}, Counter(), Counter(), {"p": [10, 20, 30, 40, 50]})
    assert model.within("p", 0, 25) == pytest.approx(2 / 5)
    assert model.within("p", 25, 10) == pytest.approx(1 / 3)
    assert model.within("p", 60, 10) == 0.0  # older than every past win
    assert HistoryModel(["p"], {"p": 0.5}, Counter(), Counter(), {"p": [1, 2]}).within("p", 0, 5) is None



@pytest.mark.parametrize("configured,prior", [(0.0, 0.05), (0.05, 0.05), (0.3, 0.3), (0.95, 0.95), (1.0, 0.95)])
def test_the_prior_is_the_configured_probability_clipped(configured, prior):
    assert model(configured={"p": configured}).prior("p") == prior
    assert model().prior("unknown") == 0.5  # a stage without a configured probability


@pytest.mark.parametrize("days,age,horizon,chance", [
    ([10, 20, 30, 40, 50], 10, 0, 1 / 5),  # a win on the day counts
    ([10, 20, 30, 40, 50], 50, 0, 1.0),  # as old as the oldest past win
    ([10, 20, 30, 40, 50], 51, 1000, 0.0),
    ([5, 5, 5, 5, 5], 0, 4, 0.0), ([5, 5, 5, 5, 5], 0, 5, 1.0),
    ([1, 2, 3, 4], 0, 100, None),  # fewer than MIN_TIMING_SAMPLES past wins
])
def test_within_the_horizon_given_the_age(days, age, horizon, chance):
    assert model(days).within("p", age, horizon) == chance
    assert model(days).within("other", age, horizon) is None


def test_deal_probability_without_by_fields_is_the_stages():
    m = model(won={"p": 3}, lost={"p": 1})
    assert m.deal_probability(deal(stage="p")) == m.probability("p") == pytest.approx((3 + 1) / (4 + 2))


@pytest.mark.parametrize("owner,won,lost", [("alice", 3, 0), ("bob", 0, 3), ("carol", 0, 0), (None, 0, 0)])
def test_deal_probability_by_field_is_naive_bayes_laplace_smoothed(owner, won, lost):
    counts = {"owner": {"alice": [3, 0], "bob": [0, 3]}}
    m = model(won={"p": 3}, lost={"p": 3}, by=("owner",), field_counts=counts)
    p = m.probability("p")
    odds = p / (1 - p) * ((won + 1) / (3 + 3)) / ((lost + 1) / (3 + 3))  # k = 2 values seen + 1 unseen
    assert m.deal_probability(deal(stage="p", owner=owner)) == pytest.approx(odds / (1 + odds))


def test_the_stage_table_has_the_median_time_to_win():
    m = model([10, 20, 30, 40], won={"p": 4}, lost={"p": 1})
    assert m.calibration() == [{"stage": "p", "configured": 0.5, "observed": 0.8, "won": 4, "lost": 1,
                                "learned": round(5 / 7, 4)}]
    assert m.stages_json()["p"] == {"configured": 0.5, "learned": round(5 / 7, 4), "won": 4, "lost": 1,
                                    "time_to_win_median_days": 25.0, "time_to_win_samples": 4}
    assert model().stages_json()["p"]["time_to_win_median_days"] is None


# ---------------------------------------------------------------------------------
# learn: closed deals as of now, merged with the store's transitions
# ---------------------------------------------------------------------------------

def store_of(*transitions: Transition) -> Any:
    return SimpleNamespace(transitions=lambda: iter(transitions))


def test_nothing_to_learn_from(wf):
    m = learn([], wf, NOW)
    assert (m.stages, m.won, m.lost, m.win_days) == (["prospect", "qualified", "proposed"], Counter(), Counter(),
                                                     {"prospect": [], "qualified": [], "proposed": []})
    assert m.sources == {"closed_won": 0, "closed_lost": 0} and m.curves == {}


def test_learn_counts_closed_deals_per_stage_reached(wf):
    states = [deal("W1", "closed", "won", entries={"prospect": 50, "qualified": 40, "closed": 10}, closed=10),
              deal("W2", "closed", "won", entries={"qualified": 30}, closed=30),  # won the day it entered
              deal("W3", "closed", "won", entries={"prospect": 5}, closed=10),  # entry after the win: no timing
              deal("L1", "qualified", "lost", entries={"prospect": 20, "qualified": 15}, closed=5),
              deal("F1", "closed", "won", entries={"prospect": 20}, closed=-1),  # closes tomorrow: not yet
              deal("O1", entries={"prospect": 20})]
    m = learn(states, wf, NOW)
    assert m.won == Counter({"prospect": 2, "qualified": 2}) and m.lost == Counter({"prospect": 1, "qualified": 1})
    assert m.win_days == {"prospect": [40], "qualified": [0, 30], "proposed": []}
    assert m.sources == {"closed_won": 3, "closed_lost": 1}
    assert sorted(m.curves) == ["closed", "prospect", "qualified"]  # open and future deals are censored samples


def test_learn_merges_the_stores_transitions(wf):
    states = [deal("W1", "closed", "won", entries={"qualified": 10}, closed=0)]
    store = store_of(Transition("W1", None, "prospect", day(30)), Transition("W1", "prospect", "qualified", day(20)),
                     Transition("S1", None, "prospect", day(60)), Transition("S1", "prospect", "closed", day(50), "lost"),
                     Transition("S2", None, "prospect", day(-3)))  # after now: left out
    m = learn(states, wf, NOW, store)
    assert m.win_days["qualified"] == [20]  # the store's earlier entry wins over the file's
    assert m.win_days["prospect"] == [30] and m.lost == Counter({"prospect": 1})
    assert (m.sources["store_transitions"], m.sources["store_only_deals"]) == (4, 1)


def test_an_unreachable_store_leaves_the_deals_own_history(wf):
    def fail() -> Any:
        raise ConnectionError("no route to store")
    states = [deal("W1", "closed", "won", entries={"prospect": 10}, closed=0)]
    m = learn(states, wf, NOW, SimpleNamespace(transitions=fail))
    assert m.sources["store_error"] == "ConnectionError: no route to store"
    assert m.won == Counter({"prospect": 1}) and m.win_days["prospect"] == [10]


def test_learn_counts_the_by_fields_values_of_closed_deals(wf):
    states = [deal("W1", "closed", "won", owner="alice", entries={"prospect": 9}, closed=1),
              deal("L1", "prospect", "lost", owner="alice", entries={"prospect": 9}, closed=1),
              deal("L2", "prospect", "lost", owner=None, entries={"prospect": 9}, closed=1),
              deal("O1", owner="bob")]
    m = learn(states, wf, NOW, by=["owner"])
    assert m.field_counts == {"owner": {"alice": [1, 1], "(none)": [0, 1]}}


def test_slim_for_forecast_keeps_the_forecast_fields_and_the_by_ones():
    full = SimpleNamespace(**{f: getattr(deal(), f) for f in SlimState.__dataclass_fields__ if f != "deal"},
                           deal={"id": "X", "owner": "o", "region": "north", "notes": "long", "product": "p"})
    assert slim_for_forecast(full).deal == {"id": "X", "owner": "o", "product": "p"}
    assert slim_for_forecast(full, ["region"]).deal == {"id": "X", "owner": "o", "product": "p", "region": "north"}
    assert set(FORECAST_FIELDS) == {"id", "owner", "product", "account"}
    already = deal()
    assert slim_for_forecast(already) is already


# ---------------------------------------------------------------------------------
# the pieces the methods share
# ---------------------------------------------------------------------------------

def test_open_deals():
    states = [deal("O1"), deal("W", outcome="won"), deal("L", outcome="lost"), deal("O2")]
    assert [s.id for s in open_deals(states)] == ["O1", "O2"]
    assert list(open_deals([])) == []


@pytest.mark.parametrize("expected_close,horizon,chance", [
    (None, 30, 1.0), (10, 30, 1.0), (0, 30, 1.0), (-30, 30, 1.0), (-31, 30, 0.0), (-1, 0, 0.0), (0, 0, 1.0),
])
def test_by_date_is_whether_the_expected_close_falls_within(expected_close, horizon, chance):
    assert by_date(deal(expected_close=expected_close), NOW, horizon) == chance


@pytest.mark.parametrize("win_days,expected_close,entered,result", [
    ([10, 20, 30, 40, 50], None, 25, (1 / 3, "history")),
    ([10, 20, 30, 40, 50], -100, -5, (1 / 5, "history")),  # entered in the future: age 0
    ([10, 20], -100, 0, (0.0, "expected_close")),
    ([10, 20], -5, 0, (1.0, "expected_close")),
    ([], None, 0, (1.0, "assumed")),
])
def test_timing_comes_from_history_else_the_expected_close_else_is_assumed(win_days, expected_close, entered, result):
    m = HistoryModel(["prospect"], {"prospect": 0.1}, Counter(), Counter(), {"prospect": win_days})
    d = deal(entries={"prospect": entered}, expected_close=expected_close)
    chance, source = timing(d, m, NOW, 10)
    assert (chance, source) == (pytest.approx(result[0]), result[1])


@pytest.mark.parametrize("amounts,probs", [
    ([], []), ([100.0], [1.0]), ([100.0], [0.0]), ([100.0, 50.0], [0.5, 0.5]), ([1e6, 1.0], [0.01, 0.99]),
    ([10.0] * 50, [0.5] * 50), ([1e300], [0.5]),
])
def test_bernoulli_quantiles(amounts, probs):
    q = bernoulli_quantiles(amounts, probs)
    mean = sum(a * p for a, p in zip(amounts, probs))
    sd = sum(a * a * p * (1 - p) for a, p in zip(amounts, probs)) ** 0.5
    cap = sum(a for a, p in zip(amounts, probs) if p > 0)
    assert q == {"expected": pytest.approx(round(mean, 2)), "p10": pytest.approx(round(max(0.0, mean - Z90 * sd), 2)),
                 "p50": pytest.approx(round(mean, 2)), "p90": pytest.approx(round(min(cap, mean + Z90 * sd), 2))}
    assert 0 <= q["p10"] <= q["p50"] <= q["p90"] <= max(cap, 0)


# ---------------------------------------------------------------------------------
# run_method: what flowctl does around a method
# ---------------------------------------------------------------------------------

FIGURES = {"expected": 40.0, "p10": 30.0, "p50": 40.0, "p90": 50.0}


def method_returning(result: Any, seen: list[ForecastInput] | None = None) -> ForecastMethod:
    def forecast(data: ForecastInput) -> Any:
        if seen is not None:
            seen.append(data)
        if isinstance(result, Exception):
            raise result
        return result
    return ForecastMethod("fixed", forecast)


def data_for(wf: Workflow, options: dict | None = None, states: list | None = None) -> ForecastInput:
    return ForecastInput(states if states is not None else [deal("O1")], wf, NOW, 30, None, options or {})


@pytest.mark.parametrize("result,message", [
    (ValueError("bad stage"), "forecast method fixed failed: ValueError: bad stage"),
    (ZeroDivisionError("division by zero"), "forecast method fixed failed: ZeroDivisionError: division by zero"),
    (None, "forecast method fixed returned no expected/p10/p50/p90"),
    ([1, 2, 3, 4], "forecast method fixed returned no expected/p10/p50/p90"),
    ({"expected": 1, "p10": 1, "p50": 1}, "forecast method fixed returned no expected/p10/p50/p90"),
])
def test_a_broken_method_is_named(wf, result, message):
    with pytest.raises(ForecastFailed) as caught:
        run_method(method_returning(result), data_for(wf))
    assert str(caught.value) == message


def test_a_methods_result_cannot_replace_the_keys_flowctl_sets(wf):
    overreaching = {**FIGURES, "new": 0.0, **{k: "mine" for k in RESERVED_KEYS}, "note": "kept"}
    out = run_method(method_returning(overreaching), data_for(wf))
    assert out == {"method": "fixed", "horizon_days": 30, **FIGURES, "new": 0.0, "note": "kept"}


def test_a_method_that_gives_its_new_part_gets_none_added(wf):
    out = run_method(method_returning({**FIGURES, "new": 5.0}), data_for(wf))
    assert out == {"method": "fixed", "horizon_days": 30, **FIGURES, "new": 5.0}


@pytest.mark.parametrize("options", [{"existing_only": True}, {"existing_only": True, "trials": 10}])
def test_existing_only_leaves_out_the_new_deals(wf, options):
    seen: list[ForecastInput] = []
    out = run_method(method_returning(dict(FIGURES), seen), data_for(wf, options))
    assert out == {"method": "fixed", "horizon_days": 30, **FIGURES} and len(seen) == 1
    assert seen[0].options == options


def test_without_a_new_part_the_new_deals_are_added(wf):
    out = run_method(method_returning(dict(FIGURES)), data_for(wf))
    assert out["existing"] == 40.0 and out["expected"] == pytest.approx(40.0 + out["new"], abs=0.01)
    assert out["past_log_errors"] == [] and out["replay_calibration"]["replays"] == 0  # one deal: nothing to replay


def test_the_workflows_settings_reach_the_method_under_the_command_lines(wf):
    settings = dataclasses.replace(wf, document={**wf.document, "forecast": {"fixed": {"trials": 300, "seed": 7}}})
    seen: list[ForecastInput] = []
    run_method(method_returning({**FIGURES, "new": 0.0}, seen), data_for(settings, {"seed": 8}))
    assert seen[0].options == {"trials": 300, "seed": 8}


@pytest.mark.parametrize("scale", [1e-2, 1e3, 1e150, 1e200, 1e290])
def test_bernoulli_quantiles_scale_with_the_amounts_up_to_the_schemas_largest(scale):
    amounts, probs = [1.0, 3.0, 2.0], [0.9, 0.5, 0.2]
    base, scaled = bernoulli_quantiles(amounts, probs), bernoulli_quantiles([a * scale for a in amounts], probs)
    assert base["p10"] > 0
    for key in ("expected", "p10", "p50", "p90"):
        assert scaled[key] == pytest.approx(base[key] * scale, rel=0.01, abs=0.01), key
