"""engine/events.py: the events a deal's state calls for, with keys that make them happen once."""
from __future__ import annotations

import datetime as dt

import pytest

from flowctl.compiled import CompiledWorkflow
from flowctl.evaluate import evaluate
from flowctl.events import conditions, new_events
from flowctl.store import DealRecord
from flowctl.workflow import load_workflow

CREATED = dt.date(2026, 1, 1)
NOW = dt.date(2026, 1, 20)
VERIFIED = {"jobs": {"verify": dt.date(2026, 1, 2)}}  # prospect's job: in qualified from 01-02
QUALIFIED_DONE = {"jobs": {"verify": dt.date(2026, 1, 2), "agenda": dt.date(2026, 1, 3)}}


@pytest.fixture
def wf(project):
    return load_workflow(project.workflow)[0]


def _events(wf, deal: dict, previous: DealRecord | None = None, now: dt.date = NOW) -> dict[str, object]:
    state = evaluate(CompiledWorkflow(wf), {"id": "D1", "amount": 1000, "created": CREATED, **deal}, now)
    return {e.kind: e for e in conditions(state, wf, previous, now)}


def _seen(stage: str, keys: set[str] | None = None) -> DealRecord:
    return DealRecord("D1", "d.yaml", stage, "open", CREATED, event_keys=keys or set())


def test_a_new_deal_enters_its_stage_and_raises_its_conditions(wf):
    events = _events(wf, {})
    assert sorted(events) == ["deal_rotting", "deal_stuck", "job_overdue", "stage_entered"]
    entered = events["stage_entered"]
    assert (entered.key, entered.at, entered.data) == ("D1:stage_entered:prospect:2026-01-01", CREATED, {"from": None})
    overdue = events["job_overdue"]
    assert overdue.key == "D1:job_overdue:prospect:verify:2026-01-01" and overdue.at == NOW
    assert overdue.data == {"job": "verify", "owner": "rep", "due": "2026-01-08"}
    assert events["deal_stuck"].data == {"days_in_stage": 19}
    assert events["deal_rotting"].data == {"last_touched": None}


def test_nothing_is_due_early_on(wf):
    assert sorted(_events(wf, {}, now=dt.date(2026, 1, 3))) == ["stage_entered"]


@pytest.mark.parametrize("previous,kind,data", [
    ("prospect", "stage_entered", {"from": "prospect"}),  # forward
    ("proposed", "stage_regressed", {"from": "proposed"}),  # back
    ("removed-stage", "stage_entered", {"from": "removed-stage"}),  # a stage the workflow no longer has
])
def test_a_stage_change_since_the_last_run(wf, previous, kind, data):
    events = _events(wf, VERIFIED, _seen(previous), now=dt.date(2026, 1, 4))
    assert events[kind].data == data and events[kind].stage == "qualified"
    assert ("stage_regressed" in events) == (kind == "stage_regressed")
    if kind == "stage_regressed":
        assert events[kind].key == "D1:stage_regressed:proposed>qualified:2026-01-04"


def test_the_same_stage_raises_no_stage_event(wf):
    assert not {"stage_entered", "stage_regressed"} & set(_events(wf, VERIFIED, _seen("qualified")))


def test_a_lost_deal(wf):
    lost = {"outcome": "lost", "closed_at": dt.date(2026, 1, 3), "lost_reason": "price"}
    events = _events(wf, lost)
    assert sorted(events) == ["deal_lost", "stage_entered"]  # no overdue, stuck or rotting once lost
    assert events["deal_lost"].key == "D1:deal_lost" and events["deal_lost"].at == dt.date(2026, 1, 3)
    assert events["deal_lost"].data == {"amount": 1000.0, "reason": "price"}
    assert "stage_entered" not in _events(wf, {**lost, **VERIFIED}, _seen("prospect"))  # lost while moving: no entry


def test_a_won_deal(wf):
    events = _events(wf, {"outcome": "won", "closed_at": dt.date(2026, 1, 3), "roi": 2, **QUALIFIED_DONE})
    assert events["deal_won"].key == "D1:deal_won" and events["deal_won"].data == {"amount": 1000.0}
    assert events["stage_entered"].stage == "closed"
    assert not {"deal_stuck", "deal_rotting", "gate_blocked"} & set(events)


@pytest.mark.parametrize("roi,stage,gate,message", [
    (1.0, "qualified", "roi-ok", "ROI too low"),
    (1.2, "proposed", "price-approved", None),  # roi-ok passes: the deal moves on and waits for approval
    (5, "proposed", "price-approved", None),
])
def test_a_failing_gate_blocks_once_the_required_jobs_are_done(wf, roi, stage, gate, message):
    blocked = _events(wf, {**QUALIFIED_DONE, "roi": roi}, now=dt.date(2026, 1, 4))["gate_blocked"]
    assert blocked.stage == stage and blocked.key.startswith(f"D1:gate_blocked:{stage}:{gate}:")
    assert blocked.data["gate"] == gate and (message is None or blocked.data["message"] == message)


def test_a_failing_gate_with_a_job_still_to_do_is_not_blocking(wf):
    assert "gate_blocked" not in _events(wf, {**VERIFIED, "roi": 1.0}, now=dt.date(2026, 1, 4))


def test_new_events_leave_out_those_raised_before(wf):
    state = evaluate(CompiledWorkflow(wf), {"id": "D1", "amount": 1000, "created": CREATED}, NOW)
    every = conditions(state, wf, None, NOW)
    assert new_events(state, wf, None, NOW) == every
    seen = _seen("prospect", {e.key for e in every if e.kind != "deal_stuck"})
    assert [e.kind for e in new_events(state, wf, seen, NOW)] == ["deal_stuck"]
    assert new_events(state, wf, _seen("prospect", {e.key for e in every}), NOW) == []


def test_moving_now_forward_raises_overdue_once(wf):
    state_then = evaluate(CompiledWorkflow(wf), {"id": "D1", "amount": 1000, "created": CREATED}, NOW)
    later = NOW + dt.timedelta(days=5)
    state_later = evaluate(CompiledWorkflow(wf), {"id": "D1", "amount": 1000, "created": CREATED}, later)
    keys = {e.key for e in conditions(state_then, wf, None, NOW)}
    assert "job_overdue" not in {e.kind for e in new_events(state_later, wf, _seen("prospect", keys), later)}
