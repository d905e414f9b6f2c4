"""Pipeline metrics (SPEC sections 1 and 5): one definition of each, used by `metrics`,
`report`, `run` (alerts) and the forecasts alike.

Metrics are computed from a stream of DealStates: each metric is an accumulator that
keeps only what it needs (counts, sums, day histograms, a few ids), never the states.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import operator
import re
from collections import Counter
from typing import Any, Callable, Iterable

from .expressions import ExpressionBatch
from .hooktypes import MetricKind
from .model import Workflow
from .store import Event

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
_TARGET = re.compile(r"^\s*(>=|<=|>|<|==|!=)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq, "!=": operator.ne}


# ---------------------------------------------------------------------------------
# what is kept of a deal after its state is gone
# ---------------------------------------------------------------------------------

_SCALARS = (str, int, float, bool, type(None))


@dataclasses.dataclass(slots=True)
class SlimState:
    """The part of a DealState that aggregations keep: its attributes without jobs, gates
    and the document; `deal` holds only the deal's top-level scalar fields (or those asked for)."""

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
    deal: dict

    @property
    def weighted_amount(self) -> float:
        return self.amount * self.probability if self.outcome == "open" else 0.0


def slim_from_summary(summary: dict, now: dt.date) -> SlimState:
    """A SlimState of a deal as the store last summarised it (its file unchanged since)."""
    def day(key: str) -> dt.date | None:
        return dt.date.fromisoformat(summary[key]) if summary.get(key) else None

    entered = day("entered_at") or now
    return SlimState(summary["id"], summary["stage"], -1, summary["outcome"], summary.get("amount") or 0.0,
                     summary.get("probability") or 0.0, summary.get("forecast_category") or "", summary.get("owner"),
                     day("created"), day("closed_at"), day("expected_close"), entered, (now - entered).days,
                     bool(summary.get("stuck")), bool(summary.get("rotting")),
                     {k: dt.date.fromisoformat(v) for k, v in (summary.get("stage_entries") or {}).items()},
                     dict(summary.get("fields") or {}))


def slim(state: Any, fields: Iterable[str] | None = None) -> SlimState:
    """A SlimState of a DealState; `fields` limits which deal fields are kept."""
    if isinstance(state, SlimState):
        return state
    deal = state.deal
    if fields is None:
        kept = {k: v for k, v in deal.items() if isinstance(v, _SCALARS)}
    else:
        kept = {k: deal[k] for k in fields if k in deal}
    return SlimState(state.id, state.stage, state.stage_index, state.outcome, state.amount, state.probability,
                     state.forecast_category, state.owner, state.created, state.closed_at, state.expected_close,
                     state.entered_at, state.days_in_stage, state.stuck, state.rotting, dict(state.stage_entries), kept)


# ---------------------------------------------------------------------------------
# small exact statistics
# ---------------------------------------------------------------------------------

class Days:
    """A multiset of whole days (a histogram): exact mean and median in little memory."""

    __slots__ = ("counts", "n", "total")

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.n = 0
        self.total = 0

    def add(self, days: int) -> None:
        self.counts[days] += 1
        self.n += 1
        self.total += days

    @property
    def mean(self) -> float | None:
        return round(self.total / self.n, 2) if self.n else None

    @property
    def median(self) -> float | None:
        if not self.n:
            return None
        lo_rank, hi_rank = (self.n - 1) // 2, self.n // 2
        seen, lo = 0, None
        for days in sorted(self.counts):
            seen += self.counts[days]
            if lo is None and seen > lo_rank:
                lo = days
            if seen > hi_rank:
                return (lo + days) / 2
        return None  # pragma: no cover

    def to_json(self) -> dict:
        return {"mean": self.mean, "median": self.median, "n": self.n}


def ratio(num: float, den: float) -> float | None:
    return round(num / den, 6) if den else None


def first_entry(state: Any) -> dt.date | None:
    """The deal's first known stage entry (its creation date if earlier)."""
    dates = list(state.stage_entries.values())
    if state.created is not None:
        dates.append(state.created)
    return min(dates) if dates else None


def stays(state: Any, workflow: Workflow, now: dt.date) -> Iterable[tuple[str, int]]:
    """(stage, days) the deal spent in each non-terminal stage it reached: until it
    entered the next stage it reached, or closed there, or until today when still there.
    Stays with inconsistent dates (negative) are left out."""
    entries = state.stage_entries
    order = [s.id for s in workflow.stages if s.id in entries]
    for i, stage_id in enumerate(order):
        if workflow.stage_by_id[stage_id].terminal:
            continue
        if i + 1 < len(order):
            end = entries[order[i + 1]]
        elif state.outcome == "lost" and state.closed_at is not None:
            end = state.closed_at
        elif state.outcome == "open":
            end = now
        else:
            continue
        days = (end - entries[stage_id]).days
        if days >= 0:
            yield stage_id, days


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


