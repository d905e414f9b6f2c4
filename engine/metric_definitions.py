"""The definitions of the built-in metric kinds (SPEC section 5): one accumulator per
kind, fed one deal state at a time (`add`), then `result()` -> (value, extra figures).
Each keeps only what it needs (counts, sums, day histograms, a few ids), never the
states. plugins/metric_kinds.py registers them through `flowctl_metric_kinds`; the
machinery that runs declared metrics (where, group_by, target) is flowctl.metrics'.
"""
from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from typing import Any, TypedDict

from .metric_stats import Days, first_entry, stays
from .metrics import field_value, ratio
from .model import Workflow


DEFINITIONS = {
    "count": "number of deals (open, won and lost)",
    "sum": "sum of a deal field (default amount) over the deals",
    "open_count": "number of open deals",
    "won_amount": "sum of the amounts of won deals",
    "win_rate": "won / (won + lost); open deals are not in it",
    "conversion": "A->B = deals that ever reached B / deals that ever reached A (a deal reached every stage "
                  "it has an entry date for)",
    "sales_cycle": "days from a deal's first known stage entry to its close (closed_at); won deals, "
                   "lost deals shown apart",
    "time_in_stage": "days from entering a stage to entering the next one (or closing there, or today "
                     "for deals still there)",
    "weighted_pipeline": "sum over open deals of amount x probability (the deal's own, else its stage's)",
    "stuck": "open deals longer in their stage than its max_days",
    "rotting": "open deals without activity for longer than their stage's rot_days",
    "bottleneck": "the stage with the highest score = (1 - conversion to the next stage) + "
                  "median days in stage / max_days",
    "backlog_ratio": "amount of won orders not yet completed / total sales (amount of won deals)",
    "velocity": "open deals x win rate x mean won amount / mean sales cycle (amount per day)",
    "quota": "per owner and quarter: won this quarter / quota (attainment); open pipeline / what is "
             "left of the quota (coverage)",
}

TOP_DEALS = 20  # stuck and rotting list this many deals, the longest waiting first


def _selected(state: Any, config: dict) -> bool:
    return ((config.get("stage") is None or state.stage == config["stage"])
            and (config.get("outcome") is None or state.outcome == config["outcome"]))


# ---------------------------------------------------------------------------------
# accumulators: add(state) one deal at a time, then result() -> (value, extra figures)
# ---------------------------------------------------------------------------------

class Acc:
    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        self.wf, self.now, self.config = workflow, now, config

    def add(self, state: Any) -> None:
        raise NotImplementedError

    def result(self) -> tuple[Any, dict]:
        raise NotImplementedError


class CountAcc(Acc):
    """`stage:` counts deals standing in that stage; `outcome:` those with that outcome."""

    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        super().__init__(workflow, now, config)
        self.by_outcome: Counter[str] = Counter()

    def add(self, state: Any) -> None:
        if _selected(state, self.config):
            self.by_outcome[state.outcome] += 1

    def result(self) -> tuple[Any, dict]:
        return sum(self.by_outcome.values()), {"by_outcome": {k: self.by_outcome.get(k, 0) for k in ("open", "won", "lost")}}


class OpenCountAcc(CountAcc):
    def result(self) -> tuple[Any, dict]:
        return self.by_outcome.get("open", 0), {}


class SumAcc(Acc):
    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        super().__init__(workflow, now, config)
        self.field = config.get("field") or "amount"
        self.total, self.n = 0.0, 0

    def add(self, state: Any) -> None:
        if not _selected(state, self.config):
            return
        value = state.amount if self.field == "amount" else field_value(state, self.field)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.total += value
            self.n += 1

    def result(self) -> tuple[Any, dict]:
        return round(self.total, 2), {"field": self.field, "deals": self.n}


class WonAmountAcc(Acc):
    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        super().__init__(workflow, now, config)
        self.total, self.n = 0.0, 0

    def add(self, state: Any) -> None:
        if state.outcome == "won":
            self.total += state.amount
            self.n += 1

    def result(self) -> tuple[Any, dict]:
        return round(self.total, 2), {"won": self.n}


class WinRateAcc(Acc):
    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        super().__init__(workflow, now, config)
        self.n: Counter[str] = Counter()

    def add(self, state: Any) -> None:
        self.n[state.outcome] += 1

    def result(self) -> tuple[Any, dict]:
        won, lost = self.n.get("won", 0), self.n.get("lost", 0)
        return ratio(won, won + lost), {"won": won, "lost": lost, "open_excluded": self.n.get("open", 0)}


