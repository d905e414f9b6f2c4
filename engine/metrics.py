"""Pipeline metrics (SPEC sections 1 and 5), used by `metrics`, `report`, `run` (alerts)
and the forecasts alike: the machinery that runs every metric over a stream of deal
states (built-ins and declared ones: where, group_by, target, alerts).

Each kind's definition is an accumulator registered through `flowctl_metric_kinds`
(the built-ins are flowctl.metric_definitions'); no state is kept.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import operator
import re
from typing import Any, Callable, Iterable

from .expressions import ExpressionBatch
from .hooktypes import MetricKind
from .model import Workflow
from .slim_state import SlimState, slim  # noqa: F401  (importable from here, as forecasts do)
from .store import Event

_TARGET = re.compile(r"^\s*(>=|<=|>|<|==|!=)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq, "!=": operator.ne}


# ---------------------------------------------------------------------------------
# shared by the definitions and the forecasts
# ---------------------------------------------------------------------------------

def ratio(num: float, den: float) -> float | None:
    return round(num / den, 6) if den else None


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
            events.append(Event(f"metric_alert:{r['id']}:{now.isoformat()}", "metric_alert", None, None, now, data))
        for group in r.get("groups_off_target") or []:
            events.append(Event(f"metric_alert:{r['id']}[{group}]:{now.isoformat()}", "metric_alert", None, None, now,
                                {**data, "value": r["groups"][group], "group_by": r["group_by"], "group": group}))
    return events
