"""engine/forecast_error.py: a method's own past error, replayed on the deals as they stood."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from flowctl.forecast_error import MIN_PAST_WINS, PAST_ORIGINS, REPLAY_STEP_DAYS, REPLAY_TRIALS, Calibration, \
    Z90, calibrate, has_history, past_log_errors, replays, residual_spread, state_then, t90
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


# ------------------------------------------------------------------ calibrate, residual_spread

def _scaled_rms(errors: list[float]) -> float:
    return math.sqrt(sum(e * e for e in errors) / len(errors)) * t90(len(errors)) / Z90


@pytest.mark.parametrize("errors", [[0.5], [-0.5], [0.3, -0.4], [0.0, 0.0, 0.0], [1.0, 1.0], [0.1, 0.2, 0.3, 0.2],
                                    [0.1] * 12])
def test_the_residual_spread_is_the_rms_as_students_t(errors):
    assert residual_spread(errors) == pytest.approx(_scaled_rms(errors))
    assert residual_spread([]) is None


def test_few_errors_widen_more():
    assert t90(1) > t90(2) > t90(4) > t90(10) > t90(11) > t90(100) > Z90
    assert t90(1) == pytest.approx(3.0777) and t90(30) == pytest.approx(1.3104, abs=2e-3)


def _row(existing: float, new: float, actual_existing: float, actual_new: float) -> dict:
    return {"expected": existing + new, "existing": existing, "new": new, "actual": actual_existing + actual_new,
            "actual_existing": actual_existing}


def test_no_replays_no_correction():
    assert calibrate([]) == Calibration(1.0, 1.0, None, 0)


@pytest.mark.parametrize("ratio", [0.5, 0.8, 1.25, 2.0])
@pytest.mark.parametrize("n", [2, 3, 4])
def test_replays_that_agree_correct_each_part_fully(ratio, n):
    # existing always over by `ratio`, new always right: the factor undoes the first, leaves the second
    cal = calibrate([_row(100.0 * ratio, 50.0, 100.0, 50.0) for _ in range(n)])
    assert cal.existing == pytest.approx(1 / ratio) and cal.new == pytest.approx(1.0) and cal.replays == n
    # each replay's error with the others' correction: the others agree, so none is left (with one other: half)
    left = 0.0 if n > 2 else math.log(150.0 / (100.0 * ratio * math.exp(-math.log(ratio) / 2) + 50.0))
    assert cal.spread == pytest.approx(_scaled_rms([left] * n), abs=1e-9)


@pytest.mark.parametrize("ratio", [0.5, 2.0])
def test_one_replay_corrects_nothing_and_its_error_is_the_spread(ratio):
    cal = calibrate([_row(100.0 * ratio, 50.0, 100.0, 50.0)])
    assert (cal.existing, cal.new) == (1.0, 1.0)
    assert cal.spread == pytest.approx(_scaled_rms([math.log(150.0 / (100.0 * ratio + 50.0))]))


@pytest.mark.parametrize("errors", [[0.5, 0.1, -0.3], [-0.4, 0.0, 0.3, 0.1]])
def test_an_error_that_changed_over_time_is_not_corrected(errors):
    # the correction learned from the other replays would have made each one worse
    rows = [_row(100.0, 50.0, 100.0 * math.exp(e), 50.0) for e in errors]
    assert calibrate(rows).existing == 1.0


@pytest.mark.parametrize("errors", [[0.5, -0.5], [0.6, -0.4, 0.1, -0.5], [1.0, -0.9]])
def test_scattered_errors_are_not_corrected(errors):
    # a mean within its own noise (se >= |mean|): no correction
    rows = [_row(100.0, 50.0, 100.0 * math.exp(e), 50.0) for e in errors]
    assert calibrate(rows).existing == 1.0


def test_a_mean_a_little_beyond_its_noise_is_shrunk():
    errors = [0.2, 0.6]  # mean 0.4, sd^2/n = 0.04: w = 1 - 0.04/0.16
    cal = calibrate([_row(100.0, 50.0, 100.0 * math.exp(e), 50.0) for e in errors])
    assert cal.existing == pytest.approx(math.exp(0.75 * 0.4))


@pytest.mark.parametrize("row", [_row(0.0, 50.0, 100.0, 50.0), _row(100.0, 0.0, 100.0, 0.0),
                                 _row(100.0, 50.0, 0.0, 0.0)])
def test_a_part_forecast_or_won_as_nothing_has_no_log_error(row):
    cal = calibrate([row, row])
    assert (row["existing"] > 0 and row["actual_existing"] > 0) or cal.existing == 1.0
    assert (row["new"] > 0 and row["actual"] > row["actual_existing"]) or cal.new == 1.0
    assert calibrate([row]).as_json()["replays"] == 1


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


# ------------------------------------------------------------------ has_history

def _closes(wins: int, first: int, first_outcome: str) -> list[SlimState]:
    """`wins` won deals and an open one; the earliest close, `first` days before NOW, is a
    win or a loss (the loss is not a win); the other wins closed 1, 2, ... days before NOW."""
    earliest = [_state("F", {"prospect": first + 10}, created=first + 10, outcome=first_outcome, closed=first)]
    rest = wins - (first_outcome == "won")
    return earliest + [_state(f"W{i}", {"prospect": first + 10}, created=first + 10, outcome="won", closed=1 + i)
                       for i in range(rest)] + [_state("O", {"prospect": 5}, created=5)]


@pytest.mark.parametrize("first_outcome", ["won", "lost"])
@pytest.mark.parametrize("first", [REPLAY_STEP_DAYS - 1, REPLAY_STEP_DAYS, REPLAY_STEP_DAYS + 300])
@pytest.mark.parametrize("wins", [MIN_PAST_WINS - 1, MIN_PAST_WINS, MIN_PAST_WINS + 20])
def test_a_history_needs_enough_wins_and_a_step_of_closes_seen(wins, first, first_outcome):
    states = _closes(wins, first, first_outcome)
    assert sum(s.outcome == "won" for s in states) == wins
    assert has_history(states, NOW) is (wins >= MIN_PAST_WINS and first >= REPLAY_STEP_DAYS)


@pytest.mark.parametrize("open_deals", [0, 1, 3 * MIN_PAST_WINS])
def test_no_close_at_all_is_no_history(open_deals):
    states = [_state(f"O{i}", {"prospect": 400 - i}, created=400 - i) for i in range(open_deals)]
    assert has_history(states, NOW) is False


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
    assert all(r["actual_existing"] == 50.0 for r in rows)  # each horizon's win was open at its date
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
    assert past_log_errors(replays(_method([], expected), data, _no_new)) == pytest.approx(errors)


@pytest.mark.parametrize("seen_days,count", [(0, 0), (REPLAY_STEP_DAYS - 1, 0), (REPLAY_STEP_DAYS, 1),
                                             (2 * REPLAY_STEP_DAYS, 2)])
def test_a_replay_needs_a_step_of_closes_seen_before_it(workflow, seen_days, count):
    # every past win closed within a few days: a replay date sees closes over `seen_days` at most
    first = HORIZON + seen_days
    wins = [_state(f"W{i}", {"prospect": first + 100, "closed": first - i % 2}, created=first + 100, outcome="won",
                   closed=first - i % 2) for i in range(2 * MIN_PAST_WINS)]
    data = ForecastInput(wins, workflow, NOW, HORIZON, None)
    assert len(list(replays(_method([]), data, _no_new))) == count


def test_a_deal_created_after_the_replay_date_is_not_existing_then(workflow):
    data = ForecastInput(_history(MIN_PAST_WINS) + [
        _state("N", {"prospect": HORIZON - 5, "closed": 2}, created=HORIZON - 5, outcome="won", closed=2, amount=7.0)],
        workflow, NOW, HORIZON, None)
    first = next(replays(_method([]), data, _no_new))
    assert first["actual"] == 57.0 and first["actual_existing"] == 50.0


def test_run_method_scales_the_part_its_replays_overforecast(workflow):
    from flowctl.forecasting import run_method
    # every replay forecast 90 of existing revenue where its open deal won 50: today's 90 is scaled to 50
    data = ForecastInput(_history(MIN_PAST_WINS), workflow, NOW, HORIZON, None, {})
    out = run_method(_method([], 90.0), data)
    assert out["replay_calibration"]["replays"] == PAST_ORIGINS
    assert out["replay_calibration"]["existing_factor"] == pytest.approx(50 / 90, abs=1e-4)
    assert out["existing"] == pytest.approx(50.0) and out["past_log_errors"] != []
    assert out["existing_interval"] == {"p10": 90.0, "p90": 90.0}  # the method's own, as it gave it