def bottleneck(wf: Workflow, conversion: ConversionAcc, time: TimeInStageAcc) -> tuple[Any, dict]:
    figures = []
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
    waits = [f for f in figures if f["wait_ratio"] is not None]
    slow = max(waits, key=lambda f: f["wait_ratio"]) if waits else None
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

# The built-ins every `metrics` output has, in this order (SPEC section 3 names the first six).
BUILTINS: tuple[dict, ...] = (
    {"id": "win_rate", "kind": "win_rate"},
    {"id": "won_amount", "kind": "won_amount"},
    {"id": "open_count", "kind": "open_count"},
    {"id": "weighted_pipeline", "kind": "weighted_pipeline"},
    {"id": "sales_cycle_days", "kind": "sales_cycle"},
    {"id": "lost_cycle_days", "kind": "sales_cycle", "outcome": "lost"},
    {"id": "conversion", "kind": "conversion"},
    {"id": "count", "kind": "count"},
    {"id": "open_amount", "kind": "sum", "field": "amount", "outcome": "open"},
    {"id": "time_in_stage", "kind": "time_in_stage"},
    {"id": "stuck", "kind": "stuck"},
    {"id": "rotting", "kind": "rotting"},
    {"id": "bottleneck", "kind": "bottleneck"},
    {"id": "velocity", "kind": "velocity"},
    {"id": "backlog_ratio", "kind": "backlog_ratio"},
    {"id": "quota", "kind": "quota"},
)


def _selected(state: Any, config: dict) -> bool:
    return ((config.get("stage") is None or state.stage == config["stage"])
            and (config.get("outcome") is None or state.outcome == config["outcome"]))


_ATTRS = ("id", "owner", "stage", "outcome", "forecast_category", "amount", "probability")


