"""An action that queues a message with a literal body, as hooktypes.ActionContext
documents: notify(channel, to, subject, body)."""
from flowctl import Action, ActionContext, ActionOutcome, hookimpl


def run(ctx: ActionContext) -> ActionOutcome:
    ctx.notify(ctx.params["channel"], ctx.deal.get("owner"), "Note on {{ deal.id }}",
               body="Literal text, {{ not a template }}")
    return ActionOutcome(True)


@hookimpl
def flowctl_actions():
    return [Action("notify_body", run, {"type": "object"})]
