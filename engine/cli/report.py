"""`flowctl report` and `flowctl propose`: the pipeline report (HTML with inline SVG
charts, or Markdown) and a deal's proposal, rendered from Jinja2 templates.

The output file's suffix chooses the template (`flowctl_report_formats`: `.html` ->
report.html.j2, `.md` -> report.md.j2; a proposal takes proposal.html.j2 /
proposal.md.j2). A company's `templates/` beside its workflow overrides them by name.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import click

from ..atomic import write_atomic
from ..backlog import parse_rate
from ..compiled import CompiledWorkflow
from ..diagnostics import Diagnostic, FlowctlError
from ..durations import parse_duration
from ..i18n import LocaleError, check_locale
from ..report import DEFAULT_HORIZON, DEFAULT_TOP, DEFAULT_WEEKS, ReportBuilder
from ..report_templates import check_template_name, make_templates, proposal_context, render
from .analytics import Stream
from .common import workflow_option
from .common import (Context, as_of_option, default_deals, handle_errors, optional_store,
                     load_workflow_or_fail, now_option, pass_context, resolve_workflow_path, store_option, today,
                     warn)
from .inspect import _facts_from_store, find_deal


def _output_option(what: str) -> Any:
    return click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
                        help=f"File to write the {what} to; its suffix chooses the format (.html, .md).")


def _locale_option(fn: Any) -> Any:
    return click.option("--locale", default=None, metavar="LOCALE",
                        help="Language and formats: en, es, de, fr (default: the workflow's locale).")(fn)


def _template_option(fn: Any) -> Any:
    return click.option("--template", "template_name", default=None, metavar="NAME",
                        help="Render this template instead of the one the suffix chooses.")(fn)


def _locale(value: str | None, workflow: Any) -> str:
    try:
        return check_locale(value or workflow.locale or "en")
    except LocaleError as exc:
        raise click.BadParameter(str(exc), param_hint="--locale" if value else "the workflow's locale")


def _template_for(ctx: Context, output: str, template_name: str | None, kind: str) -> str:
    """The template for -o FILE: --template if given, else by the file's suffix."""
    if template_name:
        return check_template_name(template_name)
    formats = ctx.plugins.report_formats()
    suffix = Path(output).suffix.lower()
    if suffix not in formats:
        known = ", ".join(sorted(formats)) or "none"
        raise click.BadParameter(f"unknown report format '{suffix or output}': the file name must end in one of "
                                 f"{known} (or give --template)", param_hint="-o")
    name = formats[suffix]
    if kind == "proposal":
        name = "proposal" + name[len("report"):] if name.startswith("report") else f"proposal{suffix}.j2"
    return check_template_name(name)


def _write(output: str, text: str) -> int:
    """Write atomically (whole or not at all); the size in bytes."""
    target = Path(output)
    if target.parent and not target.parent.exists():
        raise click.BadParameter(f"folder {str(target.parent)!r} does not exist", param_hint="-o")
    if target.parent and not target.parent.is_dir():
        raise click.BadParameter(f"{str(target.parent)!r} is not a folder", param_hint="-o")
    if target.is_dir():
        raise click.BadParameter(f"{output!r} is a folder", param_hint="-o")
    try:
        return write_atomic(target, text)
    except OSError as exc:  # /proc, a read-only folder, a full disk: nothing is left behind
        raise FlowctlError(Diagnostic(output, f"cannot write: {exc.strerror or exc}")) from None


def _size(n: int) -> str:
    return f"{n / 1024:,.0f} KB" if n >= 10 * 1024 else f"{n:,} bytes"


def _rate(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_rate(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc))


# ---------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------

@click.command()
@click.argument("deals", nargs=-1, type=click.Path())
@workflow_option
@_output_option("report")
@_locale_option
@click.option("--top", type=click.IntRange(1, 1000), default=DEFAULT_TOP, show_default=True,
              help="How many of the biggest open deals (and of the stuck and rotting ones) to list.")
@click.option("--horizon", default=f"{DEFAULT_HORIZON}d", show_default=True,
              help="Forecast: revenue won within this (90d, 12w).")
