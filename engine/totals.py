"""The pipeline's per-stage totals: open deals by stage (count, amount, weighted amount),
won and lost deals (count, amount). One definition, used by `run` (its summary's
`by_stage`), `run --dry-run --format markdown` (the forecast before and after),
`status` and `board`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterable

CLOSED = ("won", "lost")


def row_key(stage: str, outcome: str) -> str:
    """Where a deal is counted: its stage while open, else its outcome."""
    return outcome if outcome in CLOSED else stage


@dataclasses.dataclass
class StageTotals:
    """Totals keyed by `row_key`, in the order the keys were first met (`to_json` is a
    run summary's `by_stage`)."""

    rows: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)

    def add(self, stage: str, outcome: str, amount: float, weighted: float) -> None:
        row = self.rows.setdefault(row_key(stage, outcome), {"count": 0, "amount": 0.0, "weighted": 0.0})
        row["count"] += 1
        row["amount"] += amount
        row["weighted"] += weighted

    def add_state(self, state: Any) -> None:
        """A deal's state (evaluate.DealState, or anything with its figures)."""
        self.add(state.stage, state.outcome, state.amount, state.weighted_amount)

    def add_snapshot(self, rows: Iterable[Any]) -> None:
        """Snapshot rows (store.SnapshotRow or the dicts `Store.snapshot` returns)."""
        for r in rows:
            row = r if isinstance(r, dict) else vars(r)
            amount, outcome = float(row.get("amount") or 0), str(row["outcome"])
            weighted = amount * float(row.get("probability") or 0) if outcome == "open" else 0.0
            self.add(str(row["stage"]), outcome, amount, weighted)

    def merge(self, other: "StageTotals") -> None:
        for key, row in other.rows.items():
            mine = self.rows.setdefault(key, {"count": 0, "amount": 0.0, "weighted": 0.0})
            for name in mine:
                mine[name] += row[name]

    def to_json(self) -> dict[str, dict[str, float]]:
        return {key: dict(row) for key, row in self.rows.items()}

    def open_rows(self) -> dict[str, dict[str, float]]:
        return {key: row for key, row in self.rows.items() if key not in CLOSED}

    def closed(self, outcome: str) -> dict[str, float]:
        """{"count", "amount"} of the won or the lost deals."""
        row = self.rows.get(outcome) or {}
        return {"count": row.get("count", 0), "amount": row.get("amount", 0.0)}

    def total(self, key: str) -> float:
        """count, amount or weighted of the open deals."""
        return sum((row[key] for row in self.open_rows().values()), 0 if key == "count" else 0.0)
