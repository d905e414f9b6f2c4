"""Forecasts through the forecasting hook (weighted, historical, montecarlo) and the
rolling-origin backtest, on small constructed histories with exact expected numbers."""
from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest

from conftest import Project
from flowctl.compiled import CompiledWorkflow
from flowctl.forecasting import Z90, slim_for_forecast
from flowctl.hooktypes import ForecastInput
from flowctl.metrics import SlimState
from flowctl.pipeline import evaluate_all
from flowctl.plugin_manager import Plugins
from flowctl.store import Transition
from flowctl.testing import invoke_cli
from flowctl.workflow import load_workflow

DATA = Path(__file__).parent / "data" / "analytics"


def setup(tmp_path: Path, deals: list[dict], **workflow_changes) -> Path:
    return Project.analytics(tmp_path, deals, **workflow_changes).workflow


def run(*args: str) -> tuple[int, str, str]:
    result = invoke_cli(*args)
    return result.exit_code, result.stdout, result.stderr


def forecast_json(wf: Path, *args: str) -> dict:
    code, out, err = run("forecast", "-w", str(wf), "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)


def shifted(start: str, days: int) -> str:
    return (dt.date.fromisoformat(start) + dt.timedelta(days=days)).isoformat()


# ---------------------------------------------------------------------------------
# weighted
# ---------------------------------------------------------------------------------

WEIGHTED_DEALS = [
    {"id": "A", "amount": 5000, "created": "2026-01-01", "outcome": "won", "closed_at": "2026-02-01"},
    {"id": "C", "amount": 5000, "created": "2026-01-01", "outcome": "lost", "closed_at": "2026-02-01"},
    {"id": "D", "amount": 1000, "probability": 0.5, "forecast_category": "commit", "expected_close": "2026-04-15",
     "history": [{"stage": "proposed", "at": "2026-03-01"}]},
    {"id": "E", "amount": 400, "expected_close": "2026-05-10"},
    {"id": "F", "amount": 600, "expected_close": "2026-09-01", "history": [{"stage": "qualified", "at": "2026-03-01"}]},
    {"id": "G", "amount": 100, "history": [{"stage": "qualified", "at": "2026-03-01"}]},
]


def test_weighted_by_category_and_month(tmp_path):
    wf = setup(tmp_path, WEIGHTED_DEALS)
    r = forecast_json(wf, "--method", "weighted", "--horizon", "90d", "--now", "2026-03-31")
    assert r["method"] == "weighted" and r["horizon_days"] == 90
    # within 90 days: D 1000 x 0.5 (own probability), E 400 x 0.1, G 100 x 0.4 (no expected_close); F is beyond
    assert r["existing"] == 580.0 and r["open_deals"] == 3
    assert r["expected"] == pytest.approx(580.0 + r["new"], abs=0.01)
    assert r["by_category"] == {"commit": {"count": 1, "amount": 1000.0, "weighted": 500.0},
                                "pipeline": {"count": 2, "amount": 500.0, "weighted": 80.0}}
    assert r["by_month"] == {"(no expected_close)": 40.0, "2026-04": 500.0, "2026-05": 40.0}
    assert r["beyond_horizon"] == {"count": 1, "weighted": 240.0}
    sd = (1000 ** 2 * 0.25 + 400 ** 2 * 0.09 + 100 ** 2 * 0.24) ** 0.5
    assert r["existing_interval"]["p10"] == 0.0  # 580 - 1.28 sd < 0: floored
    assert r["existing_interval"]["p90"] == pytest.approx(580 + Z90 * sd, abs=0.01)
    assert r["p10"] <= r["p50"] == r["expected"] <= r["p90"]
    assert "normal approximation" in r["quantiles"]


def test_weighted_is_the_default_and_text_output(tmp_path):
    wf = setup(tmp_path, WEIGHTED_DEALS)
    code, out, _ = run("forecast", "-w", str(wf), "--now", "2026-03-31")
    assert code == 0 and "weighted forecast" in out and "existing 580" in out and "P10" in out


# ---------------------------------------------------------------------------------
# historical
# ---------------------------------------------------------------------------------

def history_deals() -> list[dict]:
    """Five wins whose time from entering `proposed` to the win is 10..50 days, two
    losses (at prospect and at qualified), and one open deal 25 days in `proposed`."""
    deals = []
    for i, days in enumerate((10, 20, 30, 40, 50), start=1):
        start = "2025-06-01"
        deals.append({"id": f"W{i}", "owner": "alice" if i < 5 else "bob", "amount": 1000, "created": start,
                      "history": [{"stage": "prospect", "at": start}, {"stage": "qualified", "at": shifted(start, 5)},
                                  {"stage": "proposed", "at": shifted(start, 10)}],
                      "outcome": "won", "closed_at": shifted(start, 10 + days)})
    deals.append({"id": "L1", "owner": "bob", "amount": 1000, "created": "2025-06-01",
                  "history": [{"stage": "prospect", "at": "2025-06-01"}], "outcome": "lost", "closed_at": "2025-07-01"})
    deals.append({"id": "L2", "owner": "bob", "amount": 1000, "created": "2025-06-01",
                  "history": [{"stage": "prospect", "at": "2025-06-01"}, {"stage": "qualified", "at": "2025-06-10"}],
                  "outcome": "lost", "closed_at": "2025-07-01"})
    deals.append({"id": "O1", "owner": "alice", "amount": 1000, "created": "2026-01-01",
                  "history": [{"stage": "proposed", "at": "2026-03-06"}]})  # 25 days in proposed on 03-31
    return deals


def test_historical_learned_smoothed_probabilities_and_timing(tmp_path):
    wf = setup(tmp_path, history_deals())
    r = forecast_json(wf, "--method", "historical", "--horizon", "10d", "--now", "2026-03-31")
    s = r["stages"]
    # m-estimate, m = 2: (won + 2 p0) / (won + lost + 2)
    assert (s["prospect"]["won"], s["prospect"]["lost"]) == (5, 2)
    assert s["prospect"]["learned"] == pytest.approx((5 + 0.2) / 9, abs=1e-4)
    assert s["qualified"]["learned"] == pytest.approx((5 + 0.8) / 8, abs=1e-4)
    assert s["proposed"]["learned"] == pytest.approx((5 + 1.4) / 7, abs=1e-4)  # 5 wins, 0 losses: still below 1
    assert s["proposed"]["time_to_win_median_days"] == 30
    # O1: 25 days in proposed, horizon 10: still open after 25 days were W3..W5 (30, 40, 50 days);
    # O1 itself is censored at 25. Won within 25..35: W3 -> 1/3 (censored estimate, no smoothing)
    assert r["existing"] == pytest.approx(1000 / 3, abs=0.01)
    assert r["timing_sources"] == {"censored history": 1}
    assert "m-estimate" in r["smoothing"]


def test_historical_naive_bayes_by_owner(tmp_path):
    wf = setup(tmp_path, history_deals())
    r = forecast_json(wf, "--method", "historical", "--horizon", "10d", "--now", "2026-03-31", "--by", "owner")
    # owner alice: 4 won, 0 lost; bob: 1 won, 2 lost; K = 3 (two values + unseen)
    lr = ((4 + 1) / (5 + 3)) / ((0 + 1) / (2 + 3))
    p = 6.4 / 7
    odds = p / (1 - p) * lr
    assert r["by"] == ["owner"]
    assert r["existing"] == pytest.approx(1000 / 3 * (odds / (1 + odds)) / p, abs=0.01)


class FakeStore:
    url = "fake://"

    def __init__(self, transitions: list[Transition]):
        self._t = transitions

    def transitions(self, deal_id=None):
        return iter(self._t)

    def close(self) -> None:
        pass


def test_historical_uses_store_transitions(tmp_path):
    wf_path = setup(tmp_path, history_deals())
    plugins = Plugins()
    workflow, _ = load_workflow(str(wf_path), plugins)
    now = dt.date(2026, 3, 31)
    states = [slim_for_forecast(i.state) for i in evaluate_all(CompiledWorkflow(workflow), [str(tmp_path / "deals")], now)]
    d = dt.date(2025, 1, 1)
    store = FakeStore([  # two deals only the store knows: S1 won 60 days after proposed, S2 lost in proposed
        Transition("S1", None, "prospect", d), Transition("S1", "prospect", "proposed", d + dt.timedelta(days=5)),
        Transition("S1", "proposed", "closed", d + dt.timedelta(days=65), "won"),
        Transition("S2", None, "prospect", d), Transition("S2", "prospect", "proposed", d + dt.timedelta(days=5)),
        Transition("S2", "proposed", "proposed", d + dt.timedelta(days=20), "lost"),
        Transition("S3", None, "prospect", now + dt.timedelta(days=1)),  # after now: ignored
    ])
    method = plugins.forecast_methods()["historical"]
    r = method.forecast(ForecastInput(states, workflow, now, 10, store, {}))
    assert r["stages"]["proposed"]["won"] == 6 and r["stages"]["proposed"]["lost"] == 1
    assert r["sources"]["store_transitions"] == 6 and r["sources"]["store_only_deals"] == 2
    # still open after 25 days in proposed: W3..W5 and S1 (won after 60); won within 25..35: W3 -> 1/4
    assert r["expected"] == pytest.approx(1000 * 0.25, abs=0.01)


def test_historical_without_a_reachable_store_still_works(tmp_path):
    wf = setup(tmp_path, history_deals())
    code, out, err = run("forecast", "-w", str(wf), "--method", "historical", "--now", "2026-03-31",
                         "--store", "postgresql://nobody@127.0.0.1:1/none", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["expected"] > 0


# ---------------------------------------------------------------------------------
# montecarlo
# ---------------------------------------------------------------------------------

def test_montecarlo_seeded_and_ordered(tmp_path):
    deals = [{"id": f"M{i}", "amount": 100 * (i + 1), "probability": round(0.1 + 0.8 * (i % 10) / 10, 2)}
             for i in range(40)]
    wf = setup(tmp_path, deals)
    args = ("--method", "montecarlo", "--now", "2026-03-31", "--trials", "20000", "--seed", "7")
    a, b = forecast_json(wf, *args), forecast_json(wf, *args)
    assert a == b  # seeded: deterministic
    assert a["p10"] <= a["p50"] <= a["p90"]
    assert (a["trials"], a["seed"], a["open_deals"]) == (20000, 7, 40)
    analytic = sum(d["amount"] * d["probability"] for d in deals)  # no history: all close within the horizon
    assert a["expected"] == pytest.approx(analytic, rel=0.01)
    other = forecast_json(wf, "--method", "montecarlo", "--now", "2026-03-31", "--trials", "20000", "--seed", "8")
    assert other["expected"] != a["expected"]


def test_montecarlo_uses_time_to_close(tmp_path):
    wf = setup(tmp_path, history_deals())
    r = forecast_json(wf, "--method", "montecarlo", "--now", "2026-03-31", "--horizon", "10d", "--seed", "3")
    # O1 is won with its stage's 0.7 and, if won, closes within 10 days with 1/3 (as learned)
    assert r["expected"] == pytest.approx(1000 * 0.7 / 3, rel=0.05)
    assert r["timing_sources"] == {"history": 1}


def test_montecarlo_10000_trials_over_10000_deals_agree_with_the_sum_of_bernoullis():
    # its speed is benchmarks/forecast_speed.py's figure, not a test's: a loaded machine is slow
    plugins = Plugins()
    workflow, _ = load_workflow(str(DATA / "workflow.yaml"), plugins)
    now = dt.date(2026, 3, 31)
    stages = ("prospect", "qualified", "proposed")
    states = [SlimState(f"D{i}", stages[i % 3], i % 3, "open", 100.0 + i, 0.1 + 0.3 * (i % 3), "pipeline", None,
                        None, None, None, now, 0, False, False, {stages[i % 3]: now}, {}) for i in range(10_000)]
    method = plugins.forecast_methods()["montecarlo"]
    r = method.forecast(ForecastInput(states, workflow, now, 90, None, {"trials": 10_000, "seed": 1}))
    # no history and no expected close: each deal closes within the horizon, won with its probability
    mean = sum(s.amount * s.probability for s in states)
    sd = math.sqrt(sum(s.amount ** 2 * s.probability * (1 - s.probability) for s in states))
    assert r["p10"] <= r["p50"] <= r["p90"] and r["open_deals"] == 10_000
    assert r["expected"] == pytest.approx(mean, abs=5 * sd / math.sqrt(10_000))
    assert r["p90"] - r["p10"] == pytest.approx(2 * Z90 * sd, rel=0.05)  # 10000 deals: near normal


# ---------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------

def test_unknown_method_exits_2(tmp_path):
    wf = setup(tmp_path, WEIGHTED_DEALS)
    code, _, err = run("forecast", "-w", str(wf), "--method", "crystal-ball")
    assert code == 2 and "crystal-ball" in err and "weighted" in err and "Traceback" not in err


def test_bad_horizon_exits_2(tmp_path):
    wf = setup(tmp_path, WEIGHTED_DEALS)
    code, _, err = run("forecast", "-w", str(wf), "--horizon", "soon")
    assert code == 2 and "bad duration" in err


# ---------------------------------------------------------------------------------
# backtest
# ---------------------------------------------------------------------------------

BACKTEST_DEALS = [
    {"id": "W1", "amount": 1000, "created": "2026-04-01",
     "history": [{"stage": "prospect", "at": "2026-04-01"}, {"stage": "qualified", "at": "2026-04-10"}],
     "outcome": "won", "closed_at": "2026-05-15"},
    {"id": "W2", "amount": 2000, "created": "2026-04-20",
     "history": [{"stage": "prospect", "at": "2026-04-20"}, {"stage": "proposed", "at": "2026-05-20"}],
     "outcome": "won", "closed_at": "2026-06-10"},
    {"id": "L1", "amount": 500, "created": "2026-04-05", "history": [{"stage": "prospect", "at": "2026-04-05"}],
     "outcome": "lost", "closed_at": "2026-05-20"},
    {"id": "N1", "amount": 300, "created": "2026-06-05", "history": [{"stage": "prospect", "at": "2026-06-05"}],
     "outcome": "won", "closed_at": "2026-06-20"},
]


def test_backtest_numbers_on_a_tiny_history(tmp_path):
    wf = setup(tmp_path, BACKTEST_DEALS)
    r = forecast_json(wf, "--backtest", "--method", "weighted", "--horizon", "30d", "--origins", "2",
                      "--step", "30d", "--now", "2026-06-30")
    assert [o["origin"] for o in r["origins"]] == ["2026-05-01", "2026-05-31"]
    first, second = r["origins"]
    # 05-01: W1 in qualified (1000 x 0.4), W2 and L1 in prospect (x 0.1); W1 is won on 05-15
    assert first["detail"]["weighted"]["existing"] == 650.0 and first["actual_existing"] == 1000
    assert first["open_deals"] == 3 and first["actual"] == 1000
    # 05-31: only W2 is open (proposed, 0.7); it is won 06-10; N1 did not exist at the origin
    assert second["detail"]["weighted"]["existing"] == 1400.0 and second["actual_existing"] == 2000
    assert second["actual"] == second["actual_all_deals"] == 2300 and second["actual_new"] == 300
    w = r["methods"]["weighted"]
    assert w["existing_bias"] == pytest.approx(((650 - 1000) / 1000 + (1400 - 2000) / 2000) / 2, abs=1e-4)
    f = [o["forecasts"]["weighted"] for o in r["origins"]]
    assert w["mape"] == pytest.approx((abs(f[0] - 1000) / 1000 + abs(f[1] - 2300) / 2300) / 2, abs=1e-4)
    assert w["origins"] == 2 and 0 <= w["coverage"] <= 2
    cal = {c["stage"]: c for c in r["calibration"]}
    # closed by 06-30: W1, W2, N1 won (a win reaches every stage), L1 lost in prospect
    assert cal["prospect"] == {"stage": "prospect", "configured": 0.1, "observed": 0.75, "won": 3, "lost": 1,
                               "learned": pytest.approx(3.2 / 6, abs=1e-4)}
    assert cal["proposed"]["observed"] == 1.0 and cal["proposed"]["learned"] == pytest.approx(4.4 / 5, abs=1e-4)


def test_backtest_all_methods_shape_and_text(tmp_path):
    wf = setup(tmp_path, BACKTEST_DEALS)
    r = forecast_json(wf, "--backtest", "--horizon", "30d", "--origins", "2", "--now", "2026-06-30", "--trials", "500")
    assert set(r["methods"]) == {"weighted", "historical", "montecarlo", "runrate"}
    for m in r["methods"].values():
        assert set(m) == {"mape", "bias", "bias_amount", "existing_bias", "new_bias", "coverage", "width", "origins"}
    assert all(set(o["forecasts"]) == set(r["methods"]) for o in r["origins"])
    assert {"stage", "configured", "observed"} <= set(r["calibration"][0])
    code, out, _ = run("forecast", "-w", str(wf), "--backtest", "--horizon", "30d", "--origins", "2",
                       "--now", "2026-06-30", "--trials", "500")
    assert code == 0 and "MAPE" in out and "calibration" in out


def test_every_forecast_has_existing_and_new_parts(tmp_path):
    wf = setup(tmp_path, BACKTEST_DEALS)
    for method in ("weighted", "historical", "montecarlo", "runrate"):
        r = forecast_json(wf, "--method", method, "--now", "2026-06-30", "--horizon", "30d", "--trials", "300")
        assert r["expected"] == pytest.approx(r["existing"] + r["new"], abs=0.02)
        assert r["p10"] <= r["p50"] <= r["p90"]
        # created within (04-01, 06-30]: W2, L1, N1 (W1 on 04-01 is just outside)
        assert r["new_detail"]["created_per_day"] == pytest.approx(3 / 90, abs=1e-4)


def test_default_method_is_named_with_its_reason(tmp_path):
    wf = setup(tmp_path, BACKTEST_DEALS)
    r = forecast_json(wf, "--now", "2026-06-30", "--horizon", "30d", "--trials", "300")
    assert r["method"] == "weighted" and "too little history" in r["default_reason"]


ALL_METHODS = ("forecast_weighted", "forecast_historical", "forecast_montecarlo", "forecast_runrate")


@pytest.mark.parametrize("installed", [("forecast_historical",), ("forecast_runrate",),
                                       ("forecast_historical", "forecast_montecarlo")])
def test_the_default_is_chosen_among_the_installed_methods_only(tmp_path, monkeypatch, installed):
    # one method installed, or the fallback (weighted) not among them: the choice never names a missing one
    monkeypatch.setenv("FLOWCTL_DISABLE_PLUGINS", ",".join(m for m in ALL_METHODS if m not in installed))
    wf = setup(tmp_path, BACKTEST_DEALS)
    r = forecast_json(wf, "--now", "2026-06-30", "--horizon", "30d", "--trials", "300")
    names = sorted(m.split("_", 1)[1] for m in installed)
    assert r["method"] == names[0] and r["default_reason"]
    assert ("only forecast method" in r["default_reason"]) == (len(names) == 1)


def test_no_forecast_method_installed_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWCTL_DISABLE_PLUGINS", ",".join(ALL_METHODS))
    code, _, err = run("forecast", "-w", str(setup(tmp_path, BACKTEST_DEALS)), "--now", "2026-06-30")
    assert code == 2 and "no forecast method is installed" in err and "Traceback" not in err


def test_backtest_from_to_every(tmp_path):
    wf = setup(tmp_path, BACKTEST_DEALS)
    r = forecast_json(wf, "--backtest", "--from", "2026-05-01", "--to", "2026-06-15", "--every", "2w",
                      "--horizon", "30d", "--now", "2026-06-30", "--trials", "300")
    assert [o["origin"] for o in r["origins"]] == ["2026-05-01", "2026-05-15", "2026-05-29"]
    assert r["origins_not_yet_known"] == ["2026-06-12"]  # its horizon ends after the date
    assert r["default_method"] in r["methods"] and r["default_reason"]
    code, _, err = run("forecast", "-w", str(wf), "--backtest", "--from", "2026-05-01", "--every", "monthly")
    assert code == 2 and "bad step" in err


def test_a_method_cannot_overwrite_the_keys_flowctl_sets(tmp_path):
    from flowctl.testing import invoke_cli as invoke
    project = Project(tmp_path)
    project.deal("A")
    result = invoke("--plugin", "fixture_plugins.overreaching_forecast", "forecast", "--method", "overreaching",
                    "--horizon", "30d", "--format", "json", "-w", project.workflow, project.deals, "--now", "2026-01-05")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["method"] == "overreaching" and data["horizon_days"] == 30
    assert data["errors"] == [] and data["currency"] == "EUR" and data["note"] == "kept"


def test_past_error_widens_the_interval(tmp_path):
    from flowctl.forecast_error import state_then
    wf_path = setup(tmp_path, BACKTEST_DEALS)
    workflow, _ = load_workflow(str(wf_path), Plugins())
    now = dt.date(2026, 6, 30)
    states = {i.state.id: slim_for_forecast(i.state)
              for i in evaluate_all(CompiledWorkflow(workflow), [str(tmp_path / "deals")], now)}
    order = {s.id: s.index for s in workflow.stages}
    probability = {s.id: s.probability for s in workflow.stages if not s.terminal}
    category = {s.id: s.forecast_category for s in workflow.stages if not s.terminal}
    # W2 on 05-25: open in proposed (entered 05-20), won later; N1 did not exist yet
    then = state_then(states["W2"], dt.date(2026, 5, 25), order, probability, category, "prospect")
    assert (then.outcome, then.stage, then.days_in_stage, then.closed_at) == ("open", "proposed", 5, None)
    assert then.probability == probability["proposed"]
    assert state_then(states["N1"], dt.date(2026, 5, 25), order, probability, category, "prospect") is None
    assert state_then(states["W1"], dt.date(2026, 6, 1), order, probability, category, "prospect").outcome == "won"
