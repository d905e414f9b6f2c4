"""What a workflow change would do to today's deals (`flowctl impact`): each deal read
once, checked and evaluated against both workflows, and compared — who moves (forward
or backward), who gets newly blocked and by what, a won deal that would no longer be
won (a lost one that would reopen), and the warnings a deal would gain or lose (a job
the new workflow removed, a field it no longer declares)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from .compiled import CompiledWorkflow
from .deals import DealDoc, check_deal
from .diagnostics import Diagnostic, format_path
from .evaluate import DealState, evaluate
from .model import Workflow
from .pipeline import evaluate_all
from .severity import errors_of, for_evaluation


def holding(state: DealState) -> list[dict]:
    """What keeps a deal in its stage: unfinished required jobs and failing gates."""
    out: list[dict] = [{"job": j.id, "status": j.status} for j in state.current_jobs
                       if j.required and j.status in ("pending", "overdue")]
    out += [{"gate": g.id, "message": g.message} for g in state.current_gates if not g.ok]
    return out


def _warnings(found: list[Diagnostic], prefix: tuple) -> dict[tuple, str]:
    """A deal's warnings by (kind, path): the same problem under both workflows compares
    equal whatever its suggestion says."""
    return {(d.kind, format_path(d.path[len(prefix):])): d.message for d in found if d.severity == "warning"}


def _old_state(old_cw: CompiledWorkflow, doc: DealDoc, day: dt.date) -> tuple[DealState | None, list[Diagnostic]]:
    raw = doc.raw if doc.raw is not None else doc.deal
    found = check_deal(old_cw, DealDoc(doc.file, raw, doc.index))
    if errors_of(found):
        return None, found
    return evaluate(old_cw, for_evaluation(raw, found, doc.prefix), day, file=doc.file), found


def compare(old_wf: Workflow, new_wf: Workflow, paths: list[str], day: dt.date) -> tuple[dict, list]:
    old_cw, new_cw = CompiledWorkflow(old_wf), CompiledWorkflow(new_wf)
    moved: list[dict] = []
    blocked: list[dict] = []
    outcomes: list[dict] = []
    warned: list[dict] = []
    per_deal: list[dict] = []
    errors: list[Diagnostic] = []
    unchanged = 0
    weighted_old = weighted_new = 0.0
    for item in evaluate_all(new_cw, paths, day):
        if item.state is None or item.doc is None:
            errors.extend(errors_of(item.diagnostics))
            continue
        new = item.state
        old, old_found = _old_state(old_cw, item.doc, day)
        if old is None:  # only the old workflow cannot read it: everything about it is new
            old = new
        changes: list[str] = []
        weighted_old += old.weighted_amount
        weighted_new += new.weighted_amount
        old_pos = old_wf.stage_by_id[old.stage].index if old.stage in old_wf.stage_by_id else new.stage_index
        if old.stage != new.stage or old.outcome != new.outcome:
            # Stage ids may differ between versions: compare by position in each workflow.
            direction = "forward" if new.stage_index > old_pos else "backward" if new.stage_index < old_pos else "renamed"
            moved.append({"deal": new.id, "from": old.stage, "to": new.stage, "direction": direction,
                          "outcome": {"from": old.outcome, "to": new.outcome}})
            changes.append(f"moves {old.stage} -> {new.stage} ({direction})")
        else:
            unchanged += 1
        if old.outcome != new.outcome:
            what = ("no longer won" if old.outcome == "won" else "reopened" if old.outcome == "lost"
                    else f"now {new.outcome}")
            outcomes.append({"deal": new.id, "from": old.outcome, "to": new.outcome, "change": what,
                             "stage": new.stage, "holding": holding(new)})
            held = _words(holding(new))
            phrase = {"no longer won": "no longer be won", "reopened": "reopen"}.get(what, f"be {new.outcome}")
            changes.append(f"would {phrase} ({old.outcome} -> {new.outcome} in {new.stage})" + (f": {held}" if held else ""))
        before = {tuple(sorted(h.items())) for h in holding(old)} if old.stage == new.stage else set()
        newly = [h for h in holding(new) if tuple(sorted(h.items())) not in before]
        if newly and new.outcome == "open" and (new.stage_index < old_pos or old.stage == new.stage
                                                or new.stage not in old_wf.stage_by_id):
            blocked.append({"deal": new.id, "stage": new.stage, "by": newly})
            changes.append(f"newly blocked in {new.stage} by {_words(newly)}")
        was = _warnings(old_found, item.doc.prefix)
        now = _warnings(item.diagnostics, item.doc.prefix)
        gained = [f"{message} [{path}]" for (kind, path), message in now.items() if (kind, path) not in was]
        lost = [f"{message} [{path}]" for (kind, path), message in was.items() if (kind, path) not in now]
        if gained or lost:
            warned.append({"deal": new.id, "gained": gained, "lost": lost})
            changes += [f"gains a warning: {w}" for w in gained] + [f"loses a warning: {w}" for w in lost]
        if changes:
            per_deal.append({"deal": new.id, "file": item.file, "changes": changes})
    return {"moved": moved, "blocked": blocked, "outcomes": outcomes, "warnings": warned, "deals": per_deal,
            "unchanged": unchanged,
            "weighted_pipeline": {"old": weighted_old, "new": weighted_new, "change": weighted_new - weighted_old}}, errors


def _words(held: list[dict[str, Any]]) -> str:
    return ", ".join(f"gate {x['gate']} ({x['message']})" if "gate" in x else f"job {x['job']}" for x in held)
