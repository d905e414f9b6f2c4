"""`flowctl impact`: what a workflow change would do to today's deals, for review in a
pull request before it lands."""
from __future__ import annotations

import datetime as dt
import sys

import click

from ..compiled import CompiledWorkflow
from ..evaluate import DealState, evaluate
from ..pipeline import evaluate_all
from .common import (EXIT_ERRORS, EXIT_OK, Context, default_deals, echo_json, formats_option, handle_errors,
                     load_workflow_or_fail, now_option, pass_context, today)


def _holding(state: DealState) -> list[dict]:
    """What keeps a deal in its stage: unfinished required jobs and failing gates."""
    out = [{"job": j.id, "status": j.status} for j in state.current_jobs if j.required and j.status in ("pending", "overdue")]
    out += [{"gate": g.id, "message": g.message} for g in state.current_gates if not g.ok]
    return out


def compare(old_wf, new_wf, paths: list[str], day: dt.date) -> tuple[dict, list]:
    old_cw, new_cw = CompiledWorkflow(old_wf), CompiledWorkflow(new_wf)
    moved, blocked, errors = [], [], []
    unchanged = 0
    weighted_old = weighted_new = 0.0
    for item in evaluate_all(new_cw, paths, day):
        if item.state is None:
            errors.extend(item.diagnostics)
            continue
        new = item.state
        old = evaluate(old_cw, item.doc.deal, day, file=item.file)
        weighted_old += old.weighted_amount
        weighted_new += new.weighted_amount
        old_pos = old_wf.stage_by_id[old.stage].index
        if old.stage != new.stage or old.outcome != new.outcome:
            # Stage ids may differ between versions: compare by position in each workflow.
            direction = "forward" if new.stage_index > old_pos else "backward" if new.stage_index < old_pos else "renamed"
            moved.append({"deal": new.id, "from": old.stage, "to": new.stage, "direction": direction,
                          "outcome": {"from": old.outcome, "to": new.outcome}})
        else:
            unchanged += 1
        before = {tuple(sorted(h.items())) for h in _holding(old)} if old.stage == new.stage else set()
        newly = [h for h in _holding(new) if tuple(sorted(h.items())) not in before]
        if newly and new.outcome == "open" and (new.stage_index < old_pos or old.stage == new.stage or new.stage not in old_wf.stage_by_id):
            blocked.append({"deal": new.id, "stage": new.stage, "by": newly})
    return {"moved": moved, "blocked": blocked, "unchanged": unchanged,
            "weighted_pipeline": {"old": weighted_old, "new": weighted_new, "change": weighted_new - weighted_old}}, errors


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
        echo_json({**report, "errors": [d.to_json() for d in errors]})
    elif fmt == "markdown":
        from ..impact_summary import render
        click.echo(render(report, errors, new_wf, old_wf, new_path, old_path))
    else:
        for d in errors:
            click.echo(d.format(), err=True)
        click.secho(f"Impact of {new_path} against {old_path}:", bold=True)
        for m in report["moved"]:
            click.echo(f"  moves    {m['deal']}: {m['from']} -> {m['to']} ({m['direction']})")
        for b in report["blocked"]:
            what = ", ".join(f"gate {x['gate']} ({x['message']})" if "gate" in x else f"job {x['job']}" for x in b["by"])
            click.echo(f"  blocked  {b['deal']} in {b['stage']} by {what}")
        w = report["weighted_pipeline"]
        click.echo(f"{len(report['moved'])} deal(s) move, {len(report['blocked'])} newly blocked, {report['unchanged']} unchanged; "
                   f"weighted pipeline {w['old']:,.0f} -> {w['new']:,.0f} ({w['change']:+,.0f})")
    sys.exit(EXIT_ERRORS if errors else EXIT_OK)


COMMANDS = (impact,)
