"""The backtest's origins and the choice of the default method (engine/backtest.py)."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from flowctl.backtest import FALLBACK_METHOD, MIN_ORIGINS, choose_default, parse_every, schedule


def test_monthly_and_daily_schedules():
    assert schedule(dt.date(2017, 4, 1), dt.date(2017, 10, 1), (1, "mo")) == [dt.date(2017, m, 1) for m in range(4, 11)]
    assert schedule(dt.date(2017, 1, 31), dt.date(2017, 3, 31), (1, "mo")) == [
        dt.date(2017, 1, 31), dt.date(2017, 2, 28), dt.date(2017, 3, 31)]
    assert schedule(dt.date(2017, 1, 1), dt.date(2017, 1, 20), parse_every("1w")) == [
        dt.date(2017, 1, 1), dt.date(2017, 1, 8), dt.date(2017, 1, 15)]
    for bad in ("0mo", "monthly", "1y", ""):
        with pytest.raises(ValueError):
            parse_every(bad)


def methods(**mapes):
    return {"methods": {n: {"mape": m, "origins": o} for n, (m, o) in mapes.items()}}


def test_default_is_the_lowest_error_with_enough_history():
    assert choose_default(methods(weighted=(0.3, 6), historical=(0.1, 6)))[0] == "historical"
    name, why = choose_default(methods(weighted=(0.3, 2), historical=(0.1, 2)))
    assert name == FALLBACK_METHOD and "too little history" in why
    name, why = choose_default(methods(weighted=(0.1, 6), historical=(0.1, 6)))
    assert name == "weighted" and "tie" in why


@pytest.mark.parametrize("step", ["0d", "0w", "0mo"])
def test_a_backtest_step_of_nothing_is_a_usage_error(step, tmp_path):
    from flowctl.testing import invoke_cli as invoke
    from conftest import Project
    project = Project(tmp_path)
    project.deal("A")
    result = invoke("forecast", "--backtest", "--step", step, "-w", project.workflow, project.deals, "--now", "2026-06-01")
    assert result.exit_code == 2, result.output
    assert "--step" in result.output and "Traceback" not in result.output


def test_repeated_origins_are_backtested_once(tmp_path):
    from flowctl.testing import invoke_cli as invoke
    from conftest import Project
    project = Project(tmp_path)
    project.deal("A")
    result = invoke("forecast", "--backtest", "--from", "2026-01-01", "--to", "2026-01-01", "-w", project.workflow,
                    project.deals, "--now", "2026-06-01", "--format", "json")
    assert result.exit_code in (0, 1), result.output  # 1: one deal is too little history to score
    origins = [row["origin"] for row in json.loads(result.stdout)["origins"]]
    assert origins == ["2026-01-01"]  # once, though --from and --to name it both


# ---------------------------------------------------------------------------------
# which origins the default is chosen over: those with a history to learn from
# ---------------------------------------------------------------------------------

START = dt.date(2025, 1, 1)
EVERY, TO_CLOSE, HORIZON = 5, 20, 30  # a deal created every 5 days, each won 20 days later
STEADY = [START + dt.timedelta(days=EVERY * k) for k in range(30)]
NO_HISTORY = [dt.date(2025, 1, 15), dt.date(2025, 2, 10)]  # no win yet; 5 wins but closes seen for 20 days only
HISTORY = [dt.date(2025, 2, 25), dt.date(2025, 3, 25), dt.date(2025, 4, 25), dt.date(2025, 5, 25)]
LATER = dt.date(2025, 6, 30)  # every origin's horizon has passed


@pytest.fixture(scope="module")
def steady_wins(tmp_path_factory: Any, analytics_workflow: Any) -> tuple[Any, list[tuple[dict, Any]]]:
    """(compiled workflow, [(deal document, its state on LATER)]) for the STEADY deals."""
    from conftest import Project
    from flowctl.compiled import CompiledWorkflow
    from flowctl.pipeline import evaluate_all
    project = Project(tmp_path_factory.mktemp("steady_wins"))
    project.data(*({"id": f"D{k}", "amount": 1000 + 100 * k, "created": day.isoformat(),
                    "history": [{"stage": "prospect", "at": day.isoformat()}], "outcome": "won",
                    "closed_at": (day + dt.timedelta(days=TO_CLOSE)).isoformat()} for k, day in enumerate(STEADY)))
    cw = CompiledWorkflow(analytics_workflow)
    items = list(evaluate_all(cw, [str(project.deals)], LATER))
    assert all(not item.failed for item in items)
    return cw, [(item.doc.deal, item.state) for item in items]


def won_within(pairs: list[tuple[dict, Any]], day: dt.date) -> float:
    return sum(s.amount for _, s in pairs if day < s.closed_at <= day + dt.timedelta(days=HORIZON))


def off_by(name: str, pairs: list[tuple[dict, Any]], without_history: float, with_history: float) -> Any:
    """A method forecasting the revenue the origin's horizon will bring, off by these fractions
    at the origins without and with a history (it is told the answer: a stand-in for a method
    that happens to fit the first days of a pipeline)."""
    from flowctl.forecast_error import has_history
    from flowctl.hooktypes import ForecastInput, ForecastMethod

    def forecast(data: ForecastInput) -> dict:
        error = with_history if has_history(data.states, data.now) else without_history
        figure = won_within(pairs, data.now) * (1 + error)
        return {"expected": figure, "p10": figure, "p50": figure, "p90": figure, "existing": figure, "new": 0.0}
    return ForecastMethod(name, forecast)


def run_backtest(deals: tuple[Any, list[tuple[dict, Any]]], origins: list[dt.date], **errors: tuple[float, float]) -> dict:
    from flowctl.backtest import backtest
    cw, pairs = deals
    methods = {name: off_by(name, pairs, *pair) for name, pair in errors.items()}
    return backtest(iter(pairs), cw, LATER, HORIZON, methods, dates=origins)


def test_origins_before_the_history_began_are_not_used_for_the_default(steady_wins):
    r = run_backtest(steady_wins, NO_HISTORY + HISTORY, weighted=(0.1, 0.1), other=(0.2, 0.2))
    assert [(o["origin"], o["used_for_default"]) for o in r["origins"]] == \
        [(d.isoformat(), d in HISTORY) for d in NO_HISTORY + HISTORY]
    assert all(o["actual"] > 0 for o in r["origins"])  # every one of them is scored


@pytest.mark.parametrize("early,late", [("a", "b"), ("b", "a")])  # first or second by name
@pytest.mark.parametrize("fit", [0.0, 0.05])
def test_a_method_best_only_before_the_history_began_is_not_the_default(steady_wins, early, late, fit):
    # over all six origins the early fit wins (mean 0.25 or 0.28 against 0.3); over the four with a history, 0.4 loses
    r = run_backtest(steady_wins, NO_HISTORY + HISTORY, **{early: (fit, 0.4), late: (0.3, 0.3)})
    assert r["methods"][early]["mape"] < r["methods"][late]["mape"]  # the summary still covers every origin
    assert r["methods"][early]["origins"] == len(NO_HISTORY + HISTORY)
    assert r["default_method"] == late
    assert f"over {len(HISTORY)} past origin(s)" in r["default_reason"]


@pytest.mark.parametrize("with_history", range(MIN_ORIGINS))
def test_fewer_origins_with_a_history_than_min_origins_fall_back(steady_wins, with_history):
    origins = NO_HISTORY + HISTORY[:with_history]
    r = run_backtest(steady_wins, origins, good=(0.0, 0.0), bad=(0.5, 0.5))
    assert r["methods"]["good"]["origins"] == len(origins) >= MIN_ORIGINS - 1  # scored, but not chosen from
    assert r["default_method"] == FALLBACK_METHOD and "too little history" in r["default_reason"]


@pytest.mark.parametrize("several", [True, False])
def test_the_text_marks_the_origins_that_did_not_count_for_the_default(steady_wins, several):
    from flowctl.cli.forecast import format_backtest
    errors = {"weighted": (0.1, 0.1), "other": (0.2, 0.2)} if several else {"weighted": (0.1, 0.1)}
    r = run_backtest(steady_wins, NO_HISTORY + HISTORY, **errors)
    marked = [line for line in format_backtest(r) if "too little history before it" in line]
    # with one method no default is chosen, so nothing is said about counting for it
    assert [line.split(":")[0].strip() for line in marked] == ([d.isoformat() for d in NO_HISTORY] if several else [])


@pytest.mark.parametrize("errors,expected", [
    ({"a": (0.1, 0.1)}, "a"),  # the only one: no backtest choice to make
    ({"b": (0.3, 0.3), "a": (0.1, 0.1)}, "a"),  # the lowest error over the dates with a history
    ({"c": (0.0, 0.0), "b": (0.0, 0.0)}, "b"),  # a tie the fallback is not in: the first by name
])
def test_choose_method_names_an_installed_method(steady_wins, errors, expected):
    from flowctl.backtest import choose_method
    cw, pairs = steady_wins
    methods = {name: off_by(name, pairs, *pair) for name, pair in errors.items()}
    finals: list = []
    name, why = choose_method(iter(pairs), cw, LATER, HORIZON, methods, finals=finals)
    assert name == expected and name in methods and why
    assert len(finals) == len(pairs)  # the states on the date, for the forecast that follows
