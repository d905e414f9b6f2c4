"""engine/report_forecast.py: the report's forecast section (every registered method over
the horizon and per month of expected close, their labels, the headline method, failures)
and the "how good were our forecasts" table, called directly with hand-built deal states;
the Maven export once for the real-data figures."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from flowctl.backtest import FALLBACK_METHOD
from flowctl.catalogs import Catalogs
from flowctl.compiled import CompiledWorkflow
from flowctl.forecasting import slim_for_forecast
from flowctl.hooktypes import ForecastInput, ForecastMethod
from flowctl.model import Workflow
from flowctl.pipeline import evaluate_all
from flowctl.plugin_manager import Plugins
from flowctl.report_charts import Fmt
from flowctl.report_forecast import MONTHS_AHEAD, QUALITY_TRIALS, REPORT_TRIALS, _add_months, _CachedStore, \
    _month_end, forecast_quality, forecast_section
from flowctl.workflow import load_workflow
from slim_states import NOW, slim_state as deal

HORIZON = 90


@pytest.fixture
def wf(analytics_workflow: Workflow) -> Workflow:
    """tests/data/analytics' workflow: prospect 0.1, qualified 0.4, proposed 0.7, closed."""
    return analytics_workflow


def fmt(locale: str = "en") -> Fmt:
    return Fmt(locale, "EUR", Catalogs().words(locale))


def before(iso: str) -> int:
    """The days from a date to NOW (negative: after NOW), as slim_state takes dates."""
    return (NOW - dt.date.fromisoformat(iso)).days


def fixed(name: str, seen: list[ForecastInput] | None = None, fail: bool = False, **kw: Any) -> ForecastMethod:
    """A method forecasting 10 per open deal, recording what it was given."""
    def forecast(data: ForecastInput) -> dict:
        if fail:
            raise RuntimeError("no crystal ball")
        if seen is not None:
            seen.append(data)
        n = sum(1 for s in data.states if s.outcome == "open")
        return {"expected": 10.0 * n, "p10": 5.0 * n, "p50": 10.0 * n, "p90": 15.0 * n, "open_deals": n}
    return ForecastMethod(name, forecast, **kw)


# ---------------------------------------------------------------------------------
# months
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize("day,end", [
    ("2026-01-01", "2026-01-31"), ("2026-02-10", "2026-02-28"), ("2024-02-29", "2024-02-29"),
    ("2026-12-31", "2026-12-31"), ("2026-12-01", "2026-12-31"), ("2026-04-30", "2026-04-30"),
])
def test_month_end(day, end):
    assert _month_end(dt.date.fromisoformat(day)) == dt.date.fromisoformat(end)


@pytest.mark.parametrize("day,n,first", [
    ("2026-01-01", 0, "2026-01-01"), ("2026-01-15", 1, "2026-02-01"), ("2026-12-01", 1, "2027-01-01"),
    ("2026-03-01", 11, "2027-02-01"), ("2026-03-01", 24, "2028-03-01"), ("2026-01-01", -1, "2025-12-01"),
])
def test_add_months_gives_the_first_of_the_month(day, n, first):
    assert _add_months(dt.date.fromisoformat(day), n) == dt.date.fromisoformat(first)


# ---------------------------------------------------------------------------------
# forecast_section
# ---------------------------------------------------------------------------------

OPEN = [deal("P", amount=100, expected_close=before("2026-02-15")),  # overdue
        deal("M", amount=200, expected_close=before("2026-03-31")),  # this month
        deal("J", amount=300, expected_close=before("2026-06-10")),
        deal("L1", amount=400, expected_close=before("2027-03-01")),  # after the 12 months shown
        deal("L2", amount=500, expected_close=before("2027-05-01")),
        deal("N", amount=600)]  # no expected close
CLOSED = [deal("W", "closed", "won", amount=9000, closed=10, expected_close=before("2026-04-01"))]


