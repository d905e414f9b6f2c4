"""A test action that fails a set number of times before it succeeds.

FLAKY_FAILS (environment) says how many calls fail; calls are counted in FLAKY_LOG."""
from __future__ import annotations

import os

from flowctl import Action, ActionContext, ActionOutcome, hookimpl


def run(ctx: ActionContext) -> ActionOutcome:
    log = os.environ["FLAKY_LOG"]
    with open(log, "a") as f:
        f.write(f"{ctx.state.id} {ctx.job.id}\n")
    with open(log) as f:
        calls = len(f.readlines())
    if calls <= int(os.environ.get("FLAKY_FAILS", "0")):
        raise RuntimeError(f"flaky failure {calls}")
    return ActionOutcome(True, {"calls": calls})


@hookimpl
def flowctl_actions() -> list[Action]:
    return [Action("flaky", run, {"type": "object"})]
