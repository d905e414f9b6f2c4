"""Speed of `forecast` beyond reading the deals (issue 13: 100,000 deals in under 5 s):
each method through run_method (its existing part, the new-deal part and the past-error
replays) on 100,000 slim deal states of a six-stage pipeline with two years of history.

    python benchmarks/forecast_speed.py [N]
"""
from __future__ import annotations

import datetime as dt
import random
import sys
import time

from flowctl.forecasting import run_method
from flowctl.hooktypes import ForecastInput
from flowctl.metrics import SlimState
from flowctl.plugin_manager import Plugins
from flowctl.workflow import load_workflow
from pathlib import Path

NOW = dt.date(2026, 11, 23)


def states(n: int, stages: list, rng: random.Random) -> list[SlimState]:
    out = []
    for i in range(n):
        created = NOW - dt.timedelta(days=rng.randint(0, 730))
        reached = rng.randint(0, len(stages) - 1)
        entries, day = {}, created
        for s in stages[:reached + 1]:
            entries[s.id] = day
            day += dt.timedelta(days=rng.randint(1, 30))
        end = day
        outcome = "open" if end > NOW or rng.random() < 0.3 else rng.choice(["won", "lost"])
        closed = end if outcome != "open" else None
        stage = stages[reached]
        entered = entries[stage.id]
        out.append(SlimState(f"D{i}", stage.id, stage.index, outcome, float(rng.randint(1, 100) * 1000),
                             1.0 if outcome == "won" else 0.0 if outcome == "lost" else stage.probability,
                             stage.forecast_category, "rep", created, closed, None, entered,
                             (NOW - entered).days, False, False, entries, {}))
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    plugins = Plugins()
    workflow, _ = load_workflow(str(Path(__file__).resolve().parents[1] / "workflows" / "six-stage.yaml"), plugins)
    data = states(n, [s for s in workflow.stages if not s.terminal], random.Random(1))
    for name, method in sorted(plugins.forecast_methods().items()):
        start = time.perf_counter()
        r = run_method(method, ForecastInput(data, workflow, NOW, 90, None, {"trials": 10_000, "seed": 1}))
        print(f"{name:12} {n:,} deals: {time.perf_counter() - start:.2f} s "
              f"(expected {r['expected']:,.0f} = existing {r['existing']:,.0f} + new {r['new']:,.0f})")


if __name__ == "__main__":
    main()
