"""`uses: notify`: send a message about the deal over a channel (queued in the outbox)."""
from __future__ import annotations

from flowctl.hooktypes import Action, ActionContext, ActionOutcome
from flowctl.hookspecs import hookimpl

WITH_SCHEMA = {
    "type": "object",
    "title": "notify",
    "description": "Send a message about the deal over a channel of the workflow.",
    "properties": {
        "channel": {"type": "string", "description": "Channel name under `channels:` (or console)."},
        "to": {"type": "string", "description": "Recipient; may use {{ deal.owner }}."},
        "subject": {"type": "string", "description": "Subject template."},
        "template": {"type": "string", "description": "Body template file (default action_message.txt.j2)."},
    },
    "required": ["channel"],
    "additionalProperties": False,
}


def run(ctx: ActionContext) -> ActionOutcome:
    ctx.notify(channel=ctx.params["channel"], to=ctx.params.get("to"),
               subject=ctx.params.get("subject") or "{{ deal.name or deal.id }}: {{ job.id }}",
               template=ctx.params.get("template"))
    return ActionOutcome(True, {"channel": ctx.params["channel"], "to": ctx.params.get("to")})


@hookimpl
def flowctl_actions() -> list[Action]:
    return [Action("notify", run, WITH_SCHEMA)]
