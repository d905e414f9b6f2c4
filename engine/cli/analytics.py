"""`flowctl metrics`, `forecast`, `backlog` and `import`: the analytics commands.

Deals are streamed: metrics and backlog aggregate as states come; forecasts keep a slim
state per deal. Definitions live in flowctl.metrics / forecasting / backlog, not here.
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
from ..durations import parse_duration
from ..summary import claim_text
from ..backtest import backtest, parse_every, schedule
from ..forecasting import ForecastFailed, run_method, slim_for_forecast
from ..hooktypes import ForecastInput
from ..metrics import compute_metrics
from ..pipeline import evaluate_all
from .common import workflow_option
from .common import (EXIT_ERRORS, EXIT_OK, Context, as_of_option, default_deals, echo_json, optional_store,
                     format_option, handle_errors, load_workflow_or_fail, now_option, pass_context, progress,
                     resolve_workflow_path, store_option, today, warn)


CHOICE_ORIGINS = 6  # the default method is chosen by a backtest at this many monthly dates before the date


def _deals_argument(fn: Any) -> Any:
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
@_deals_argument
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
        echo_json({**stream.header(), "metrics": results})
    else:
        click.echo(f"{stream.workflow.name}: {stream.count} deal(s), as of {stream.day.isoformat()}{stream.left_out_note()}")
        for line in format_metrics(results, stream.workflow):
            click.echo(line)
    stream.finish(fmt)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _num(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{value:,.0f}" if isinstance(value, (int, float)) else str(value)


def _days(value: Any) -> str:
    return "n/a" if value is None else f"{value:g} d"


def format_metrics(results: list[dict], workflow: Any) -> list[str]:
    cur = workflow.currency
    out: list[str] = []
    for r in results:
        kind, v = r["kind"], r["value"]
        head = f"{r['id']}"
        if kind == "win_rate" and "won" in r:
            out.append(f"{head}: {_pct(v)}  = won {r['won']} / (won {r['won']} + lost {r['lost']}); "
                       f"open deals are not in it ({r['open_excluded']} open)")
        elif kind == "won_amount":
            out.append(f"{head}: {_num(v)} {cur} ({r.get('won', 0)} won deal(s))")
        elif kind == "sales_cycle" and isinstance(v, dict):
            out.append(f"{head}: mean {_days(v['mean'])}, median {_days(v['median'])} over {r['deals']} "
                       f"{r['outcome']} deal(s) (first known stage entry to closed_at)")
        elif kind == "conversion" and isinstance(v, dict):
            out.append(f"{head} (deals that reached B / deals that reached A):")
            out += [f"  {pair:30} {_pct(rate)}" for pair, rate in v.items()]
        elif kind == "conversion":
            out.append(f"{head}: {_pct(v)}  ({r.get('from')} -> {r.get('to')}: reached B / reached A)")
        elif kind == "weighted_pipeline":
            out.append(f"{head}: {_num(v)} {cur} (sum over open deals of amount x probability)")
            out += [f"  {s:20} {row['count']:6} deal(s)  {_num(row['amount']):>14}  weighted {_num(row['weighted'])}"
                    for s, row in (r.get("by_stage") or {}).items()]
        elif kind == "time_in_stage" and isinstance(v, dict):
            out.append(f"{head} (days per stay):")
            out += [f"  {s:20} mean {_days(d['mean']):>9}  median {_days(d['median']):>9}  n {d['n']}"
                    for s, d in v.items()]
        elif kind in ("stuck", "rotting") and "deals" in r:
            ids = ", ".join(f"{d['id']} ({d['stage']}, {d['days_in_stage']} d)" for d in r["deals"][:5])
            out.append(f"{head}: {v} open deal(s), {_num(r['amount'])} {cur}" + (f"; longest: {ids}" if ids else ""))
        elif kind == "bottleneck":
            out.append(f"{head}: {v or 'n/a'}" + (f" — {r['reason']}" if v else ""))
            for f in r.get("stages") or []:
                wait = f"median {_days(f['median_days'])} / max_days {f['max_days']}" if f["max_days"] else f"median {_days(f['median_days'])}"
                out.append(f"  {f['stage']:20} -> {f['next']:12} conversion {_pct(f['conversion'])}  {wait}  score {f['score']}")
        elif kind == "backlog_ratio":
            out.append(f"{head}: {_pct(v)} (backlog {_num(r.get('backlog_amount'))} / total sales {_num(r.get('total_sales'))} {cur})")
        elif kind == "quota" and isinstance(v, dict):
            if not v:
                out.append(f"{head}: no quotas declared")
                continue
            out.append(f"{head} (quarter from {r['quarter_start']}: won / quota = attainment; open pipeline / quota left = coverage):")
            out += [f"  {o:28} quota {_num(q['quota']):>10}  won {_num(q['won']):>10}  attainment {_pct(q['attainment']):>7}"
                    f"  pipeline {_num(q['pipeline']):>10}  coverage {_num(q['coverage'])}" for o, q in v.items()]
        elif kind == "velocity":
            out.append(f"{head}: {_num(v)} {cur}/day (open x win rate x mean won amount / mean cycle)")
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
        return _num(v)
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_fmt_value(x)}" for k, x in v.items())
    return "n/a" if v is None else str(v)


# ---------------------------------------------------------------------------------
# forecast
# ---------------------------------------------------------------------------------

def _days_option(value: str, name: str) -> int:
    try:
        return parse_duration(value).days
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name)


@click.command()
@_deals_argument
@workflow_option
@click.option("--method", "-m", default=None, metavar="NAME",
              help="weighted, historical, montecarlo, or one from a plugin (default: the one that backtests best here, else weighted).")
@click.option("--horizon", default="90d", show_default=True, help="Revenue closed within this (90d, 12w).")
@click.option("--trials", type=click.IntRange(1), default=None, help="Monte Carlo trials (default 10000).")
@click.option("--seed", type=int, default=None, help="Monte Carlo seed (default 1).")
@click.option("--by", default="", metavar="FIELDS", help="historical: adjust by these deal fields, e.g. owner,product.")
@click.option("--backtest", "do_backtest", is_flag=True, help="Rolling-origin backtest of every method, and calibration.")
@click.option("--origins", type=click.IntRange(1), default=6, show_default=True, help="Backtest: number of origins.")
@click.option("--step", default="30d", show_default=True, help="Backtest: days between origins.")
@click.option("--from", "from_date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Backtest: the first origin (with --to and --every instead of --origins/--step).")
@click.option("--to", "to_date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Backtest: the last origin (default: the date minus the horizon).")
@click.option("--every", default="1mo", show_default=True, help="Backtest with --from: step between origins (1mo, 30d, 2w).")
@now_option
@as_of_option
@store_option
@format_option
@pass_context
@handle_errors
def forecast(ctx: Context, deals: tuple[str, ...], workflow_path: str | None, method: str | None, horizon: str,
             trials: int | None, seed: int | None, by: str, do_backtest: bool, origins: int, step: str,
             from_date: dt.datetime | None, to_date: dt.datetime | None, every: str,
             now: dt.datetime | None, as_of: dt.datetime | None, store_url: str | None, fmt: str) -> None:
    """Revenue won within a horizon: `existing` (deals open on the date) + `new` (deals not
    created yet), with P10/P50/P90. Without --method, the method that backtests best on
    the deals' own history (else weighted); the output names it and why. With
    --backtest: every method replayed at past dates (--from/--to/--every, or
    --origins/--step), each date's forecast, actual, error and whether P10-P90 held it."""
    horizon_days = _days_option(horizon, "--horizon")
    step_days = _days_option(step, "--step")
    if step_days < 1:
        raise click.BadParameter(f"{step!r}: origins must be at least a day apart", param_hint="--step")
    try:
        step_every = parse_every(every)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--every")
    available = ctx.plugins.forecast_methods()
    choose = method is None and not do_backtest
    names = [method] if method else sorted(available)
    for name in names:
        if name not in available:
            raise click.BadParameter(f"no forecast method '{name}' (available: {', '.join(sorted(available))})",
                                     param_hint="--method")
    options: dict[str, Any] = {"by": [f.strip() for f in by.split(",") if f.strip()]}
    if trials is not None:
        options["trials"] = trials
    if seed is not None:
        options["seed"] = seed
    stream = Stream(ctx, workflow_path, deals, now, as_of)
    store = optional_store(ctx, store_url, stream.workflow_path)
    try:
        if do_backtest:
            dates = None
            if from_date is not None:
                last = to_date.date() if to_date else stream.day - dt.timedelta(days=horizon_days)
                dates = schedule(from_date.date(), last, step_every)
            pairs = ((item.doc.deal, item.state) for item in stream.items())
            result = backtest(pairs, stream.cw, stream.day, horizon_days, {n: available[n] for n in names}, store,
                              origins, step_days, options, dates)
        else:
            reason = None
            if choose:  # one pass: the backtest at the months before the date, and the states on it
                finals: list = []
                pairs = ((item.doc.deal, item.state) for item in stream.items())
                trial = backtest(pairs, stream.cw, stream.day, horizon_days, {n: available[n] for n in names}, store,
                                 CHOICE_ORIGINS, 30, {**options, "trials": min(options.get("trials", 2000), 2000)},
                                 finals=finals)
                names[:] = [trial["default_method"]]
                reason, states = trial["default_reason"], finals
            else:
                states = [slim_for_forecast(s, options["by"]) for s in stream.states()]
            try:
                result = run_method(available[names[0]], ForecastInput(states, stream.workflow, stream.day,
                                                                       horizon_days, store, options))
                if reason:
                    result["default_reason"] = reason
            except ForecastFailed as exc:
                stream.errors.append(Diagnostic(names[0], str(exc)))
                result = {"method": names[0], "horizon_days": horizon_days, "expected": None,
                          "p10": None, "p50": None, "p90": None}
    finally:
        if store is not None:
            store.close()
    for failure in result.get("errors") or []:
        stream.errors.append(Diagnostic("backtest", failure))
    if fmt == "json":
        echo_json({**result, **stream.header()})  # the header's errors hold the backtest's too
    else:
        click.echo("\n".join(format_backtest(result) if do_backtest else format_forecast(result, stream.workflow)))
    stream.finish(fmt)