def test_the_open_deals_by_month_of_expected_close(wf):
    seen: list[ForecastInput] = []
    f = forecast_section(OPEN + CLOSED, wf, NOW, HORIZON, None, {"weighted": fixed("weighted", seen)}, None, fmt())
    rows = {r["key"]: r for r in f["months"]}
    assert list(rows) == ["past", "2026-03", "2026-04", "2026-05", "2026-06", "later", "none"]  # gaps filled
    assert {k: (r["deals"], r["amount"]) for k, r in rows.items()} == {
        "past": (1, 100.0), "2026-03": (1, 200.0), "2026-04": (0, 0.0), "2026-05": (0, 0.0), "2026-06": (1, 300.0),
        "later": (2, 900.0), "none": (1, 600.0)}
    assert {k: r["horizon_days"] for k, r in rows.items()} == {  # to each month's end; later: to the latest close
        "past": HORIZON, "2026-03": 0, "2026-04": 30, "2026-05": 61, "2026-06": 91, "later": 396, "none": HORIZON}
    assert rows["2026-04"]["methods"]["weighted"] == {"expected": 0.0, "p10": 0.0, "p50": 0.0, "p90": 0.0}
    assert rows["later"]["methods"]["weighted"] == {"expected": 20.0, "p10": 10.0, "p50": 20.0, "p90": 30.0}
    month_calls = [d for d in seen if d.options.get("existing_only")]
    assert len(month_calls) == 5  # a month without deals asks no method
    assert all({s.id for s in d.states} >= {"W"} for d in month_calls)  # the closed deals are the history
    assert (f["open_deals"], f["undated"], f["horizon_days"]) == (6, 1, HORIZON)
    long = {k: (r["label"], r["long"]) for k, r in rows.items() if not k[:1].isdigit()}
    assert long == {"past": ("Overdue", "expected close before Mar 2026"),
                    "later": ("Later", "expected close after Feb 2027"), "none": ("No date", "no expected close date")}
    assert rows["2026-06"]["label"] == "Jun 2026"


def test_the_last_month_shown_is_months_ahead(wf):
    last = _month_end(_add_months(dt.date(2026, 3, 1), MONTHS_AHEAD - 1))
    states = [deal("A", expected_close=before(last.isoformat())),
              deal("B", expected_close=before((last + dt.timedelta(days=1)).isoformat()))]
    f = forecast_section(states, wf, NOW, HORIZON, None, {"weighted": fixed("weighted")}, None, fmt())
    keys = [r["key"] for r in f["months"]]
    assert keys[0] == "2026-03" and keys[-2:] == [last.strftime("%Y-%m"), "later"] and len(keys) == MONTHS_AHEAD + 1


@pytest.mark.parametrize("states", [[], CLOSED])
def test_no_open_deals_no_months(wf, states):
    f = forecast_section(states, wf, NOW, HORIZON, None, {"weighted": fixed("weighted")}, None, fmt())
    assert f["months"] == [] and (f["open_deals"], f["undated"]) == (0, 0)
    assert f["totals"][0]["expected"] == 0.0 and f["main"]["name"] == "weighted"


def test_no_methods_no_forecast(wf):
    f = forecast_section(OPEN, wf, NOW, HORIZON, None, {}, None, fmt())
    assert (f["methods"], f["totals"], f["main"]) == ([], [], None)
    assert all(r["methods"] == {} for r in f["months"])


def test_each_method_is_listed_with_its_label_else_its_name(wf):
    """A plugin's method is shown like the built-in ones: its label, else its name."""
    methods = {"zz_labelled": fixed("zz_labelled", description="the plugin's definition", label="Plugin label"),
               "aa_bare": fixed("aa_bare")}
    f = forecast_section(OPEN, wf, NOW, HORIZON, None, methods, None, fmt())
    assert [(m["name"], m["label"]) for m in f["methods"]] == [("aa_bare", "aa_bare"), ("zz_labelled", "Plugin label")]
    assert [t["definition"] for t in f["totals"]] == ["", "the plugin's definition"]
    assert f["main"]["name"] == "aa_bare"  # no fallback among them: the first with a figure


