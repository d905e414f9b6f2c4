"""Test actions that count their calls, one line `deal job idempotency-key` each in $COUNT_LOG.

`count` succeeds, `refuse` fails; `count` kills its own process with SIGKILL on the
call number $COUNT_DIE_AT (before it succeeds), as a crash in the middle of a run."""
from __future__ import annotations

import os
import signal

from flowctl import Action, ActionContext, ActionOutcome, hookimpl


def _calls(ctx: ActionContext) -> int:
    with open(os.environ["COUNT_LOG"], "a+") as f:
        f.write(f"{ctx.state.id} {ctx.job.id} {ctx.idempotency_key}\n")
        f.seek(0)
        return len(f.readlines())


def count(ctx: ActionContext) -> ActionOutcome:
    if _calls(ctx) == int(os.environ.get("COUNT_DIE_AT") or 0):
        os.kill(os.getpid(), signal.SIGKILL)
    return ActionOutcome(True)


def refuse(ctx: ActionContext) -> ActionOutcome:
    _calls(ctx)
    return ActionOutcome(False, error="refused")


@hookimpl
def flowctl_actions() -> list[Action]:
    return [Action("count", count, {"type": "object"}), Action("refuse", refuse, {"type": "object"})]
