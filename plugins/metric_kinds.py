"""An example metric kind from a plugin: `average_deal_size`, the mean amount of won deals.

Plugin kinds receive the (slim) states of the deals that pass the metric's `where:`, as a
list; the core's own kinds are streamed (flowctl.metrics)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flowctl.hookspecs import hookimpl
from flowctl.hooktypes import MetricKind


def average_deal_size(config: dict, states: list, workflow: Any, now: dt.date) -> float | None:
    outcome = config.get("outcome") or "won"
    amounts = [s.amount for s in states if s.outcome == outcome]
    return round(sum(amounts) / len(amounts), 2) if amounts else None


@hookimpl
def flowctl_metric_kinds() -> list[MetricKind]:
    return [MetricKind("average_deal_size", average_deal_size, "mean amount of won deals (outcome: to change)")]
