"""Running automated jobs (`uses:`) through the actions plugins provide, with retries
in the manner of AWS Step Functions (attempts, backoff, backoff rate)."""
from __future__ import annotations

import datetime as dt
import time
from typing import Callable

from .evaluate import DealState
from .hooktypes import Action, ActionContext, ActionOutcome
from .model import Job, Workflow
from .store import ActionResult

Sleep = Callable[[float], None]


def due_actions(state: DealState, workflow: Workflow) -> list[Job]:
    """Automated jobs of the stage the deal stands in that are not done yet."""
    if state.outcome == "lost":
        return []
    automated = [job for job in workflow.stage_by_id[state.stage].jobs if job.uses]
    if not automated:  # most stages: no need to look at the deal's jobs
        return []
    pending = {j.id for j in state.jobs if j.stage == state.stage and j.status in ("pending", "overdue")}
    return [job for job in automated if job.id in pending]


def run_action(action: Action | None, job: Job, context: ActionContext, now: dt.date,
               sleep: Sleep = time.sleep) -> ActionResult:
    """Run one automated job, retrying per its policy; never raises."""
    if action is None:
        return ActionResult(context.state.id, job.id, job.uses or "", False, 0, now,
                            error=f"no plugin provides the action '{job.uses}'")
    wait = job.retry.backoff
    error = None
    for attempt in range(1, job.retry.attempts + 1):
        try:
            outcome = action.run(context)
            if not isinstance(outcome, ActionOutcome):
                raise TypeError(f"action returned {type(outcome).__name__}, not ActionOutcome")
            if outcome.ok:
                return ActionResult(context.state.id, job.id, action.name, True, attempt, now, outcome.output)
            error = outcome.error or "the action reported failure"
        except Exception as exc:  # an action's failure is the job's, not the run's
            error = f"{type(exc).__name__}: {exc}"
        if attempt < job.retry.attempts:
            sleep(wait)
            wait *= job.retry.rate
    return ActionResult(context.state.id, job.id, action.name, False, job.retry.attempts, now, error=error)
