"""`flowctl forecast`: revenue won within a horizon by each registered method, the
default method chosen by a backtest, and `--backtest` (rolling origins and calibration).

Deals are streamed from flowctl.cli.analytics' Stream; forecasts keep a slim state per
deal. Definitions live in flowctl.forecasting and flowctl.backtest, not here.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import click

from ..backtest import backtest, choose_method, parse_every, schedule
from ..diagnostics import Diagnostic
from ..durations import parse_duration
from ..forecasting import ForecastFailed, run_method, slim_for_forecast
from ..hooktypes import ForecastInput
from .analytics import Stream, days, deals_argument, num, pct
from .common import workflow_option
from .common import (Context, as_of_option, echo_result, optional_store, format_option, handle_errors, now_option,
                     pass_context, store_option)




def _days_option(value: str, name: str) -> int:
    try:
        return parse_duration(value).days
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name)


@click.command()
@deals_argument
@workflow_option
@click.option("--method", "-m", default=None, metavar="NAME",
              help="weighted, historical, montecarlo, runrate, or one from a plugin (default: the one that backtests best here, else weighted).")
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
    if not available:
        raise click.UsageError("no forecast method is installed (FLOWCTL_DISABLE_PLUGINS blocks every one?)")
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
                chosen, reason = choose_method(pairs, stream.cw, stream.day, horizon_days,
                                               {n: available[n] for n in names}, store, options, finals)
                names[:] = [chosen]
                states = finals
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
        echo_result({**result, **stream.header()})  # the header's errors hold the backtest's too
    else:
        click.echo("\n".join(format_backtest(result) if do_backtest else format_forecast(result, stream.workflow)))
    stream.finish(fmt)


def format_forecast(r: dict, workflow: Any) -> list[str]:
    cur = workflow.currency
    out = [f"{r['method']} forecast, revenue won within {r['horizon_days']} days: expected {num(r['expected'])} {cur}"
           f" = existing {num(r.get('existing'))} (deals open now) + new {num(r.get('new'))} (deals not created yet)",
           f"  P10 {num(r['p10'])}   P50 {num(r['p50'])}   P90 {num(r['p90'])}   ({r.get('open_deals', '?')} open deal(s))"]
    if r.get("default_reason"):
        out.append(f"  method: {r['default_reason']}")
    n = r.get("new_detail")
    if n:
        out.append(f"  new: {n['created_per_day']:g} deal(s) created a day x {n['win_chance_within_rest']:.1%} won within "
                   f"the rest of the horizon x {num(n['mean_won_value'])} {cur} a win = {num(n['expected_new_wins'])} win(s)")
    for key in ("note", "definition", "quantiles", "smoothing", "timing"):
        if r.get(key):
            out.append(f"  {key}: {r[key]}")
    if r.get("by_category"):
        out.append("  by forecast category:")
        out += [f"    {c:12} {row['count']:6} deal(s)  amount {num(row['amount']):>14}  weighted {num(row['weighted'])}"
                for c, row in r["by_category"].items()]
    if r.get("by_month"):
        out.append("  weighted by month of expected_close:")
        out += [f"    {m:20} {num(v)}" for m, v in r["by_month"].items()]
    if r.get("stages"):
        out.append("  learned per stage (configured -> learned, won/lost, median days to win):")
        out += [f"    {s:20} {row['configured']:.2f} -> {row['learned']:.3f}  {row['won']}/{row['lost']}  "
                f"{days(row['time_to_win_median_days'])}" for s, row in r["stages"].items()]
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
        out.append(f"  {name:14} {pct(m['mape']):>8} {pct(m['bias']):>8} {pct(m.get('existing_bias')):>9} "
                   f"{pct(m.get('new_bias')):>8} {m.get('coverage', 0):>6}/{m['origins']:<6} {pct(m.get('width')):>7}")
    out += ["", "  (bias of existing: against revenue won by deals open at the origin; of new: by deals created after it)"]
    for row in r["origins"]:
        out += ["", f"  {row['origin']}: actual {num(row['actual'])} (from deals open then {num(row.get('actual_existing'))}, "
                    f"from new deals {num(row.get('actual_new'))})"
                    + ("" if row.get("used_for_default", True) or "default_method" not in r
                       else "; too little history before it to count for the default")]
        for name, d in (row.get("detail") or {}).items():
            held = "held" if d["held"] else "MISSED"
            error = d["error"] / d["actual"] if d["actual"] else None
            out.append(f"    {name:14} {num(d['expected']):>12} = {num(d['existing']):>12} + {num(d['new']):>11}  "
                       f"P10-P90 {num(d['p10'])}-{num(d['p90'])} {held}  error {pct(error)}")
    out += ["", "  calibration (configured probability vs win rate observed from the stage):",
            f"  {'stage':20} {'configured':>10} {'observed':>9} {'won':>6} {'lost':>6} {'learned':>8}"]
    for c in r["calibration"]:
        out.append(f"  {c['stage']:20} {c['configured']:>10.2f} {pct(c['observed']):>9} {c['won']:>6} {c['lost']:>6} {c['learned']:>8.3f}")
    return out


COMMANDS = (forecast,)