def field_value(state: Any, path: str) -> Any:
    """A deal field by dotted path; state attributes (owner, stage, outcome, …) first."""
    if path in _ATTRS:
        return getattr(state, path)
    value: Any = state.deal
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def group_key(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------------
# declared metrics: where, group_by, target
# ---------------------------------------------------------------------------------

def parse_target(text: str | None) -> tuple[str, float] | None:
    if text is None:
        return None
    match = _TARGET.match(str(text))
    if not match:
        raise ValueError(f"bad target {text!r}: write an operator and a number, e.g. '>= 0.3'")
    return match.group(1), float(match.group(2))


def scalar(value: Any) -> float | None:
    """The number a target is checked against: the value, or its median."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict) and isinstance(value.get("median"), (int, float)):
        return float(value["median"])
    return None


def on_target(value: Any, target: tuple[str, float] | None) -> bool | None:
    number = scalar(value)
    if target is None or number is None:
        return None
    return _OPS[target[0]](number, target[1])


class Metric:
    """One metric: its accumulator(s), the `where` filter and the `group_by` split."""

    def __init__(self, config: dict, workflow: Workflow, now: dt.date, make: Callable[[], Any], definition: str = ""):
        self.config, self.make, self.definition = config, make, definition
        self.overall = make()
        self.groups: dict[str, Any] = {}
        self.where = ExpressionBatch([config["where"]]) if config.get("where") else None
        self.where_errors = 0
        self.group_by = config.get("group_by")
        self.now_iso = now.isoformat()

    def add(self, state: Any) -> None:
        if self.where is not None:
            outcome = self.where.evaluate({"deal": state.deal, "now": self.now_iso, "stage": state.stage,
                                           "days_in_stage": state.days_in_stage})[0]
            if outcome.error:
                self.where_errors += 1
            if not outcome.value:
                return
        self.overall.add(state)
        if self.group_by:
            key = group_key(field_value(state, self.group_by))
            acc = self.groups.get(key)
            if acc is None:
                acc = self.groups[key] = self.make()
            acc.add(state)

    def result(self) -> dict:
        value, extra = self.overall.result()
        out = {"id": self.config["id"], "kind": self.config["kind"], "value": value, **extra}
        if self.definition:
            out["definition"] = self.definition
        for key in ("title", "where", "from", "to", "stage"):
            if self.config.get(key) is not None:
                out.setdefault(key, self.config[key])
        if self.where_errors:
            out["where_errors"] = self.where_errors  # deals the filter could not judge (left out)
        target = parse_target(self.config.get("target"))
        if self.config.get("target") is not None:
            out["target"] = self.config["target"]
            out["ok"] = on_target(value, target)
        if self.group_by:
            out["group_by"] = self.group_by
            out["groups"] = {k: self.groups[k].result()[0] for k in sorted(self.groups)}
            if target is not None:
                out["groups_off_target"] = [k for k, v in out["groups"].items() if on_target(v, target) is False]
        return out


def _accumulators(kind: MetricKind | None, name: Any, config: dict, workflow: Workflow,
                  now: dt.date) -> Callable[[], Any]:
    if kind is None:
        return lambda: _Failed(f"unknown metric kind '{name}'")
    return lambda: _Guarded(kind, config, workflow, now)


class _Guarded:
    """A registered kind's accumulator: whatever it raises fails this metric alone, naming the kind."""

    def __init__(self, kind: MetricKind, config: dict, workflow: Workflow, now: dt.date):
        self.kind = kind
        self.error: str | None = None
        try:
            self.acc = kind.make(config, workflow, now)
        except Exception as exc:
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        self.error = f"metric kind {self.kind.name} failed: {type(exc).__name__}: {exc}"

    def add(self, state: Any) -> None:
        if self.error is None:
            try:
                self.acc.add(state)
            except Exception as exc:  # a broken plugin is named, never takes the command down
                self._fail(exc)

    def result(self) -> tuple[Any, dict]:
        if self.error is None:
            try:
                return self.acc.result()
            except Exception as exc:
                self._fail(exc)
        return None, {"error": self.error}


class _Failed:
    def __init__(self, error: str):
        self.error = error

    def add(self, state: Any) -> None:
        pass

    def result(self) -> tuple[Any, dict]:
        return None, {"error": self.error}


def metric_configs(workflow: Workflow) -> list[dict]:
    """The built-ins, then the workflow's declared metrics (a declared id replaces a built-in)."""
    declared = {m["id"]: m for m in workflow.metrics}
    out = [declared.pop(b["id"], b) for b in BUILTINS]
    return out + [m for m in workflow.metrics if m["id"] in declared]


class MetricSet:
    """Every metric of a workflow, fed one deal state at a time: for loops that are not
    a plain stream (such as `run`'s); `compute_metrics` is this over an iterable."""

    def __init__(self, workflow: Workflow, now: dt.date, plugins: Any = None, configs: list[dict] | None = None):
        if plugins is None:  # used as a library: the installed kinds, as a command would have them
            from .plugin_manager import Plugins
            plugins = Plugins()
        kinds: dict[str, MetricKind] = plugins.metric_kinds()
        self.metrics = []
        for c in (configs if configs is not None else metric_configs(workflow)):
            kind = kinds.get(c.get("kind"))  # type: ignore[arg-type]
            self.metrics.append(Metric(c, workflow, now, _accumulators(kind, c.get("kind"), c, workflow, now),
                                       kind.description if kind else ""))

    def add(self, state: Any) -> None:
        for metric in self.metrics:
            metric.add(state)

    def results(self) -> list[dict]:
        return [m.result() for m in self.metrics]


def compute_metrics(workflow: Workflow, states: Iterable[Any], now: dt.date, plugins: Any = None,
                    configs: list[dict] | None = None) -> list[dict]:
    """Every metric (built-ins and declared) over a stream of deal states, aggregated as
    they come: no state is kept."""
    metrics = MetricSet(workflow, now, plugins, configs)
    for state in states:
        metrics.add(state)
    return metrics.results()


def alert_configs(workflow: Workflow) -> list[dict]:
    """The declared metrics that have a target: what `run` watches."""
    return [m for m in workflow.metrics if m.get("target") is not None]


def metric_alerts(results: list[dict], now: dt.date) -> list[Event]:
    """A `metric_alert` event for each metric off its target (and each group off it)."""
    events = []
    for r in results:
        if r.get("target") is None:
            continue
        data = {"metric": r["id"], "value": r["value"], "target": r["target"]}
        if r.get("ok") is False:
            events.append(Event(f"metric_alert:{r['id']}:{now.isoformat()}", "metric_alert", None, None, now, data))  # type: ignore[arg-type]
        for group in r.get("groups_off_target") or []:
            events.append(Event(f"metric_alert:{r['id']}[{group}]:{now.isoformat()}", "metric_alert", None, None, now,  # type: ignore[arg-type]
                                {**data, "value": r["groups"][group], "group_by": r["group_by"], "group": group}))
    return events
