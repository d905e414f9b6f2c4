"""Benchmark of the analytics: metrics and the three forecasts over N synthetic deals
with history (one YAML file per deal, in a temporary folder).

    python3 benchmarks/analytics.py [N]          # default 100000

Prints the time of each phase and the peak memory. Metrics stream (read, evaluate,
aggregate, forget); forecasts keep one slim state per deal.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import resource
import sys
import tempfile
import time

from flowctl.compiled import CompiledWorkflow
from flowctl.forecasting import slim_for_forecast
from flowctl.hooktypes import ForecastInput
from flowctl.metrics import compute_metrics
from flowctl.pipeline import evaluate_all
from flowctl.plugin_manager import Plugins
from flowctl.workflow import load_workflow

WORKFLOW = """\
flowctl: 1
name: bench
currency: EUR
quotas: {default: 250000}
stages:
  - {id: lead, probability: 0.1, max_days: 30, rot_days: 20, jobs: [{id: qualify}]}
  - {id: qualified, probability: 0.25, max_days: 30, jobs: [{id: meet}]}
  - {id: proposal, probability: 0.5, max_days: 45, jobs: [{id: propose}]}
  - {id: negotiation, probability: 0.75, max_days: 30, jobs: [{id: sign}]}
  - {id: won, terminal: true}
metrics:
  - {id: won-by-owner, kind: won_amount, group_by: owner}
  - {id: big-open, kind: count, outcome: open, where: "deal.amount >= 50000", target: "<= 5000"}
"""
STAGES = ("lead", "qualified", "proposal", "negotiation")
NOW = dt.date(2026, 6, 30)


def deal_text(i: int, rng: random.Random) -> str:
    created = NOW - dt.timedelta(days=rng.randint(5, 720))
    amount = rng.randint(1, 200) * 500
    roll = rng.random()
    outcome = "open" if roll < 0.10 else "won" if roll < 0.45 else "lost"
    last = rng.randint(0, 3) if outcome != "won" else 3
    at = created
    history = []
    for s in STAGES[: last + 1]:
        history.append(f"  - {{stage: {s}, at: {at.isoformat()}}}")
        at += dt.timedelta(days=rng.randint(2, 40))
    lines = [f"id: D{i:06d}", f"name: Deal {i}", f"owner: rep{rng.randint(1, 20)}@example.com",
             f"product: P{rng.randint(1, 7)}", f"amount: {amount}", f"created: {created.isoformat()}"]
    if outcome == "open":
        lines.append(f"expected_close: {(NOW + dt.timedelta(days=rng.randint(-10, 200))).isoformat()}")
        if rng.random() < 0.2:
            lines.append(f"probability: {rng.choice((0.2, 0.4, 0.6, 0.8))}")
    else:
        closed = min(at, NOW)
        lines += [f"outcome: {outcome}", f"closed_at: {closed.isoformat()}"]
        if outcome == "won":
            done = closed + dt.timedelta(days=rng.randint(1, 90))
            lines += ["orders:", f"  - {{id: O{i}, amount: {amount}, placed: {closed.isoformat()}, "
                                 f"completed: {done.isoformat() if done <= NOW else 'null'}}}"]
    return "\n".join(lines + ["history:"] + history) + "\n"


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    print(f"{label:52} {time.perf_counter() - start:8.2f} s")
    return result


def main(n: int) -> None:
    rng = random.Random(42)
    with tempfile.TemporaryDirectory(prefix="flowctl-bench-") as tmp:
        deals = os.path.join(tmp, "deals")
        os.makedirs(deals)
        wf_path = os.path.join(tmp, "workflow.yaml")
        with open(wf_path, "w") as fh:
            fh.write(WORKFLOW)

        def generate() -> None:
            for i in range(n):
                with open(os.path.join(deals, f"D{i:06d}.yaml"), "w") as fh:
                    fh.write(deal_text(i, rng))

        timed(f"generate {n} deal files", generate)
        plugins = Plugins()
        workflow, problems = load_workflow(wf_path, plugins)
        assert workflow is not None, problems
        cw = CompiledWorkflow(workflow)

        def metrics() -> list:
            states = (item.state for item in evaluate_all(cw, [deals], NOW) if item.state is not None)
            return compute_metrics(workflow, states, NOW, plugins)

        results = timed("metrics (read + evaluate + aggregate, streamed)", metrics)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{'  peak memory after metrics':52} {rss:8.0f} MB")
        figures = {r["id"]: r["value"] for r in results}
        print(f"  win rate {figures['win_rate']}, won {figures['won_amount']}, cycle {figures['sales_cycle_days']}, "
              f"bottleneck {figures['bottleneck']}")
        states = timed("read + evaluate for forecasts (slim states kept)",
                       lambda: [slim_for_forecast(i.state) for i in evaluate_all(cw, [deals], NOW) if i.state is not None])
        open_deals = sum(1 for s in states if s.outcome == "open")
        methods = plugins.forecast_methods()
        for name in ("weighted", "historical", "montecarlo"):
            data = ForecastInput(states, workflow, NOW, 90, None, {"trials": 10_000, "seed": 1})
            result = timed(f"forecast {name}" + (f" (10,000 trials x {open_deals} open deals)" if name == "montecarlo" else ""),
                           lambda: methods[name].forecast(data))
            print(f"  expected {result['expected']:,.0f}  P10 {result['p10']:,.0f}  P50 {result['p50']:,.0f}  P90 {result['p90']:,.0f}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{'peak memory (slim states of every deal held)':52} {rss:8.0f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
