"""Where a deal stands: a pure function of (compiled workflow, deal, store facts, now).

SPEC section 2: a deal's stage is the first stage whose required jobs are not all done
or whose gates do not all hold; meeting every stage before the terminal one is a win.
`history:` and `outcome: won` are facts about the world: what they skip is waived.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Iterable

from .compiled import CompiledWorkflow
from .durations import parse_date
from .model import Stage
from .slim_state import SlimState


@dataclasses.dataclass
class Facts:
    """What the store knows about a deal that its file does not say."""

    first_seen: dict[str, dt.date] = dataclasses.field(default_factory=dict)  # stage id -> date a run first saw it there
    actions_ok: dict[str, dt.date] = dataclasses.field(default_factory=dict)  # automated job id -> date it succeeded


NO_FACTS = Facts()


@dataclasses.dataclass
class JobState:
    id: str
    stage: str
    status: str  # done | pending | overdue | waived | skipped (an optional job of a stage the deal left)
    required: bool
    owner: str | None = None
    done_at: dt.date | None = None
    by: str | None = None
    how: str | None = None  # deal file | done_when | action
    due_at: dt.date | None = None
    uses: str | None = None
    error: str | None = None


@dataclasses.dataclass
class GateState:
    id: str
    stage: str
    ok: bool
    message: str
    waived: bool = False
    when: str | None = None
    approval: str | None = None
    approved_by: str | None = None
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    missing: str | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return {"id": self.id, "ok": self.ok, "message": self.message, "stage": self.stage,
                "waived": self.waived, "values": self.values, "missing": self.missing}


@dataclasses.dataclass(slots=True, kw_only=True)
class DealState(SlimState):
    """Where a deal stands: what aggregations keep (SlimState's fields, positional and
    first), and what only one deal's view needs: its jobs, gates, file and claim."""

    file: str | None
    entered_from: str  # what dates the entry: jobs | history | created | closed_at | first_seen
    jobs: list[JobState]
    gates: list[GateState]
    waived: list[str]
    claim: dict | None
    last_touched: dt.date | None
    next_deadline: dt.date | None
    errors: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)  # what the workflow does not know (severity.TABLE)

    def jobs_by_status(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"done": [], "pending": [], "overdue": [], "waived": [], "skipped": []}
        for job in self.jobs:
            out[job.status].append(job.id)
        return out

    @property
    def current_jobs(self) -> list[JobState]:
        return [j for j in self.jobs if j.stage == self.stage]

    @property
    def current_gates(self) -> list[GateState]:
        return [g for g in self.gates if g.stage == self.stage and not g.waived]


def _done_info(value: Any) -> tuple[bool, dt.date | None, str | None]:
    if value is None or value is False:
        return (False, None, None)
    if value is True:
        return (True, None, None)
    if isinstance(value, dict):
        return (True, parse_date(value.get("at")), value.get("by"))
    when = parse_date(value)
    return (when is not None, when, None)


def _latest(dates: Iterable[dt.date | None]) -> dt.date | None:
    known = [d for d in dates if d is not None]
    return max(known) if known else None


