"""What is kept of a deal once its full state is gone: the figures aggregations (metrics,
forecasts, alerts) read. evaluate.DealState is this plus jobs, gates, file and claim."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Iterable

from .model import Workflow

_SCALARS = frozenset((str, int, float, bool, type(None)))  # what a parsed deal's values are, exactly


def scalar_fields(deal: dict) -> dict[str, Any]:
    """A deal's own top-level values (owner, product, region, …): what metrics may filter
    or group by once the deal's file is not at hand."""
    return {k: v for k, v in deal.items() if v.__class__ in _SCALARS and k.__class__ is str}


@dataclasses.dataclass(slots=True)
class SlimState:
    """A deal's figures without jobs, gates and the document; `deal` holds only the deal's
    top-level scalar fields (or those asked for). Constructed positionally in hot loops:
    keep the field order."""

    id: str
    stage: str
    stage_index: int
    outcome: str
    amount: float
    probability: float
    forecast_category: str
    owner: str | None
    created: dt.date | None
    closed_at: dt.date | None
    expected_close: dt.date | None
    entered_at: dt.date
    days_in_stage: int
    stuck: bool
    rotting: bool
    stage_entries: dict[str, dt.date]
    deal: dict = dataclasses.field(repr=False)

    @property
    def weighted_amount(self) -> float:
        return self.amount * self.probability if self.outcome == "open" else 0.0

    @property
    def started(self) -> dt.date | None:
        """When the deal began: its `created`, else its first stage entry (None: undated)."""
        return self.created or min(self.stage_entries.values(), default=None)


def slim(state: SlimState, fields: Iterable[str]) -> SlimState:
    """The SlimState of a deal's state (a DealState keeps far more), with only these deal fields."""
    if type(state) is SlimState:
        return state
    deal = state.deal
    kept = {k: deal[k] for k in fields if k in deal}
    return SlimState(state.id, state.stage, state.stage_index, state.outcome, state.amount, state.probability,
                     state.forecast_category, state.owner, state.created, state.closed_at, state.expected_close,
                     state.entered_at, state.days_in_stage, state.stuck, state.rotting, dict(state.stage_entries), kept)


def slim_from_summary(summary: dict, workflow: Workflow, now: dt.date) -> SlimState:
    """A SlimState of a deal as the store last summarised it (its file unchanged since and
    read under this workflow): the figures its evaluation gave, days counted to `now`."""
    def day(key: str) -> dt.date | None:
        return dt.date.fromisoformat(summary[key]) if summary.get(key) else None

    entered = day("entered_at") or now
    stage = workflow.stage_by_id.get(summary["stage"])
    return SlimState(summary["id"], summary["stage"], stage.index if stage else -1, summary["outcome"],
                     summary.get("amount") or 0.0, summary.get("probability") or 0.0,
                     summary.get("forecast_category") or "", summary.get("owner"), day("created"), day("closed_at"), day("expected_close"), entered, (now - entered).days,
                     bool(summary.get("stuck")), bool(summary.get("rotting")),
                     {k: dt.date.fromisoformat(v) for k, v in (summary.get("stage_entries") or {}).items()},
                     dict(summary.get("fields") or {}))
