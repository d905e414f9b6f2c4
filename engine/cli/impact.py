"""`flowctl impact`: what a workflow change would do to today's deals, for review in a
pull request before it lands."""
from __future__ import annotations

import datetime as dt
import sys

import click

from ..impact import compare
from .common import (EXIT_ERRORS, EXIT_OK, Context, default_deals, echo_result, formats_option, handle_errors,
                     load_workflow_or_fail, now_option, pass_context, today)
from .terminal import echo, secho


@click.command()
@click.argument("deals", nargs=-1, type=click.Path())
@click.option("-w", "--workflow", "new_path", required=True, type=click.Path(dir_okay=False), help="The changed workflow.")
@click.option("--against", "old_path", required=True, type=click.Path(dir_okay=False), help="The workflow as it is now.")
@now_option
@formats_option("markdown")
@pass_context
@handle_errors
def impact(ctx: Context, deals: tuple[str, ...], new_path: str, old_path: str, now: dt.datetime | None, fmt: str) -> None:
    """What changing the workflow from --against to -w would do to today's deals:
    who moves, who gets blocked and by which gate or job, and the weighted pipeline.
    --format markdown prints the same for a pull request's $GITHUB_STEP_SUMMARY."""
    new_wf = load_workflow_or_fail(ctx, new_path)
    old_wf = load_workflow_or_fail(ctx, old_path)
    report, errors = compare(old_wf, new_wf, list(deals) or default_deals(new_path), today(now))
    if fmt == "json":
        echo_result({**report, "errors": [d.to_json() for d in errors]})
    elif fmt == "markdown":
        from ..impact_summary import render
        click.echo(render(report, errors, new_wf, old_wf, new_path, old_path))
    else:
        for d in errors:
            echo(d.format(), err=True)
        secho(f"Impact of {new_path} against {old_path}:", bold=True)
        for d in report["deals"]:
            echo(f"  {d['deal']}:")
            for change in d["changes"]:
                echo(f"    {change}")
        w = report["weighted_pipeline"]
        lost_wins = sum(o["change"] == "no longer won" for o in report["outcomes"])
        echo(f"{len(report['moved'])} deal(s) move, {len(report['blocked'])} newly blocked, "
             f"{lost_wins} no longer won, {len(report['warnings'])} with new or fewer warnings, "
             f"{report['unchanged']} unchanged; "
             f"weighted pipeline {w['old']:,.0f} -> {w['new']:,.0f} ({w['change']:+,.0f})")
    sys.exit(EXIT_ERRORS if errors else EXIT_OK)  # 1 only for deals that could not be evaluated


COMMANDS = (impact,)