def format_forecast(r: dict, workflow: Any) -> list[str]:
    cur = workflow.currency
    out = [f"{r['method']} forecast, revenue won within {r['horizon_days']} days: expected {_num(r['expected'])} {cur}"
           f" = existing {_num(r.get('existing'))} (deals open now) + new {_num(r.get('new'))} (deals not created yet)",
           f"  P10 {_num(r['p10'])}   P50 {_num(r['p50'])}   P90 {_num(r['p90'])}   ({r.get('open_deals', '?')} open deal(s))"]
    if r.get("default_reason"):
        out.append(f"  method: {r['default_reason']}")
    n = r.get("new_detail")
    if n:
        out.append(f"  new: {n['created_per_day']:g} deal(s) created a day x {n['win_chance_within_rest']:.1%} won within "
                   f"the rest of the horizon x {_num(n['mean_won_value'])} {cur} a win = {_num(n['expected_new_wins'])} win(s)")
    for key in ("definition", "quantiles", "smoothing", "timing"):
        if r.get(key):
            out.append(f"  {key}: {r[key]}")
    if r.get("by_category"):
        out.append("  by forecast category:")
        out += [f"    {c:12} {row['count']:6} deal(s)  amount {_num(row['amount']):>14}  weighted {_num(row['weighted'])}"
                for c, row in r["by_category"].items()]
    if r.get("by_month"):
        out.append("  weighted by month of expected_close:")
        out += [f"    {m:20} {_num(v)}" for m, v in r["by_month"].items()]
    if r.get("stages"):
        out.append("  learned per stage (configured -> learned, won/lost, median days to win):")
        out += [f"    {s:20} {row['configured']:.2f} -> {row['learned']:.3f}  {row['won']}/{row['lost']}  "
                f"{_days(row['time_to_win_median_days'])}" for s, row in r["stages"].items()]
    if r.get("timing_sources"):
        out.append("  close timing from: " + ", ".join(f"{k} {v}" for k, v in r["timing_sources"].items()))
    return out


