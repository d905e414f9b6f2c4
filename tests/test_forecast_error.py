"""engine/forecast_error.py: a method's own past error, replayed on the deals as they stood."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from flowctl.forecast_error import MIN_PAST_WINS, PAST_ORIGINS, REPLAY_STEP_DAYS, REPLAY_TRIALS, past_log_errors, \
    replays, spread, state_then
from flowctl.hooktypes import ForecastInput, ForecastMethod
from flowctl.metrics import SlimState
from flowctl.plugin_manager import Plugins
from flowctl.workflow import load_workflow

NOW = dt.date(2026, 6, 30)
HORIZON = 30


def _ago(days: int | None) -> dt.date | None:
    return None if days is None else NOW - dt.timedelta(days=days)


def _state(deal_id: str, entries: dict[str, int], created: int | None = None, outcome: str = "open",
           closed: int | None = None, amount: float = 100.0) -> SlimState:
    """A deal as known on NOW; dates as days before NOW. Its stage is the last one entered."""
    dates = {k: _ago(v) for k, v in entries.items()}
    stage = max(dates, key=lambda k: dates[k]) if dates else "prospect"
    entered = dates.get(stage) or NOW
    return SlimState(deal_id, stage, 0, outcome, amount, 0.5, "pipeline", None, _ago(created), _ago(closed), None,
                     entered, (NOW - entered).days, False, False, dates, {})


@pytest.fixture
def workflow(project):
    wf, diagnostics = load_workflow(project.workflow, Plugins())
    assert wf is not None, diagnostics
    return wf


@pytest.fixture
def maps(workflow):
    open_stages = [s for s in workflow.stages if not s.terminal]
    return ({s.id: s.index for s in workflow.stages}, {s.id: s.probability for s in open_stages},
            {s.id: s.forecast_category for s in open_stages}, open_stages[0].id)


# ------------------------------------------------------------------ spread

@pytest.mark.parametrize("errors,expected", [
    ([], None), ([0.5], None), ([0.3, -0.4], math.sqrt(0.125)), ([0.0, 0.0, 0.0], 0.0), ([1.0, 1.0], 1.0),
])
def test_spread_is_the_rms_of_two_or_more_errors(errors, expected):
    assert spread(errors) == (None if expected is None else pytest.approx(expected))


# ------------------------------------------------------------------ state_then

def test_a_deal_not_created_yet_did_not_exist(maps):
    assert state_then(_state("A", {"prospect": 10}, created=10), _ago(20), *maps) is None
    assert state_then(_state("A", {"prospect": 10}), _ago(20), *maps) is None  # no creation: its first entry


def test_a_deal_without_any_date_did_not_exist(maps):
    assert state_then(_state("A", {}), NOW, *maps) is None


def test_an_open_deal_is_in_the_last_stage_it_had_entered(maps):
    s = _state("A", {"prospect": 40, "qualified": 25, "proposed": 10}, created=40)
    then = state_then(s, _ago(20), *maps)
    assert then is not None
    assert (then.stage, then.outcome, then.entered_at, then.days_in_stage) == ("qualified", "open", _ago(25), 5)
    assert then.probability == maps[1]["qualified"] and then.stage_index == maps[0]["qualified"]
    assert set(then.stage_entries) == {"prospect", "qualified"} and then.amount == s.amount


def test_a_deal_created_before_its_first_entry_is_in_the_first_stage(maps):
    then = state_then(_state("A", {"qualified": 10}, created=30), _ago(20), *maps)
    assert then is not None and (then.stage, then.entered_at, then.days_in_stage) == ("prospect", _ago(30), 10)


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_a_deal_closed_later_was_open_then_and_closed_after(maps, outcome):
    s = _state("A", {"prospect": 40, "closed": 5}, created=40, outcome=outcome, closed=5)
    before = state_then(s, _ago(10), *maps)
    assert before is not None and (before.outcome, before.closed_at, before.stage) == ("open", None, "prospect")
    after = state_then(s, _ago(5), *maps)  # closed on that day: closed
    assert after is not None and (after.outcome, after.closed_at, after.stage) == (outcome, _ago(5), "closed")


# ------------------------------------------------------------------ replays

def _history(wins: int) -> list[SlimState]:
    """`wins` deals won long ago, one won within each replay's horizon, one still open."""
    old = [_state(f"W{i}", {"prospect": 400, "closed": 300}, created=400, outcome="won", closed=300)
           for i in range(wins)]
    recent = [_state(f"R{k}", {"prospect": 200, "closed": HORIZON + REPLAY_STEP_DAYS * k - 1}, created=200,
                     outcome="won", closed=HORIZON + REPLAY_STEP_DAYS * k - 1, amount=50.0)
              for k in range(PAST_ORIGINS)]
    return old + recent + [_state("O", {"prospect": 20}, created=20)]


