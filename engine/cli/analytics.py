"""`flowctl metrics`, `backlog` and `import`, and the deal stream that the look commands
share (`forecast` is flowctl.cli.forecast, `report` flowctl.cli.report).

Deals are streamed: metrics and backlog aggregate as states come. Definitions live in
flowctl.metric_definitions and flowctl.backlog, not here.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
from typing import Any, Iterator

import click

from ..backlog import BacklogAcc, backlog_report, parse_rate
from ..compiled import CompiledWorkflow
from ..deals import find_files
from ..diagnostics import Diagnostic
from ..summary import claim_text
from ..metrics import compute_metrics
from ..pipeline import evaluate_all
from .common import workflow_option
from .common import (EXIT_ERRORS, EXIT_OK, Context, as_of_option, default_deals, echo_result, format_option,
                     handle_errors, load_workflow_or_fail, now_option, pass_context, progress,
                     resolve_workflow_path, today)


def deals_argument(fn: Any) -> Any:
    return click.argument("deals", nargs=-1, type=click.Path())(fn)


MAX_PROBLEMS = 200  # rows of the report's list of problems (the command lists them all)


class Stream:
    """Deal states from files, one at a time; deals with errors are kept aside."""

    def __init__(self, ctx: Context, workflow_path: str | None, deals: tuple[str, ...], now: dt.datetime | None,
                 as_of: dt.datetime | None):
        self.workflow_path = resolve_workflow_path(workflow_path)
        self.workflow = load_workflow_or_fail(ctx, self.workflow_path)
        self.cw = CompiledWorkflow(self.workflow)
        self.files = list(find_files(list(deals) or default_deals(self.workflow_path)))
        self.today = today(now)
        self.when = as_of.date() if as_of is not None else None
        self.day = self.when or self.today  # the date the figures are as of
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []  # what the workflow does not know: the deals are still counted
        self.claims: list[tuple[str, str]] = []  # (deal, an unsupported `stage:` claim)
        self.count = 0
        self.left_out: list[str] = []  # deals with no dated fact by --as-of: they did not exist yet

    def items(self) -> Iterator[Any]:
        with progress(evaluate_all(self.cw, self.files, self.today, when=self.when, left_out=self.left_out), len(self.files), "deals") as bar:
            for item in bar:
                if item.state is None:
                    self.errors.extend(d for d in item.diagnostics if d.severity == "error")
                    continue
                self.count += 1
                if item.diagnostics and len(self.warnings) < MAX_PROBLEMS:
                    self.warnings.extend(d for d in item.diagnostics if d.severity == "warning")
                claim = claim_text(item.state.claim)
                if claim and len(self.claims) < MAX_PROBLEMS:
                    self.claims.append((item.state.id, claim))
                yield item

    def problems(self) -> list[dict]:
        """The report's list of problems: deals left out, warnings, unsupported claims (the first few)."""
        out = [{"severity": d.severity, "where": d.file + (f":{d.line}" if d.line else ""), "message": d.message}
               for d in (self.errors + self.warnings)[:MAX_PROBLEMS]]
        return out + [{"severity": "claim", "where": deal, "message": text} for deal, text in self.claims]

    def states(self) -> Iterator[Any]:
        return (item.state for item in self.items())

    def finish(self, fmt: str) -> None:
        """Report the skipped deals (on stderr; in the JSON too) and exit 1 when there were any."""
        for d in self.errors:
            click.echo(d.format(), err=True)
        if self.errors:
            click.echo(f"{len(self.errors)} problem(s): those deals were skipped", err=True)
        sys.exit(EXIT_ERRORS if self.errors else EXIT_OK)

    def left_out_note(self) -> str:
        n = len(self.left_out)
        return f" ({n} deal(s) left out: no dated fact on or before {self.day.isoformat()})" if n else ""

    def header(self) -> dict:
        return {"workflow": self.workflow.name, "now": self.today.isoformat(),
                "as_of": self.when.isoformat() if self.when else None, "deals": self.count,
                "left_out": len(self.left_out),
                "currency": self.workflow.currency, "errors": [d.to_json() for d in self.errors]}


# ---------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------

@click.command()
@deals_argument
@workflow_option
@now_option
@as_of_option
@format_option
@pass_context
@handle_errors
def metrics(ctx: Context, deals: tuple[str, ...], workflow_path: str | None, now: dt.datetime | None,
            as_of: dt.datetime | None, fmt: str) -> None:
    """Pipeline metrics: win rate, conversion, sales cycle, time in stage, weighted
    pipeline, stuck and rotting deals, bottleneck, backlog ratio, quotas, and the
    workflow's declared `metrics:` (with where, group_by and target)."""
    stream = Stream(ctx, workflow_path, deals, now, as_of)
    results = compute_metrics(stream.workflow, stream.states(), stream.day, ctx.plugins)
    if fmt == "json":
        echo_result({**stream.header(), "metrics": results})
    else:
        click.echo(f"{stream.workflow.name}: {stream.count} deal(s), as of {stream.day.isoformat()}{stream.left_out_note()}")
        for line in format_metrics(results, stream.workflow):
            click.echo(line)
    stream.finish(fmt)