def evaluate(cw: CompiledWorkflow, deal: dict, now: dt.date, facts: Facts = NO_FACTS,
             file: str | None = None) -> DealState:
    """The state of one deal on `now` (already filtered to facts dated up to `now` when
    evaluating as of a past date; see `as_of`)."""
    wf = cw.workflow
    stages = wf.stages
    terminal = stages[-1]
    now_iso = now.isoformat()
    jobs_done = deal.get("jobs") or {}
    approvals = deal.get("approvals") or {}
    outcome = deal.get("outcome") or "open"
    created = parse_date(deal.get("created"))
    history_dates: dict[str, dt.date] = {}
    for entry in deal.get("history") or []:
        when = parse_date(entry.get("at"))
        if entry.get("stage") in wf.stage_by_id and when is not None:
            history_dates[entry["stage"]] = min(when, history_dates.get(entry["stage"], when))
    floor = max((wf.stage_by_id[s].index for s in history_dates), default=-1)

    job_states: list[JobState] = []
    gate_states: list[GateState] = []
    waived: list[str] = []
    entries: dict[str, dt.date] = {}
    sources: dict[str, str] = {}
    previous_done: dt.date | None = None  # when the previous stage's work was completed
    current: Stage = terminal
    for stage in stages[:-1]:
        entered, source = _entry(stage, previous_done, history_dates, created, facts, now)
        entries[stage.id], sources[stage.id] = entered, source
        context = {"deal": deal, "now": now_iso, "stage": stage.id, "days_in_stage": (now - entered).days}
        outcomes = cw.batches[stage.id].evaluate(context) if cw.batches[stage.id].sources else []
        results = iter(outcomes)
        stage_jobs: list[JobState] = []
        dated: list[dt.date | None] = []
        for job in stage.jobs:
            done, at, by = _done_info(jobs_done.get(job.id))
            how = "deal file" if done else None
            error = None
            if job.done_when is not None:
                result = next(results)
                if not done and result.value:
                    done, how = True, "done_when"
                error = result.error
            if not done and job.id in facts.actions_ok:
                done, at, how = True, facts.actions_ok[job.id], "action"
            due_at = entered + job.due if job.due is not None else None
            if isinstance(due_at, dt.datetime):
                due_at = due_at.date()
            status = "done" if done else ("overdue" if due_at is not None and now > due_at else "pending")
            stage_jobs.append(JobState(job.id, stage.id, status, job.required, job.owner, at, by, how, due_at, job.uses, error))
            if done and job.required:
                dated.append(at)
        stage_gates: list[GateState] = []
        for gate in stage.gates:
            ok, message, values, missing, error = True, "", {}, None, None
            if gate.when is not None:
                result = next(results)
                ok, missing, error = result.value, result.missing, result.error
                values = cw.gate_values(gate.id, deal)
            approved_by = None
            wrong_role = None
            if gate.approval is not None:
                approval = approvals.get(gate.id)
                if isinstance(approval, dict) and approval.get("role") == gate.approval:
                    approved_by = approval.get("by")
                    dated.append(parse_date(approval.get("at")))
                else:
                    ok = False
                    if isinstance(approval, dict):
                        wrong_role = f"the approval there is by {approval.get('by')} as {approval.get('role')}"
            if not ok:
                if error:  # a missing field, or a declared field of the wrong type: named in the error
                    message = f"{gate.text(wf.locale)} ({error})"
                elif gate.approval is not None and approved_by is None:
                    message = gate.text(wf.locale) if gate.message else f"needs an approval by {gate.approval}"
                    if wrong_role:
                        message += f" ({wrong_role}; needed: an approval by role {gate.approval})"
                else:
                    message = gate.text(wf.locale)
            stage_gates.append(GateState(gate.id, stage.id, ok, message, when=gate.when, approval=gate.approval,
                                         approved_by=approved_by, values=values, missing=missing, error=error))
        met = all(j.status == "done" for j in stage_jobs if j.required) and all(g.ok for g in stage_gates)
        if not met and (stage.index < floor or outcome == "won"):
            for j in stage_jobs:
                if j.status != "done" and j.required:
                    j.status = "waived"
                    waived.append(f"job {j.id}")
            for g in stage_gates:
                if not g.ok:
                    g.waived = True
                    waived.append(f"gate {g.id}")
            met = True
            previous_done = None
        elif met:
            previous_done = _latest(dated)
        job_states.extend(stage_jobs)
        gate_states.extend(stage_gates)
        if not met:
            current = stage
            break
    else:
        current = terminal

    if current is terminal:
        closed = parse_date(deal.get("closed_at")) if outcome != "lost" else None
        entered, source = (closed, "closed_at") if closed else _entry(terminal, previous_done, history_dates, created, facts, now)
        entries[terminal.id], sources[terminal.id] = entered, source
        if outcome != "lost":
            outcome = "won"
        for job in terminal.jobs:
            done, at, by = _done_info(jobs_done.get(job.id))
            how = "deal file" if done else None
            if not done and job.done_when is not None:
                result = cw.single(job.id, {"deal": deal, "now": now_iso, "stage": terminal.id,
                                            "days_in_stage": (now - entered).days})
                done, how = result.value, "done_when" if result.value else None
            if not done and job.id in facts.actions_ok:
                done, at, how = True, facts.actions_ok[job.id], "action"
            due_at = entered + job.due if job.due is not None else None
            status = "done" if done else ("overdue" if due_at is not None and now > due_at else "pending")
            job_states.append(JobState(job.id, terminal.id, status, job.required, job.owner, at, by, how, due_at, job.uses))

    if current.index > 0:
        _backdate(stages[:current.index + 1], entries, sources, facts)
    for j in job_states:  # only the current stage's work can be late or pending
        if j.stage != current.id and j.status in ("overdue", "pending"):
            # An optional job the deal went past without is no longer anyone's to do.
            j.status = "pending" if j.required else "skipped"
    entered_at = entries[current.id]
    closed_at = None
    if outcome == "won":
        closed_at = entered_at
    elif outcome == "lost":
        closed_at = parse_date(deal.get("closed_at")) or _latest(
            [entered_at] + [_done_info(v)[1] for k, v in jobs_done.items() if k in wf.job_by_id]
            + list(history_dates.values()))
        for j in job_states:  # a lost deal owes no more work
            if j.status == "overdue":
                j.status = "pending"
    last_touched = _latest([parse_date(a.get("at")) for a in deal.get("activities") or [] if isinstance(a, dict)])
    days = (now - entered_at).days
    is_open = outcome == "open"
    stuck = is_open and current.max_days is not None and days > current.max_days
    touched = last_touched or _latest([entered_at, created])
    rotting = is_open and current.rot_days is not None and touched is not None and (now - touched).days > current.rot_days
    probability = 1.0 if outcome == "won" else 0.0 if outcome == "lost" else _override(deal.get("probability"), current.probability)
    category = "closed" if outcome == "won" else "omitted" if outcome == "lost" else (deal.get("forecast_category") or current.forecast_category)
    deadlines: list[dt.date] = []
    if is_open or outcome == "won":
        deadlines += [j.due_at + dt.timedelta(days=1) for j in job_states
                      if j.status == "pending" and j.due_at is not None and j.stage == current.id]
    if is_open and current.max_days is not None:
        deadlines.append(entered_at + dt.timedelta(days=current.max_days + 1))
    if is_open and current.rot_days is not None and touched is not None:
        deadlines.append(touched + dt.timedelta(days=current.rot_days + 1))
    state = DealState(
        id=str(deal.get("id")), file=file, stage=current.id, stage_index=current.index, outcome=outcome,
        entered_at=entered_at, entered_from=sources[current.id], probability=probability,
        forecast_category=category, amount=float(deal.get("amount") or 0), owner=deal.get("owner"),
        jobs=job_states, gates=gate_states, stage_entries=entries, waived=waived, claim=None,
        created=created, closed_at=closed_at, expected_close=parse_date(deal.get("expected_close")),
        last_touched=last_touched, days_in_stage=days, stuck=stuck, rotting=rotting,
        next_deadline=min((d for d in deadlines if d > now), default=None), deal=deal)
    state.claim = _check_claim(wf, deal.get("stage"), state)
    return state