def _method(seen: list[ForecastInput], expected: float = 40.0, fail: bool = False) -> ForecastMethod:
    def forecast(data: ForecastInput) -> dict:
        if fail:
            raise RuntimeError("cannot replay")
        seen.append(data)
        return {"expected": expected, "p10": expected, "p50": expected, "p90": expected}
    return ForecastMethod("fixed", forecast)


def _no_new(states: list, day: dt.date, horizon: int) -> dict:
    return {"expected": 10.0, "sd": 0.0}


def test_replays_a_month_apart_with_the_deals_as_they_stood(workflow):
    seen: list[ForecastInput] = []
    data = ForecastInput(_history(MIN_PAST_WINS), workflow, NOW, HORIZON, None, {"trials": 10**6})
    rows = list(replays(_method(seen), data, _no_new))
    assert [r["origin"] for r in rows] == [_ago(HORIZON + REPLAY_STEP_DAYS * k).isoformat() for k in range(PAST_ORIGINS)]
    assert all(r["expected"] == 50.0 and r["existing"] == 40.0 and r["new"] == 10.0 for r in rows)
    assert all(r["actual"] == 50.0 and r["p10"] == r["p90"] == 50.0 for r in rows)
    assert all(d.options["trials"] == REPLAY_TRIALS and d.horizon_days == HORIZON and d.store is None for d in seen)
    assert all(all(s.closed_at is None or s.closed_at <= d.now for s in d.states) for d in seen)  # no later facts


@pytest.mark.parametrize("old_wins,count", [(0, 0), (MIN_PAST_WINS - PAST_ORIGINS + 1, 1), (MIN_PAST_WINS - 1, 3)])
def test_too_few_past_wins_stop_the_replays(workflow, old_wins, count):
    # the k-th replay, going back, sees old_wins + PAST_ORIGINS - 1 - k wins
    data = ForecastInput(_history(old_wins), workflow, NOW, HORIZON, None)
    assert len(list(replays(_method([]), data, _no_new))) == count


def test_a_method_that_cannot_replay_has_no_past_error(workflow):
    data = ForecastInput(_history(MIN_PAST_WINS), workflow, NOW, HORIZON, None)
    assert list(replays(_method([], fail=True), data, _no_new)) == []
    assert past_log_errors(_method([], fail=True), data, _no_new) == []


def test_a_workflow_without_open_stages_has_no_replays(workflow):
    workflow.stages = [s for s in workflow.stages if s.terminal]
    data = ForecastInput(_history(MIN_PAST_WINS), workflow, NOW, HORIZON, None)
    assert list(replays(_method([]), data, _no_new)) == []


@pytest.mark.parametrize("count", [0, 1, 2])
def test_the_count_of_replays(workflow, count):
    data = ForecastInput(_history(MIN_PAST_WINS), workflow, NOW, HORIZON, None)
    assert len(list(replays(_method([]), data, _no_new, count))) == count


@pytest.mark.parametrize("expected,errors", [(40.0, [0.0] * PAST_ORIGINS), (90.0, [math.log(0.5)] * PAST_ORIGINS),
                                             (-10.0, [])])  # a forecast of nothing has no log error
def test_past_log_errors(workflow, expected, errors):
    data = ForecastInput(_history(MIN_PAST_WINS), workflow, NOW, HORIZON, None)
    assert past_log_errors(_method([], expected), data, _no_new) == pytest.approx(errors)