def format_backtest(r: dict) -> list[str]:
    out = [f"backtest: {len(r['origins'])} origin(s), horizon {r['horizon_days']} days",
           f"  {r['definition']}", ""]
    if r.get("default_method"):
        out += [f"  default method: {r['default_method']} ({r.get('default_reason', '')})", ""]
    out.append(f"  {'method':14} {'MAPE':>8} {'bias':>8} {'existing':>9} {'new':>8} {'P10-P90 held':>13} {'width':>7}")
    for name, m in r["methods"].items():
        out.append(f"  {name:14} {_pct(m['mape']):>8} {_pct(m['bias']):>8} {_pct(m.get('existing_bias')):>9} "
                   f"{_pct(m.get('new_bias')):>8} {m.get('coverage', 0):>6}/{m['origins']:<6} {_pct(m.get('width')):>7}")
    out += ["", "  (bias of existing: against revenue won by deals open at the origin; of new: by deals created after it)"]
    for row in r["origins"]:
        out += ["", f"  {row['origin']}: actual {_num(row['actual'])} (from deals open then {_num(row.get('actual_existing'))}, "
                    f"from new deals {_num(row.get('actual_new'))})"]
        for name, d in (row.get("detail") or {}).items():
            held = "held" if d["held"] else "MISSED"
            error = d["error"] / d["actual"] if d["actual"] else None
            out.append(f"    {name:14} {_num(d['expected']):>12} = {_num(d['existing']):>12} + {_num(d['new']):>11}  "
                       f"P10-P90 {_num(d['p10'])}-{_num(d['p90'])} {held}  error {_pct(error)}")
    out += ["", "  calibration (configured probability vs win rate observed from the stage):",
            f"  {'stage':20} {'configured':>10} {'observed':>9} {'won':>6} {'lost':>6} {'learned':>8}"]
    for c in r["calibration"]:
        out.append(f"  {c['stage']:20} {c['configured']:>10.2f} {_pct(c['observed']):>9} {c['won']:>6} {c['lost']:>6} {c['learned']:>8.3f}")
    return out


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
@_deals_argument
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
        echo_json({**stream.header(), **report})
    else:
        click.echo("\n".join(format_backlog(report, stream.workflow.currency)))
    stream.finish(fmt)