class ConversionAcc(Acc):
    """With `from:` and `to:` one number; without, every pair of successive stages."""

    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        super().__init__(workflow, now, config)
        self.reached: Counter[str] = Counter()

    def add(self, state: Any) -> None:
        self.reached.update(state.stage_entries.keys())

    def rate(self, a: str, b: str) -> float | None:
        return ratio(self.reached.get(b, 0), self.reached.get(a, 0))

    def pairs(self) -> list[tuple[str, str]]:
        ids = [s.id for s in self.wf.stages]
        return list(zip(ids, ids[1:]))

    def result(self) -> tuple[Any, dict]:
        a, b = self.config.get("from"), self.config.get("to")
        reached = {s.id: self.reached.get(s.id, 0) for s in self.wf.stages}
        if a and b:
            return self.rate(a, b), {"from": a, "to": b, "reached": {a: reached[a], b: reached[b]}}
        return {f"{a}->{b}": self.rate(a, b) for a, b in self.pairs()}, {"reached": reached}


class CycleAcc(Acc):
    """Won deals by default; `outcome: lost` gives the lost deals' own figure."""

    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        super().__init__(workflow, now, config)
        self.outcome = config.get("outcome") or "won"
        self.days = Days()
        self.undated = 0

    def add(self, state: Any) -> None:
        if state.outcome != self.outcome or state.closed_at is None:
            return
        start = first_entry(state)
        if start is None or start > state.closed_at:
            self.undated += 1
            return
        self.days.add((state.closed_at - start).days)

    def result(self) -> tuple[Any, dict]:
        return {"mean": self.days.mean, "median": self.days.median}, {"deals": self.days.n, "outcome": self.outcome,
                                                                      "undated": self.undated}


class TimeInStageAcc(Acc):
    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        super().__init__(workflow, now, config)
        self.days = {s.id: Days() for s in workflow.stages if not s.terminal}

    def add(self, state: Any) -> None:
        for stage_id, days in stays(state, self.wf, self.now):
            self.days[stage_id].add(days)

    def result(self) -> tuple[Any, dict]:
        stage = self.config.get("stage")
        if stage:
            d = self.days.get(stage) or Days()
            return d.median, {"stage": stage, "mean": d.mean, "n": d.n}
        return {s: d.to_json() for s, d in self.days.items()}, {}


class WeightedAcc(Acc):
    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        super().__init__(workflow, now, config)
        self.by_stage: dict[str, list[float]] = {}

    def add(self, state: Any) -> None:
        if state.outcome == "open":
            row = self.by_stage.setdefault(state.stage, [0, 0.0, 0.0])
            row[0] += 1
            row[1] += state.amount
            row[2] += state.amount * state.probability

    def result(self) -> tuple[Any, dict]:
        total = sum(r[2] for r in self.by_stage.values())
        order = {s.id: s.index for s in self.wf.stages}
        by_stage = {s: {"count": r[0], "amount": round(r[1], 2), "weighted": round(r[2], 2)}
                    for s, r in sorted(self.by_stage.items(), key=lambda kv: order.get(kv[0], 99))}
        return round(total, 2), {"by_stage": by_stage}


class FlagAcc(Acc):
    """Stuck or rotting open deals: how many, their amount, the longest waiting few."""

    flag = "stuck"

    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        super().__init__(workflow, now, config)
        self.n, self.amount = 0, 0.0
        self.top: list[tuple[int, str, str]] = []  # heap of (days in stage, id, stage)

    def add(self, state: Any) -> None:
        if state.outcome != "open" or not getattr(state, self.flag):
            return
        self.n += 1
        self.amount += state.amount
        item = (state.days_in_stage, state.id, state.stage)
        if len(self.top) < TOP_DEALS:
            heapq.heappush(self.top, item)
        else:
            heapq.heappushpop(self.top, item)

    def result(self) -> tuple[Any, dict]:
        deals = [{"id": i, "stage": s, "days_in_stage": d} for d, i, s in sorted(self.top, key=lambda t: (-t[0], t[1]))]
        return self.n, {"amount": round(self.amount, 2), "deals": deals}


class RottingAcc(FlagAcc):
    flag = "rotting"


class BottleneckAcc(Acc):
    """Where deals are lost (lowest conversion to the next stage) or wait (longest median
    time relative to max_days); the verdict adds the two, so both count."""

    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        super().__init__(workflow, now, config)
        self.conversion = ConversionAcc(workflow, now, {})
        self.time = TimeInStageAcc(workflow, now, {})

    def add(self, state: Any) -> None:
        self.conversion.add(state)
        self.time.add(state)

    def result(self) -> tuple[Any, dict]:
        return bottleneck(self.wf, self.conversion, self.time)


class _StageFigure(TypedDict):
    """The bottleneck's figures for one step from a stage to the next."""
    stage: str
    next: str
    reached: int
    advanced: int
    conversion: float
    median_days: float | None
    max_days: int | None
    wait_ratio: float | None
    score: float


