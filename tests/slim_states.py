"""Deal states built by hand (flowctl.SlimState) for the tests that feed the metric
definitions and the forecasts directly, dates given as days before NOW."""
from __future__ import annotations

import datetime as dt

from flowctl.metrics import SlimState

NOW = dt.date(2026, 3, 31)


def day(n: int | None) -> dt.date | None:
    """n days before NOW (None stays None)."""
    return None if n is None else NOW - dt.timedelta(days=n)


def slim_state(deal_id: str = "X", stage: str = "prospect", outcome: str = "open", amount: float = 100.0,
               probability: float = 0.1, owner: str | None = "bob@example.com",
               entries: dict[str, int] | None = None, created: int | None = None, closed: int | None = None,
               expected_close: int | None = None, days_in_stage: int = 0, stuck: bool = False,
               rotting: bool = False, fields: dict | None = None) -> SlimState:
    """A deal state with these figures; `entries` maps stages to the days before NOW the deal entered them."""
    stage_entries = {s: NOW - dt.timedelta(days=n) for s, n in (entries or {}).items()}
    return SlimState(deal_id, stage, 0, outcome, amount, probability, "pipeline", owner, day(created), day(closed),
                     day(expected_close), stage_entries.get(stage, NOW), days_in_stage, stuck, rotting, stage_entries,
                     fields or {})