def test_labels_are_translated(wf):
    methods = {"weighted": fixed("weighted", label="Stage-weighted")}
    f = forecast_section(OPEN, wf, NOW, HORIZON, None, methods, None, fmt("de"))
    assert f["methods"][0]["label"] not in ("Stage-weighted", "weighted")
    assert {r["label"] for r in f["months"] if not r["key"][:1].isdigit()} == {"Überfällig", "Später", "Ohne Datum"}


def test_the_headline_is_the_fallback_method_when_history_is_too_short(wf):
    methods = {name: fixed(name) for name in ("aa", FALLBACK_METHOD, "zz")}
    assert forecast_section(OPEN, wf, NOW, HORIZON, None, methods, None, fmt())["main"]["name"] == FALLBACK_METHOD


def test_a_failing_method_is_shown_failed_and_the_others_go_on(wf):
    methods = {FALLBACK_METHOD: fixed(FALLBACK_METHOD, fail=True), "other": fixed("other")}
    f = forecast_section(OPEN, wf, NOW, HORIZON, None, methods, None, fmt())
    failed = next(t for t in f["totals"] if t["name"] == FALLBACK_METHOD)
    assert failed["error"] == f"forecast method {FALLBACK_METHOD} failed: RuntimeError: no crystal ball"
    assert "expected" not in failed
    assert f["main"]["name"] == "other"
    assert all(r["methods"][FALLBACK_METHOD] == {"error": failed["error"]} for r in f["months"] if r["deals"])
    alone = forecast_section(OPEN, wf, NOW, HORIZON, None, {"x": fixed("x", fail=True)}, None, fmt())
    assert alone["main"] is None


@pytest.mark.parametrize("states", [OPEN + CLOSED, OPEN, OPEN[1:2], OPEN[-1:]],
                         ids=["all", "open", "one month", "undated"])
def test_a_method_that_is_not_deal_by_deal_has_totals_but_no_month_figures(wf, states):
    seen: list[ForecastInput] = []
    methods = {"rate": fixed("rate", seen, deal_by_deal=False), "weighted": fixed("weighted", deal_by_deal=True)}
    f = forecast_section(states, wf, NOW, HORIZON, None, methods, None, fmt())
    rate = next(t for t in f["totals"] if t["name"] == "rate")
    assert rate["expected"] == 10.0 * len([s for s in states if s.outcome == "open"])  # its totals row, as any method
    assert f["months"] and all(r["methods"]["rate"] == {"error": "forecast method rate does not forecast deal by deal"}
                               for r in f["months"])  # every month, with deals or without
    assert not any(d.options.get("existing_only") for d in seen)  # never asked about a month's deals
    alone = forecast_section(states, wf, NOW, HORIZON, None, {"weighted": fixed("weighted")}, None, fmt())
    assert [r["methods"]["weighted"] for r in f["months"]] == [r["methods"]["weighted"] for r in alone["months"]]
    assert [{k: v for k, v in r.items() if k != "methods"} for r in f["months"]] == \
        [{k: v for k, v in r.items() if k != "methods"} for r in alone["months"]]


@pytest.mark.parametrize("trials,settings,expected", [
    (None, None, {"trials": REPORT_TRIALS, "seed": 1}),
    (300, None, {"trials": 300, "seed": 1}),
    (None, {"trials": 50, "seed": 9}, {"trials": 50, "seed": 9}),
    (300, {"trials": 50, "seed": 9}, {"trials": 300, "seed": 9}),  # --trials over the workflow's settings
])
def test_the_trials_and_the_workflows_settings(wf, trials, settings, expected):
    workflow = wf if settings is None else dataclasses.replace(
        wf, document={**wf.document, "forecast": {"weighted": settings}})
    seen: list[ForecastInput] = []
    f = forecast_section(OPEN, workflow, NOW, HORIZON, None, {"weighted": fixed("weighted", seen)}, trials, fmt())
    assert seen[0].options == expected and f["trials"] == (trials or REPORT_TRIALS)


