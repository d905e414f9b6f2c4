"""The context of `flowctl report` and `flowctl propose`: what their templates receive.

A report is built from a stream of deal states, aggregated as they come (SPEC section
5's definitions, through flowctl.metrics, flowctl.forecasting and flowctl.backlog): its
size does not grow with the number of deals. Only aggregates, the top N deals and
short lists (stuck, rotting, owners, months) reach the template, never every deal.
Charts are laid out in flowctl.report_charts (scales, ticks, fractions of the plot) and
drawn as inline SVG by the templates, so a company's template can restyle them.
The forecast section is flowctl.report_forecast's; template plumbing and a proposal's
context are flowctl.report_templates'.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import math
from typing import Any

from .backlog import BacklogAcc, backlog_report
from .catalogs import Catalogs
from .durations import parse_date
from .forecasting import Z90, slim_for_forecast
from .metric_definitions import quarter_start
from .metrics import BUILTINS, MetricSet, metric_alerts
from .model import Workflow
from .report_charts import Fmt, charts, kpis
from .report_forecast import forecast_section

DEFAULT_TOP = 10
DEFAULT_HORIZON = 90
DEFAULT_WEEKS = 12
INTAKE_WEEKS = 8  # intake and measured capacity: mean over this many recent weeks
MAX_OWNERS = 40  # owners shown in the quota section (the rest are counted)
MAX_ALERTS = 50
RATE_KINDS = {"win_rate", "conversion", "backlog_ratio"}


# ---------------------------------------------------------------------------------
# small accumulators
# ---------------------------------------------------------------------------------

class TopK:
    """The k items with the largest keys, keeping a record only for those."""

    def __init__(self, k: int):
        self.k = k
        self.heap: list[tuple[Any, str, dict]] = []

    def wants(self, key: Any) -> bool:
        return self.k > 0 and (len(self.heap) < self.k or key > self.heap[0][0])

    def push(self, key: Any, deal_id: str, record: dict) -> None:
        item = (key, deal_id, record)
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, item)
        elif (key, deal_id) > self.heap[0][:2]:
            heapq.heapreplace(self.heap, item)

    def items(self) -> list[dict]:
        return [r for _, _, r in sorted(self.heap, key=lambda i: (_neg(i[0]), i[1]))]


def _neg(key: Any) -> Any:
    return tuple(-k for k in key) if isinstance(key, tuple) else -key


@dataclasses.dataclass
class OwnerRow:
    won: float = 0.0  # won this quarter
    expected: float = 0.0  # sum amount x p of open deals expected by the quarter's end
    variance: float = 0.0
    cap: float = 0.0
    deals: int = 0
    stuck: int = 0
    rotting: int = 0


def _deal_record(state: Any, workflow: Workflow) -> dict:
    deal = state.deal
    stage = workflow.stage_by_id.get(state.stage)
    return {"id": state.id, "name": _text(deal.get("name")), "account": _text(deal.get("account")),
            "owner": state.owner, "stage": state.stage, "amount": state.amount,
            "currency": _text(deal.get("currency")) or workflow.currency, "probability": state.probability,
            "weighted": round(state.weighted_amount, 2),
            "expected_close": state.expected_close.isoformat() if state.expected_close else None,
            "days_in_stage": state.days_in_stage, "max_days": stage.max_days if stage else None,
            "rot_days": stage.rot_days if stage else None,
            "last_touched": state.last_touched.isoformat() if getattr(state, "last_touched", None) else None,
            "stuck": state.stuck, "rotting": state.rotting}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------

class ReportBuilder:
    """Feed it deal states one at a time (`add`), then `build()` the template context."""

    def __init__(self, workflow: Workflow, day: dt.date, plugins: Any = None, top: int = DEFAULT_TOP):
        self.wf, self.day, self.plugins, self.top_n = workflow, day, plugins, top
        self.builtins = MetricSet(workflow, day, plugins, [dict(c) for c in BUILTINS])
        self.declared = MetricSet(workflow, day, plugins, list(workflow.metrics)) if workflow.metrics else None
        self.backlog = BacklogAcc(day, INTAKE_WEEKS)
        self.completed = 0.0  # amount of orders completed within the intake weeks (measured capacity)
        self.outcomes = {k: [0, 0.0] for k in ("open", "won", "lost")}
        self.top = TopK(top)
        self.stuck = TopK(top)
        self.rotting = TopK(top)
        self.quarter = quarter_start(day)
        self.quarter_end = _quarter_end(self.quarter)
        self.owners: dict[str, OwnerRow] = {}
        self.slim: list = []  # one slim state per deal, for the forecast methods
        self.count = 0

    def add(self, state: Any) -> None:
        self.count += 1
        self.builtins.add(state)
        if self.declared is not None:
            self.declared.add(state)
        self.backlog.add(state)
        self.slim.append(slim_for_forecast(state))
        row = self.outcomes.get(state.outcome)
        if row is not None:
            row[0] += 1
            row[1] += state.amount
        owner = self.owners.setdefault(state.owner or "(none)", OwnerRow())
        if state.outcome == "won":
            self._orders(state)
            if state.closed_at is not None and self.quarter <= state.closed_at <= self.day:
                owner.won += state.amount
            return
        if state.outcome != "open":
            return
        owner.deals += 1
        if state.expected_close is None or state.expected_close <= self.quarter_end:
            p = state.probability
            owner.expected += state.amount * p
            owner.variance += state.amount * state.amount * p * (1 - p)
            if p > 0:
                owner.cap += state.amount
        if self.top.wants((state.amount,)):
            self.top.push((state.amount,), state.id, _deal_record(state, self.wf))
        stage = self.wf.stage_by_id.get(state.stage)
        if state.stuck:
            owner.stuck += 1
            over = state.days_in_stage - ((stage.max_days or 0) if stage else 0)
            if self.stuck.wants((over, state.amount)):
                self.stuck.push((over, state.amount), state.id, {**_deal_record(state, self.wf), "over": over})
        if state.rotting:
            owner.rotting += 1
            touched = getattr(state, "last_touched", None)
            idle = (self.day - touched).days if touched else state.days_in_stage
            if self.rotting.wants((idle, state.amount)):
                self.rotting.push((idle, state.amount), state.id, {**_deal_record(state, self.wf), "idle": idle})

    def _orders(self, state: Any) -> None:
        since = self.day - dt.timedelta(weeks=INTAKE_WEEKS)
        for order in state.deal.get("orders") or []:
            if isinstance(order, dict):
                done = parse_date(order.get("completed"))
                if done is not None and since < done <= self.day:
                    try:
                        self.completed += float(order.get("amount") or 0)
                    except (TypeError, ValueError):
                        pass

    # -- the context --

    def build(self, *, locale: str | None = None, methods: dict | None = None, store: Any = None,
              horizon: int = DEFAULT_HORIZON, capacity: float | None = None, weeks: int = DEFAULT_WEEKS,
              trials: int | None = None, meta: dict | None = None, catalogs: Catalogs | None = None) -> dict:
        """The template context, its words from `catalogs` (the templates' own, so that a
        company's catalog serves both)."""
        loc = locale or self.wf.locale or "en"
        words = (catalogs or Catalogs()).words(loc)
        fmt = Fmt(loc, self.wf.currency, words)
        metrics = {r["id"]: r for r in self.builtins.results()}
        declared = self.declared.results() if self.declared is not None else []
        stages = self._stages(metrics, fmt)
        bottleneck = self._bottleneck(metrics, stages, fmt)
        forecast = forecast_section(self.slim, self.wf, self.day, horizon, store, methods or {}, trials, fmt)
        quota = self._quota(metrics, fmt)
        backlog = self._backlog(capacity, weeks, fmt)
        win = metrics["win_rate"]
        cycle, lost_cycle = metrics["sales_cycle_days"], metrics["lost_cycle_days"]
        context = {
            "locale": loc, "language": words.language, "currency": self.wf.currency, "workflow": self.wf,
            "meta": {"workflow": self.wf.name, "day": self.day.isoformat(), "deals": self.count,
                     "quarter_start": self.quarter.isoformat(), "quarter_end": self.quarter_end.isoformat(),
                     "top": self.top_n, "horizon_days": horizon, **(meta or {})},
            "outcomes": {k: {"count": v[0], "amount": round(v[1], 2)} for k, v in self.outcomes.items()},
            "win_rate": {"value": win["value"], "won": win["won"], "lost": win["lost"],
                         "open_excluded": win["open_excluded"]},
            "cycle": {"won": {**cycle["value"], "n": cycle["deals"]},
                      "lost": {**lost_cycle["value"], "n": lost_cycle["deals"]}},
            "weighted_pipeline": metrics["weighted_pipeline"]["value"],
            "stages": stages,
            "bottleneck": bottleneck,
            "forecast": forecast,
            "quota": quota,
            "backlog": backlog,
            "top_deals": self._deals(self.top.items(), fmt),
            "stuck": {"count": metrics["stuck"]["value"], "amount": metrics["stuck"]["amount"],
                      "deals": self._deals(self.stuck.items(), fmt), "owners": self._flag_owners("stuck")},
            "rotting": {"count": metrics["rotting"]["value"], "amount": metrics["rotting"]["amount"],
                        "deals": self._deals(self.rotting.items(), fmt), "owners": self._flag_owners("rotting")},
            "alerts": _alerts(declared, self.day, fmt),
            "declared": [_declared_row(r, fmt) for r in declared],
        }
        context["charts"] = charts(context, fmt)
        context["kpis"] = kpis(context, fmt)
        return context

    def _stages(self, metrics: dict, fmt: Fmt) -> list[dict]:
        by_stage = metrics["weighted_pipeline"].get("by_stage") or {}
        reached = metrics["conversion"].get("reached") or {}
        time = metrics["time_in_stage"]["value"] or {}
        out = []
        stages = self.wf.stages
        for i, s in enumerate(stages):
            row = by_stage.get(s.id) or {}
            nxt = stages[i + 1] if i + 1 < len(stages) else None
            days = time.get(s.id) or {}
            n_reached = reached.get(s.id, 0)
            out.append({
                "id": s.id, "label": s.text(fmt.locale), "terminal": s.terminal, "probability": s.probability,
                "max_days": s.max_days, "rot_days": s.rot_days,
                "open_count": row.get("count", 0), "open_amount": row.get("amount", 0.0),
                "weighted": row.get("weighted", 0.0), "reached": n_reached,
                "next": nxt.id if nxt else None, "next_label": nxt.text(fmt.locale) if nxt else None,
                "conversion": (round(reached.get(nxt.id, 0) / n_reached, 6) if nxt and n_reached else None),
                "median_days": days.get("median"), "mean_days": days.get("mean"), "stays": days.get("n", 0),
                "over": bool(s.max_days and days.get("median") is not None and days["median"] > s.max_days),
            })
        return out

    def _bottleneck(self, metrics: dict, stages: list[dict], fmt: Fmt) -> dict | None:
        b = metrics["bottleneck"]
        if not b.get("value"):
            return None
        figures = next((f for f in b["stages"] if f["stage"] == b["value"]), None)
        if figures is None:
            return None
        label = {s["id"]: s["label"] for s in stages}
        text = fmt._("%(lost)s of the deals that reached %(stage)s did not reach %(next)s.",
                     lost=fmt.pct(1 - figures["conversion"], 0), stage=label[figures["stage"]],
                     next=label[figures["next"]])
        median = fmt.num(figures["median_days"], 1)
        if figures["median_days"] is not None and figures["max_days"]:
            text += " " + fmt._("They stay a median of %(median)s days there, against a limit of %(max)s days.",
                                median=median, max=figures["max_days"])
        elif figures["median_days"] is not None:
            text += " " + fmt._("They stay a median of %(median)s days there (no limit set).", median=median)
        return {**figures, "label": label[figures["stage"]], "next_label": label[figures["next"]], "text": text,
                "lost_share": round(1 - figures["conversion"], 6),
                "others": [{**f, "label": label[f["stage"]], "next_label": label[f["next"]]} for f in b["stages"]]}

    def _quota(self, metrics: dict, fmt: Fmt) -> dict:
        rows = []
        quota = metrics["quota"]["value"] or {}
        for owner, q in quota.items():
            mine = self.owners.get(owner) or OwnerRow()
            sd = math.sqrt(mine.variance)
            p10 = max(0.0, mine.expected - Z90 * sd)
            p90 = min(mine.cap, mine.expected + Z90 * sd)
            projected = q["won"] + mine.expected
            rows.append({"owner": owner, "quota": q["quota"], "won": q["won"], "pipeline": q["pipeline"],
                         "forecast": round(mine.expected, 2), "forecast_p10": round(p10, 2),
                         "forecast_p90": round(p90, 2), "projected": round(projected, 2),
                         "attainment": q["attainment"], "coverage": q["coverage"],
                         "projected_attainment": round(projected / q["quota"], 6) if q["quota"] else None,
                         "projected_p10": round((q["won"] + p10) / q["quota"], 6) if q["quota"] else None,
                         "projected_p90": round((q["won"] + p90) / q["quota"], 6) if q["quota"] else None})
        rows.sort(key=lambda r: (-(r["projected_attainment"] or 0), r["owner"]))
        return {"quarter_start": self.quarter.isoformat(), "quarter_end": self.quarter_end.isoformat(),
                "owners": rows[:MAX_OWNERS], "more": max(0, len(rows) - MAX_OWNERS), "declared": bool(self.wf.quotas),
                "total": {k: round(sum(r[k] for r in rows), 2) for k in ("quota", "won", "forecast", "projected")}}

    def _backlog(self, capacity: float | None, weeks: int, fmt: Fmt) -> dict:
        measured = round(self.completed / INTAKE_WEEKS, 2)
        cap = capacity if capacity is not None else measured
        report = backlog_report(self.backlog, cap, weeks)
        report["capacity_source"] = "given" if capacity is not None else "measured"
        cleared = next((p["week"] for p in report["projection"] if p["week"] and p["backlog"] <= 0), None)
        report["cleared_week"] = cleared if report["backlog_amount"] > 0 else None
        report["empty"] = not report["backlog_amount"] and not report["intake_used"]
        return report

    def _deals(self, rows: list[dict], fmt: Fmt) -> list[dict]:
        for r in rows:
            stage = self.wf.stage_by_id.get(r["stage"])
            r["stage_label"] = stage.text(fmt.locale) if stage else r["stage"]
        return rows

    def _flag_owners(self, flag: str) -> list[dict]:
        counts = [(getattr(o, flag), name) for name, o in self.owners.items() if getattr(o, flag)]
        counts.sort(key=lambda c: (-c[0], c[1]))
        return [{"owner": name, "count": n, "open": self.owners[name].deals} for n, name in counts[:self.top_n]]


def _quarter_end(start: dt.date) -> dt.date:
    month = start.month + 3
    year = start.year + (month > 12)
    month = month - 12 if month > 12 else month
    return dt.date(year, month, 1) - dt.timedelta(days=1)


# ---------------------------------------------------------------------------------
# alerts and declared metrics
# ---------------------------------------------------------------------------------

def _metric_value(value: Any, kind: str, fmt: Fmt, digits: int = 1) -> str:
    if isinstance(value, dict):
        if "median" in value:
            return fmt.days(value.get("median"))
        return fmt._("n/a")
    if value is None:
        return fmt._("n/a")
    if isinstance(value, bool):
        return str(value)
    if kind in RATE_KINDS:
        return fmt.pct(value, digits)
    if kind in ("sum", "won_amount", "weighted_pipeline", "velocity"):
        return fmt.money(value)
    if isinstance(value, (int, float)):
        return fmt.num(value, 2)
    return str(value)


def _alerts(declared: list[dict], day: dt.date, fmt: Fmt) -> dict:
    kinds = {r["id"]: r for r in declared}
    rows = []
    for event in metric_alerts(declared, day):
        d = event.data
        r = kinds.get(d["metric"], {})
        rows.append({"metric": d["metric"], "title": r.get("title") or d["metric"], "kind": r.get("kind"),
                     "value": _metric_value(d["value"], r.get("kind", ""), fmt, 2), "target": d["target"],
                     "group_by": d.get("group_by"), "group": d.get("group")})
    return {"rows": rows[:MAX_ALERTS], "more": max(0, len(rows) - MAX_ALERTS), "count": len(rows),
            "targets": sum(1 for r in declared if r.get("target") is not None)}


def _declared_row(r: dict, fmt: Fmt) -> dict:
    groups = r.get("groups") or {}
    return {"id": r["id"], "title": r.get("title") or r["id"], "kind": r["kind"],
            "value": _metric_value(r["value"], r["kind"], fmt), "target": r.get("target"), "ok": r.get("ok"),
            "group_by": r.get("group_by"), "groups": len(groups),
            "groups_off_target": len(r.get("groups_off_target") or []), "error": r.get("error")}