def _override(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _entry(stage: Stage, previous_done: dt.date | None, history: dict[str, dt.date], created: dt.date | None,
           facts: Facts, now: dt.date) -> tuple[dt.date, str]:
    if stage.id in history:
        return history[stage.id], "history"
    if stage.index == 0 and created is not None:
        return created, "created"
    if previous_done is not None:
        return previous_done, "jobs"
    if stage.id in facts.first_seen:
        return facts.first_seen[stage.id], "first_seen"
    return now, "first_seen"


def _backdate(reached: tuple[Stage, ...], entries: dict[str, dt.date], sources: dict[str, str], facts: Facts) -> None:
    """A stage passed without an entry date of its own (by `history` or a recorded win)
    takes the date of the next stage that has one: no days in it, and never a date after
    the deal's later stages or its close (SPEC section 2)."""
    later, later_source = entries[reached[-1].id], sources[reached[-1].id]
    for stage in reversed(reached[:-1]):
        undated = sources[stage.id] == "first_seen" and stage.id not in facts.first_seen
        if undated or entries[stage.id] > later:
            entries[stage.id], sources[stage.id] = later, later_source
        later, later_source = entries[stage.id], sources[stage.id]


def _check_claim(wf: Any, claimed: Any, state: DealState) -> dict | None:
    """A `stage:` written in the deal file, checked against where the facts put it."""
    if claimed is None or claimed not in wf.stage_by_id:
        return None
    claimed_index = wf.stage_by_id[claimed].index
    if claimed_index == state.stage_index:
        return {"stage": claimed, "supported": True}
    if claimed_index < state.stage_index:
        return {"stage": claimed, "supported": True, "note": f"the facts put it further, at '{state.stage}'"}
    between = {s.id for s in wf.stages[state.stage_index:claimed_index]}
    missing = [j.id for j in state.jobs if j.stage in between and j.required and j.status in ("pending", "overdue")]
    missing += [j.id for s in wf.stages[state.stage_index + 1:claimed_index] for j in s.required_jobs]
    failing = [g.id for g in state.gates if g.stage in between and not g.ok and not g.waived]
    failing += [g.id for s in wf.stages[state.stage_index + 1:claimed_index] for g in s.gates]
    return {"stage": claimed, "supported": False, "derived": state.stage,
            "missing_jobs": missing, "failing_gates": failing}


# A deal as of a past date lives in asof.py; kept importable from here.
from .asof import as_of  # noqa: E402,F401
