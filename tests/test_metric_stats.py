"""engine/metric_stats.py: the day histogram (exact mean and median), first entries, stays."""
from __future__ import annotations

import datetime as dt
import statistics
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowctl.metric_stats import Days, first_entry, stays
from flowctl.plugin_manager import Plugins
from flowctl.workflow import load_workflow

D = dt.date(2026, 1, 1)


def _days(values: list[int]) -> Days:
    days = Days()
    for v in values:
        days.add(v)
    return days


def test_an_empty_histogram_has_no_mean_or_median():
    assert _days([]).to_json() == {"mean": None, "median": None, "n": 0}


@pytest.mark.parametrize("values,mean,median", [
    ([5], 5.0, 5.0), ([1, 3], 2.0, 2.0), ([1, 2, 2, 10], 3.75, 2.0), ([3, 1, 2], 2.0, 2.0),
    ([0, 0, 0], 0.0, 0.0), ([1, 2], 1.5, 1.5), ([1, 1, 1, 2], 1.25, 1.0), ([-3, 3], 0.0, 0.0), ([1, 1, 2], 1.33, 1.0),
])
def test_mean_and_median(values, mean, median):
    days = _days(values)
    assert (days.mean, days.median, days.n, days.total) == (mean, median, len(values), sum(values))
    assert days.to_json() == {"mean": mean, "median": median, "n": len(values)}


@given(st.lists(st.integers(min_value=-1000, max_value=100_000), max_size=60))
def test_the_histogram_agrees_with_the_statistics_module(values):
    days = _days(values)
    assert days.n == len(values)
    if values:
        assert days.mean == round(statistics.mean(values), 2)
        assert days.median == statistics.median(values)
    else:
        assert days.mean is None and days.median is None


def _state(entries: dict[str, int], created: int | None = None, outcome: str = "open",
           closed: int | None = None) -> SimpleNamespace:
    """A deal state with what these functions read; dates as days after D."""
    at = lambda n: None if n is None else D + dt.timedelta(days=n)  # noqa: E731
    return SimpleNamespace(stage_entries={k: at(v) for k, v in entries.items()}, created=at(created),
                           outcome=outcome, closed_at=at(closed))


@pytest.mark.parametrize("entries,created,first", [
    ({}, None, None), ({}, 3, 3), ({"prospect": 5}, None, 5), ({"prospect": 5, "qualified": 2}, None, 2),
    ({"prospect": 5}, 1, 1), ({"prospect": 1}, 5, 1),
])
def test_first_entry(entries, created, first):
    got = first_entry(_state(entries, created))
    assert got == (None if first is None else D + dt.timedelta(days=first))


@pytest.fixture
def workflow(project):
    wf, diagnostics = load_workflow(project.workflow, Plugins())
    assert wf is not None, diagnostics
    return wf


NOW = D + dt.timedelta(days=30)


@pytest.mark.parametrize("state,expected", [
    (_state({}), []),
    (_state({"prospect": 0}), [("prospect", 30)]),  # still there: until today
    (_state({"prospect": 0, "qualified": 10}), [("prospect", 10), ("qualified", 20)]),
    (_state({"qualified": 10, "prospect": 0}), [("prospect", 10), ("qualified", 20)]),  # workflow order
    (_state({"prospect": 0, "proposed": 4}), [("prospect", 4), ("proposed", 26)]),  # a skipped stage: no stay
    (_state({"prospect": 0, "qualified": 10, "closed": 15}, outcome="won", closed=15),
     [("prospect", 10), ("qualified", 5)]),  # the terminal stage has no stay
    (_state({"prospect": 0, "qualified": 10}, outcome="lost", closed=12), [("prospect", 10), ("qualified", 2)]),
    (_state({"prospect": 0, "qualified": 10}, outcome="lost"), [("prospect", 10)]),  # lost, date unknown
    (_state({"prospect": 0, "qualified": 10}, outcome="won", closed=12), [("prospect", 10)]),  # won elsewhere
    (_state({"prospect": 10, "qualified": 5}), [("qualified", 25)]),  # negative stay left out
    (_state({"prospect": 0, "unknown": 3}), [("prospect", 30)]),  # a stage the workflow lacks is ignored
    (_state({"prospect": 40}), []),  # entered after today
])
def test_stays(workflow, state, expected):
    assert list(stays(state, workflow, NOW)) == expected
