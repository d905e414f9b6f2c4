"""The six hand-made deals of the metrics tests (test_metrics.py, test_metric_definitions.py):
the expected figures there are worked out by hand from these dates."""
from __future__ import annotations

# Stage entries come from `history:`.
DEALS = [
    {"id": "A", "owner": "alice@example.com", "product": "X", "amount": 1000, "created": "2026-01-01",
     "history": [{"stage": "prospect", "at": "2026-01-01"}, {"stage": "qualified", "at": "2026-01-11"},
                 {"stage": "proposed", "at": "2026-01-21"}],
     "outcome": "won", "closed_at": "2026-02-10"},
    {"id": "B", "owner": "bob@example.com", "product": "Y", "amount": 2000, "created": "2026-01-05",
     "history": [{"stage": "prospect", "at": "2026-01-05"}, {"stage": "qualified", "at": "2026-01-10"},
                 {"stage": "proposed", "at": "2026-01-20"}],
     "outcome": "won", "closed_at": "2026-03-01"},
    {"id": "C", "owner": "alice@example.com", "product": "X", "amount": 500, "created": "2026-01-01",
     "history": [{"stage": "prospect", "at": "2026-01-01"}, {"stage": "qualified", "at": "2026-01-15"}],
     "outcome": "lost", "closed_at": "2026-02-01"},
    {"id": "D", "owner": "alice@example.com", "product": "Y", "amount": 1000, "probability": 0.5,
     "created": "2026-02-01",
     "history": [{"stage": "prospect", "at": "2026-02-01"}, {"stage": "qualified", "at": "2026-02-10"},
                 {"stage": "proposed", "at": "2026-02-20"}]},
    {"id": "E", "owner": "bob@example.com", "product": "X", "amount": 400, "created": "2026-03-01",
     "history": [{"stage": "prospect", "at": "2026-03-01"}]},
    {"id": "F", "owner": "bob@example.com", "product": "Y", "amount": 600, "created": "2026-03-20",
     "history": [{"stage": "prospect", "at": "2026-03-20"}, {"stage": "qualified", "at": "2026-03-25"}]},
]