def format_backlog(r: dict, currency: str) -> list[str]:
    unit = "order(s)" if r["unit"] == "orders" else currency
    out = [f"backlog: {_num(r['backlog_amount'])} {currency} in {r['open_orders']} open order(s); "
           f"total sales {_num(r['total_sales'])} {currency}; ratio {_pct(r['ratio'])}",
           f"  {r['definition']}",
           f"  intake: {_num(r['intake_used'])} {unit}/week ({r['intake_source']})"]
    if r.get("capacity_per_week") is None:
        out.append("  no --capacity given: no projection")
        return out
    change = r["weekly_change"]
    trend = "grows" if change > 0 else "shrinks" if change < 0 else "holds"
    out.append(f"  capacity {_num(r['capacity_per_week'])} {unit}/week: the backlog {trend} by {_num(abs(change))} a week "
               "(never below 0)")
    out += [f"  week {p['week']:3}  {p['date']}  {_num(p['backlog'])}" for p in r["projection"]]
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
    from ..importer import import_csv, load_map
    workflow = None
    if workflow_path is not None or os.path.isfile("workflow.yaml"):
        workflow = load_workflow_or_fail(ctx, resolve_workflow_path(workflow_path))
    mapping = load_map(map_path, workflow)
    result = import_csv(csv_file, mapping, out_dir, force, lambda rows, n: progress(rows, n, "rows"))
    if fmt == "json":
        echo_json({"imported": result.written, "skipped": result.skipped, "out": out_dir,
                   "diagnostics": [d.to_json() for d in result.diagnostics]})
    else:
        for d in result.diagnostics:
            click.echo(d.format(), err=True)
        click.echo(f"imported {result.written} deal(s) into {out_dir}" + (f"; {result.skipped} row(s) skipped" if result.skipped else ""))
    sys.exit(EXIT_ERRORS if result.skipped else EXIT_OK)


COMMANDS = (metrics, forecast, backlog, import_)