def test_the_store_is_read_once_for_every_forecast():
    class Store:
        url, reads = "fake://", 0

        def transitions(self) -> list:
            self.reads += 1
            return [1, 2]
    store = Store()
    cached = _CachedStore(store)
    assert cached.transitions() == cached.transitions() == [1, 2] and store.reads == 1
    assert cached.url == "fake://"  # anything else is the store's own


# ---------------------------------------------------------------------------------
# forecast_quality: the methods replayed at past dates
# ---------------------------------------------------------------------------------

def history() -> list:
    """Wins each month for a year: enough past wins before every replay date."""
    wins = [deal(f"W{i}", "closed", "won", amount=100, entries={"prospect": 20 + 15 * i}, created=20 + 15 * i,
                 closed=5 + 15 * i) for i in range(24)]
    return wins + [deal("O", entries={"prospect": 3}, created=3)]


def test_no_history_no_quality_rows(wf):
    q = forecast_quality(OPEN, wf, NOW, HORIZON, {"w": fixed("w")}, ["w"], {"w": {}})
    assert q == {"rows": [], "summary": {"w": {"origins": 0, "held": 0, "mape": None}}, "horizon_days": HORIZON}


def test_the_quality_summary_agrees_with_its_rows(wf):
    seen: list[ForecastInput] = []
    methods = {"a": fixed("a", seen), "b": fixed("b")}
    q = forecast_quality(history(), wf, NOW, 30, methods, ["a", "b"], {"a": {"trials": 10**6}, "b": {}})
    assert q["rows"] and [r["origin"] for r in q["rows"]] == sorted(r["origin"] for r in q["rows"])
    assert all(d.options["trials"] <= QUALITY_TRIALS for d in seen)
    for name in ("a", "b"):
        mine = [r["methods"][name] for r in q["rows"] if r["actual"] > 0]
        assert q["summary"][name]["origins"] == len(mine)
        assert q["summary"][name]["held"] == sum(1 for r in mine if r["p10"] <= r["actual"] <= r["p90"])
        assert q["summary"][name]["mape"] == pytest.approx(sum(abs(r["error"]) for r in mine) / len(mine))
        assert all(r["error"] == pytest.approx((r["expected"] - r["actual"]) / r["actual"]) for r in mine)


# ---------------------------------------------------------------------------------
# the Maven export (the session's one import)
# ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def maven(maven_import) -> tuple[Workflow, list, Plugins]:
    """Every Maven deal as it stood on 2017-10-01, known on 2017-12-31 (the report's --as-of)."""
    plugins = Plugins()
    workflow, problems = load_workflow(str(maven_import / "workflow.yaml"), plugins)
    assert workflow is not None, problems
    states = [slim_for_forecast(i.state) for i in evaluate_all(
        CompiledWorkflow(workflow), [str(maven_import / "deals")], dt.date(2017, 12, 31), when=dt.date(2017, 10, 1))
        if i.state is not None]
    return workflow, states, plugins


def test_maven_forecast_parts_and_how_good_table(maven):
    workflow, states, plugins = maven
    f = forecast_section(states, workflow, dt.date(2017, 10, 1), HORIZON, None, plugins.forecast_methods(), None, fmt())
    for m in f["totals"]:
        assert m["expected"] == pytest.approx(m["existing"] + m["new"], abs=0.05) and m["new"] > 0
    q = f["quality"]
    assert len(q["rows"]) >= 3 and all(r["origin"] < "2017-10-01" for r in q["rows"])
    for row in q["rows"]:  # each replay's horizon had passed by the report's date; actual as then known
        assert row["actual"] > 0 and set(row["methods"]) <= {m["name"] for m in f["methods"]}
    assert all(0 <= s["held"] <= s["origins"] for s in q["summary"].values())
