"""The metric kinds: every built-in figure (win rate, conversion, sales cycle, …), each
defined once in flowctl.metric_definitions, and `average_deal_size`, registered through
`flowctl_metric_kinds` exactly as a plugin's kinds are. Each kind's `make` gives an
accumulator fed one deal at a time."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flowctl import MetricKind, SlimState, Workflow, hookimpl
from flowctl.metric_definitions import DEFINITIONS, KINDS


class AverageDealSize:
    """The mean amount of won deals (`outcome:` to change)."""

    def __init__(self, config: dict, workflow: Workflow, now: dt.date):
        self.outcome = config.get("outcome") or "won"
        self.total, self.count = 0.0, 0

    def add(self, state: SlimState) -> None:
        if state.outcome == self.outcome:
            self.total += state.amount
            self.count += 1

    def result(self) -> tuple[Any, dict]:
        return (round(self.total / self.count, 2) if self.count else None), {}


# Declared as any plugin declares its kind's keys: `validate` refuses `outcome: Won` or a
# `stage:` this kind would silently ignore.
AVERAGE_DEAL_SIZE_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {"outcome": {"enum": ["open", "won", "lost"], "default": "won",
                               "description": "Average the deals with this outcome."}},
}


def _builtin(name: str) -> MetricKind:
    cls = KINDS[name]
    return MetricKind(name, lambda config, workflow, now: cls(workflow, now, config), DEFINITIONS.get(name, ""))


@hookimpl
def flowctl_metric_kinds() -> list[MetricKind]:
    return [*(_builtin(name) for name in KINDS),
            MetricKind("average_deal_size", AverageDealSize, "mean amount of won deals (outcome: to change)",
                       config_schema=AVERAGE_DEAL_SIZE_SCHEMA)]
