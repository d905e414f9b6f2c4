"""Pipeline metrics (SPEC section 5): one definition of each, used everywhere."""
from __future__ import annotations

BUILTIN_KINDS = ("count", "sum", "conversion", "win_rate", "velocity", "time_in_stage", "weighted_pipeline",
                 "stuck", "rotting", "bottleneck", "backlog_ratio", "won_amount", "open_count", "sales_cycle")