def pct(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def num(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{value:,.0f}" if isinstance(value, (int, float)) else str(value)


def days(value: Any) -> str:
    return "n/a" if value is None else f"{value:g} d"


def format_metrics(results: list[dict], workflow: Any) -> list[str]:
    cur = workflow.currency
    out: list[str] = []
    for r in results:
        kind, v = r["kind"], r["value"]
        head = f"{r['id']}"
        if kind == "win_rate" and "won" in r:
            out.append(f"{head}: {pct(v)}  = won {r['won']} / (won {r['won']} + lost {r['lost']}); "
                       f"open deals are not in it ({r['open_excluded']} open)")
        elif kind == "won_amount":
            out.append(f"{head}: {num(v)} {cur} ({r.get('won', 0)} won deal(s))")
        elif kind == "sales_cycle" and isinstance(v, dict):
            out.append(f"{head}: mean {days(v['mean'])}, median {days(v['median'])} over {r['deals']} "
                       f"{r['outcome']} deal(s) (first known stage entry to closed_at)")
        elif kind == "conversion" and isinstance(v, dict):
            out.append(f"{head} (deals that reached B / deals that reached A):")
            out += [f"  {pair:30} {pct(rate)}" for pair, rate in v.items()]
        elif kind == "conversion":
            out.append(f"{head}: {pct(v)}  ({r.get('from')} -> {r.get('to')}: reached B / reached A)")
        elif kind == "weighted_pipeline":
            out.append(f"{head}: {num(v)} {cur} (sum over open deals of amount x probability)")
            out += [f"  {s:20} {row['count']:6} deal(s)  {num(row['amount']):>14}  weighted {num(row['weighted'])}"
                    for s, row in (r.get("by_stage") or {}).items()]
        elif kind == "time_in_stage" and isinstance(v, dict):
            out.append(f"{head} (days per stay):")
            out += [f"  {s:20} mean {days(d['mean']):>9}  median {days(d['median']):>9}  n {d['n']}"
                    for s, d in v.items()]
        elif kind in ("stuck", "rotting") and "deals" in r:
            ids = ", ".join(f"{d['id']} ({d['stage']}, {d['days_in_stage']} d)" for d in r["deals"][:5])
            out.append(f"{head}: {v} open deal(s), {num(r['amount'])} {cur}" + (f"; longest: {ids}" if ids else ""))
        elif kind == "bottleneck":
            out.append(f"{head}: {v or 'n/a'}" + (f" — {r['reason']}" if v else ""))
            for f in r.get("stages") or []:
                wait = f"median {days(f['median_days'])} / max_days {f['max_days']}" if f["max_days"] else f"median {days(f['median_days'])}"
                out.append(f"  {f['stage']:20} -> {f['next']:12} conversion {pct(f['conversion'])}  {wait}  score {f['score']}")
        elif kind == "backlog_ratio":
            out.append(f"{head}: {pct(v)} (backlog {num(r.get('backlog_amount'))} / total sales {num(r.get('total_sales'))} {cur})")
        elif kind == "quota" and isinstance(v, dict):
            if not v:
                out.append(f"{head}: no quotas declared")
                continue
            out.append(f"{head} (quarter from {r['quarter_start']}: won / quota = attainment; open pipeline / quota left = coverage):")
            out += [f"  {o:28} quota {num(q['quota']):>10}  won {num(q['won']):>10}  attainment {pct(q['attainment']):>7}"
                    f"  pipeline {num(q['pipeline']):>10}  coverage {num(q['coverage'])}" for o, q in v.items()]
        elif kind == "velocity":
            out.append(f"{head}: {num(v)} {cur}/day (open x win rate x mean won amount / mean cycle)")
        elif kind == "count" and "by_outcome" in r and r["id"] == "count":
            b = r["by_outcome"]
            out.append(f"{head}: {v} deal(s): {b['open']} open, {b['won']} won, {b['lost']} lost")
        else:
            out.append(f"{head} ({kind}): {_fmt_value(v)}")
        if r.get("target") is not None:
            state = {True: "ok", False: "OFF TARGET", None: "n/a"}[r.get("ok")]
            out[-1] += f"  [target {r['target']}: {state}]"
        if r.get("groups"):
            off = set(r.get("groups_off_target") or [])
            out += [f"  {r['group_by']}={k}: {_fmt_value(g)}" + ("  OFF TARGET" if k in off else "")
                    for k, g in r["groups"].items()]
        if r.get("error"):
            out[-1] += f"  (error: {r['error']})"
    return out


def _fmt_value(v: Any) -> str:
    if isinstance(v, float) and 0 < abs(v) <= 1:
        return f"{v:.4g}"
    if isinstance(v, (int, float)):
        return num(v)
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_fmt_value(x)}" for k, x in v.items())
    return "n/a" if v is None else str(v)


# ---------------------------------------------------------------------------------
# backlog
# ---------------------------------------------------------------------------------

def _rate(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_rate(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc))


@click.command()
@deals_argument
@workflow_option
@click.option("--capacity", callback=_rate, metavar="N/week", help="What can be delivered per week (amount, or orders with --unit orders).")
@click.option("--weeks", type=click.IntRange(1, 520), default=12, show_default=True, help="Weeks to project.")
@click.option("--intake-weeks", type=click.IntRange(1, 520), default=8, show_default=True,
              help="Weekly intake = mean of the orders placed over this many recent weeks.")
@click.option("--intake", callback=_rate, metavar="N/week", help="Use this weekly intake instead of the measured one (what if).")
@click.option("--unit", type=click.Choice(["amount", "orders"]), default="amount", show_default=True,
              help="Project amounts, or numbers of orders.")
@now_option
@as_of_option
@format_option
@pass_context
@handle_errors
def backlog(ctx: Context, deals: tuple[str, ...], workflow_path: str | None, capacity: float | None, weeks: int,
            intake_weeks: int, intake: float | None, unit: str, now: dt.datetime | None, as_of: dt.datetime | None,
            fmt: str) -> None:
    """Backlog (won orders not completed), backlog ratio (backlog / total sales) and the
    week-by-week projection of the backlog from recent intake against --capacity."""
    stream = Stream(ctx, workflow_path, deals, now, as_of)
    acc = BacklogAcc(stream.day, intake_weeks)
    for state in stream.states():
        acc.add(state)
    report = backlog_report(acc, capacity or 0.0, weeks if capacity is not None else 0, unit, intake)
    if capacity is None:
        report["capacity_per_week"] = None
        report["note"] = "no --capacity given: no projection"
    if fmt == "json":
        echo_result({**stream.header(), **report})
    else:
        click.echo("\n".join(format_backlog(report, stream.workflow.currency)))
    stream.finish(fmt)


def format_backlog(r: dict, currency: str) -> list[str]:
    unit = "order(s)" if r["unit"] == "orders" else currency
    out = [f"backlog: {num(r['backlog_amount'])} {currency} in {r['open_orders']} open order(s); "
           f"total sales {num(r['total_sales'])} {currency}; ratio {pct(r['ratio'])}",
           f"  {r['definition']}",
           f"  intake: {num(r['intake_used'])} {unit}/week ({r['intake_source']})"]
    if r.get("capacity_per_week") is None:
        out.append("  no --capacity given: no projection")
        return out
    change = r["weekly_change"]
    trend = (f"grows by {num(change)} a week" if change > 0 else f"shrinks by {num(-change)} a week (never below 0)"
             if change < 0 else "holds: intake and capacity are equal")
    out.append(f"  capacity {num(r['capacity_per_week'])} {unit}/week: the backlog {trend}")
    out += [f"  week {p['week']:3}  {p['date']}  {num(p['backlog'])}" for p in r["projection"]]
    return out


# ---------------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------------

@click.command("import")
@click.argument("csv_file", metavar="FILE.csv", type=click.Path())
@click.option("--map", "map_path", required=True, type=click.Path(dir_okay=False), help="Import map (YAML).")
@click.option("-o", "--out", "out_dir", default="deals", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the deal files (one per row).")
@click.option("-w", "--workflow", "workflow_path", type=click.Path(dir_okay=False),
              help="Workflow whose stages and `fields:` the map may name (default: workflow.yaml here, if any).")
@click.option("--force", is_flag=True, help="Overwrite existing deal files.")
@format_option
@pass_context
@handle_errors
def import_(ctx: Context, csv_file: str, map_path: str, out_dir: str, workflow_path: str | None, force: bool,
            fmt: str) -> None:
    """Deal files from a CRM export: one YAML file per CSV row, as the map says."""
    from ..import_map import load_map
    from ..importer import import_csv
    workflow = None
    if workflow_path is not None or os.path.isfile("workflow.yaml"):
        workflow = load_workflow_or_fail(ctx, resolve_workflow_path(workflow_path))
    mapping = load_map(map_path, workflow)
    result = import_csv(csv_file, mapping, out_dir, force, lambda rows, n: progress(rows, n, "rows"))
    diagnostics = mapping.warnings + result.diagnostics
    if fmt == "json":
        echo_result({"imported": result.written, "skipped": result.skipped, "out": out_dir,
                     "diagnostics": [d.to_json() for d in diagnostics]})
    else:
        for d in diagnostics:
            click.echo(d.format(), err=True)
        click.echo(f"imported {result.written} deal(s) into {out_dir}" + (f"; {result.skipped} row(s) skipped" if result.skipped else ""))
    sys.exit(EXIT_ERRORS if result.skipped else EXIT_OK)


COMMANDS = (metrics, backlog, import_)