@click.option("--capacity", callback=_rate, metavar="N/week",
              help="Backlog projection: what can be delivered per week (default: measured from completed orders).")
@click.option("--weeks", type=click.IntRange(1, 520), default=DEFAULT_WEEKS, show_default=True,
              help="Backlog projection: weeks to project.")
@click.option("--trials", type=click.IntRange(100, 1_000_000), default=None,
              help="Monte Carlo trials per forecast (seeded; default: the workflow's forecast settings, else 4000).")
@_template_option
@now_option
@as_of_option
@store_option
@pass_context
@handle_errors
def report(ctx: Context, deals: tuple[str, ...], workflow_path: str | None, output: str, locale: str | None, top: int,
           horizon: str, capacity: float | None, weeks: int, trials: int | None, template_name: str | None,
           now: dt.datetime | None, as_of: dt.datetime | None, store_url: str | None) -> None:
    """The pipeline report as one self-contained file: funnel, conversion, time in
    stage, bottleneck, forecast by month with P10-P90 bands, quota per owner, backlog
    projection, biggest, stuck and rotting deals, metric alerts. `-o report.html` (inline
    SVG charts, no network) or `-o report.md` (tables)."""
    try:
        horizon_days = parse_duration(horizon).days
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--horizon")
    name = _template_for(ctx, output, template_name, "report")
    stream = Stream(ctx, workflow_path, deals, now, as_of)
    loc = _locale(locale, stream.workflow)
    templates = make_templates(stream.workflow_path, ctx.plugins)
    builder = ReportBuilder(stream.workflow, stream.day, ctx.plugins, top)
    for state in stream.states():
        builder.add(state)
    store = optional_store(ctx, store_url, stream.workflow_path)
    try:
        context = builder.build(locale=loc, methods=ctx.plugins.forecast_methods(), store=store, horizon=horizon_days,
                                capacity=capacity, weeks=weeks, trials=trials,
                                meta={"now": stream.today.isoformat(),
                                      "as_of": stream.when.isoformat() if stream.when else None,
                                      "skipped": len(stream.errors), "template": name,
                                      "problems": stream.problems()},
                                catalogs=templates.catalogs)
    finally:
        if store is not None:
            store.close()
    size = _write(output, render(templates, name, context))
    click.echo(f"wrote {output} ({_size(size)}): {stream.count} deal(s) as of {stream.day.isoformat()}, "
               f"locale {loc}, template {name}")
    stream.finish("text")


# ---------------------------------------------------------------------------------
# propose
# ---------------------------------------------------------------------------------

@click.command()
@click.argument("deal")
@click.argument("deals", nargs=-1, type=click.Path())
@workflow_option
@_output_option("proposal")
@_locale_option
@_template_option
@now_option
@store_option
@pass_context
@handle_errors
def propose(ctx: Context, deal: str, deals: tuple[str, ...], workflow_path: str | None, output: str,
            locale: str | None, template_name: str | None, now: dt.datetime | None, store_url: str | None) -> None:
    """The proposal for DEAL (an id or a file), from the same templates and context as
    the `render` action: account, amount in its currency, what is included, owner,
    validity. `-o proposal.html` or `-o proposal.md`."""
    name = _template_for(ctx, output, template_name, "proposal")
    workflow_path = resolve_workflow_path(workflow_path)
    wf = load_workflow_or_fail(ctx, workflow_path)
    loc = _locale(locale, wf)
    cw = CompiledWorkflow(wf)
    day = today(now)
    store, facts = _facts_from_store(ctx, store_url, workflow_path)
    try:
        paths = list(deals) or ([] if os.path.isfile(deal) else default_deals(workflow_path))
        doc, state = find_deal(cw, deal, paths, day, facts)
    finally:
        if store is not None:
            store.close()
    templates = make_templates(workflow_path, ctx.plugins)
    text = render(templates, name, proposal_context(doc.deal, state, wf, loc, day))
    size = _write(output, text)
    click.echo(f"wrote {output} ({_size(size)}): proposal for {state.id}, locale {loc}, template {name}")


COMMANDS = (report, propose)