def bottleneck(wf: Workflow, conversion: ConversionAcc, time: TimeInStageAcc) -> tuple[Any, dict]:
    figures: list[_StageFigure] = []
    for a, b in conversion.pairs():
        rate = conversion.rate(a, b)
        if rate is None:
            continue
        stage = wf.stage_by_id[a]
        median = time.days[a].median
        wait = round(median / stage.max_days, 4) if median is not None and stage.max_days else None
        figures.append({"stage": a, "next": b, "reached": conversion.reached.get(a, 0),
                        "advanced": conversion.reached.get(b, 0), "conversion": rate,
                        "median_days": median, "max_days": stage.max_days, "wait_ratio": wait,
                        "score": round(1 - rate + (wait or 0.0), 4)})
    if not figures:
        return None, {"stages": [], "reason": "no deal has reached any stage"}
    worst = max(figures, key=lambda f: f["score"])  # max keeps the first (earliest stage) on ties
    lost = min(figures, key=lambda f: f["conversion"])
    waits = [(f["wait_ratio"], f) for f in figures if f["wait_ratio"] is not None]
    slow = max(waits, key=lambda w: w[0])[1] if waits else None
    reason = (f"{1 - worst['conversion']:.0%} of the deals that reached {worst['stage']} did not reach {worst['next']}")
    if worst["wait_ratio"] is not None:
        reason += f"; median {worst['median_days']:g} days there against max_days {worst['max_days']}"
    return worst["stage"], {"lost_most": lost["stage"], "waits_most": slow["stage"] if slow else None,
                            "reason": reason, "stages": figures}


class BacklogRatioAcc(Acc):
    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        super().__init__(workflow, now, config)
        from .backlog import BacklogAcc
        self.backlog = BacklogAcc(now)

    def add(self, state: Any) -> None:
        self.backlog.add(state)

    def result(self) -> tuple[Any, dict]:
        f = self.backlog.figures()
        return f["ratio"], {"backlog_amount": f["backlog_amount"], "total_sales": f["total_sales"],
                            "open_orders": f["open_orders"]}


class VelocityAcc(Acc):
    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        super().__init__(workflow, now, config)
        self.win = WinRateAcc(workflow, now, {})
        self.won = WonAmountAcc(workflow, now, {})
        self.cycle = CycleAcc(workflow, now, {})

    def add(self, state: Any) -> None:
        self.win.add(state)
        self.won.add(state)
        self.cycle.add(state)

    def result(self) -> tuple[Any, dict]:
        rate, counts = self.win.result()
        mean_won = self.won.total / self.won.n if self.won.n else None
        cycle = self.cycle.days.mean
        figures = {"open": counts["open_excluded"], "win_rate": rate,
                   "mean_won_amount": round(mean_won, 2) if mean_won is not None else None, "cycle_days": cycle}
        if rate is None or mean_won is None or not cycle:
            return None, figures
        return round(counts["open_excluded"] * rate * mean_won / cycle, 2), figures


class QuotaAcc(Acc):
    def __init__(self, workflow: Workflow, now: dt.date, config: dict):
        super().__init__(workflow, now, config)
        self.quarter = quarter_start(now)
        self.owners: dict[str, list[float]] = {}  # owner -> [won this quarter, open amount, weighted]

    def add(self, state: Any) -> None:
        row = self.owners.setdefault(state.owner or "(none)", [0.0, 0.0, 0.0])
        if state.outcome == "won" and state.closed_at is not None and self.quarter <= state.closed_at <= self.now:
            row[0] += state.amount
        elif state.outcome == "open":
            row[1] += state.amount
            row[2] += state.amount * state.probability

    def result(self) -> tuple[Any, dict]:
        out = {}
        for owner, (won, pipeline, weighted) in sorted(self.owners.items()):
            quota = self.wf.quota(None if owner == "(none)" else owner)
            if quota is None:
                continue
            left = max(quota - won, 0.0)
            out[owner] = {"quota": quota, "won": round(won, 2), "pipeline": round(pipeline, 2),
                          "weighted": round(weighted, 2), "attainment": ratio(won, quota),
                          "coverage": ratio(pipeline, left)}
        return out, {"quarter_start": self.quarter.isoformat()}


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


KINDS: dict[str, type[Acc]] = {
    "count": CountAcc, "open_count": OpenCountAcc, "sum": SumAcc, "won_amount": WonAmountAcc,
    "win_rate": WinRateAcc, "conversion": ConversionAcc, "sales_cycle": CycleAcc, "time_in_stage": TimeInStageAcc,
    "velocity": VelocityAcc, "weighted_pipeline": WeightedAcc, "stuck": FlagAcc, "rotting": RottingAcc,
    "bottleneck": BottleneckAcc, "backlog_ratio": BacklogRatioAcc, "quota": QuotaAcc,
}
