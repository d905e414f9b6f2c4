"""Events: what changed for a deal since the store last saw it.

Each condition has a deterministic key, so a run that sees the same facts again raises
nothing new, and moving `--now` forward raises `job_overdue` exactly once.
"""
from __future__ import annotations

import datetime as dt

from .evaluate import DealState
from .model import Workflow
from .store import DealRecord, Event


def conditions(state: DealState, workflow: Workflow, previous: DealRecord | None, now: dt.date) -> list[Event]:
    """Every event the deal's state calls for, including those raised before."""
    d, stage, entered = state.id, state.stage, state.entered_at.isoformat()
    out: list[Event] = []
    old_index = workflow.stage_by_id[previous.stage].index if previous and previous.stage in workflow.stage_by_id else None
    if previous is None or previous.stage != stage:
        if previous is not None and old_index is not None and state.stage_index < old_index:
            out.append(Event(f"{d}:stage_regressed:{previous.stage}>{stage}:{now}", "stage_regressed", d, stage, now,
                             {"from": previous.stage}))
        elif state.outcome != "lost" or previous is None:
            out.append(Event(f"{d}:stage_entered:{stage}:{entered}", "stage_entered", d, stage, state.entered_at,
                             {"from": previous.stage if previous else None}))
    if state.outcome == "won":
        out.append(Event(f"{d}:deal_won", "deal_won", d, stage, state.closed_at or now, {"amount": state.amount}))
    elif state.outcome == "lost":
        out.append(Event(f"{d}:deal_lost", "deal_lost", d, stage, state.closed_at or now,
                         {"amount": state.amount, "reason": state.deal.get("lost_reason")}))
    if state.outcome in ("open", "won"):
        for job in state.jobs:
            if job.status == "overdue":
                out.append(Event(f"{d}:job_overdue:{job.stage}:{job.id}:{entered}", "job_overdue", d, job.stage, now,
                                 {"job": job.id, "owner": job.owner, "due": job.due_at.isoformat() if job.due_at else None}))
    if state.outcome == "open":
        if state.stuck:
            out.append(Event(f"{d}:deal_stuck:{stage}:{entered}", "deal_stuck", d, stage, now,
                             {"days_in_stage": state.days_in_stage}))
        if state.rotting:
            touched = (state.last_touched or state.entered_at).isoformat()
            out.append(Event(f"{d}:deal_rotting:{stage}:{touched}", "deal_rotting", d, stage, now,
                             {"last_touched": state.last_touched.isoformat() if state.last_touched else None}))
        if all(j.status == "done" for j in state.current_jobs if j.required):
            for gate in state.current_gates:
                if not gate.ok:
                    out.append(Event(f"{d}:gate_blocked:{stage}:{gate.id}:{entered}", "gate_blocked", d, stage, now,
                                     {"gate": gate.id, "message": gate.message}))
    return out


def new_events(state: DealState, workflow: Workflow, previous: DealRecord | None, now: dt.date) -> list[Event]:
    seen = previous.event_keys if previous else set()
    return [e for e in conditions(state, workflow, previous, now) if e.key not in seen]
