"""`flowctl run`: its options and its output; the run itself is `flowctl.runner.run`."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
from pathlib import Path

import click

from .. import plan_summary
from ..atomic import write_atomic
from ..deals import find_files
from ..diagnostics import Diagnostic, FlowctlError
from ..dry_run import DryRun
from ..effects import Made
from ..model import Workflow
from ..redact import mask_secrets
from ..run_result import RunResult
from ..run_setup import RunSetup
from ..runner import run as run_deals
from ..store import Event, Store
from .common import (EXIT_ERRORS, EXIT_OK, Context, default_deals, default_store_url, echo_result, formats_option, handle_errors, progress_over,
                     load_workflow_or_fail, now_option, open_store, pass_context,
                     resolve_workflow_path, store_option, today, warn)
from .terminal import echo, secho

PLAN_VERSION = 1


@click.command()
@click.argument("deals", nargs=-1, type=click.Path())
@click.option("-w", "--workflow", "workflow_path", type=click.Path(dir_okay=False),
              help="Workflow file (default: workflow.yaml here).")
@now_option
@store_option
@click.option("--dry-run", is_flag=True, help="Show the plan; change nothing, not even the store.")
@click.option("--save-plan", type=click.Path(dir_okay=False), help="With --dry-run: write the plan to this file.")
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False, exists=True),
              help="Apply a plan saved by --dry-run --save-plan; refuse if anything changed since.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Evaluate on this many processes.")
@click.option("--shard", type=str, default=None, metavar="K/N",
              help="Take only the deals whose id falls in share K of N (1-based), so N machines can share one store.")
@click.option("--retry-dead", is_flag=True,
              help="Try again the messages marked dead (failed their channel's max_attempts).")
@formats_option("markdown")
@pass_context
@handle_errors
def run(ctx: Context, deals: tuple[str, ...], workflow_path: str | None, now: dt.datetime | None,
        store_url: str | None, dry_run: bool, save_plan: str | None, plan_file: str | None, jobs: int,
        shard: str | None, retry_dead: bool, fmt: str) -> None:
    """Evaluate every deal, run automated jobs, notify, and record history.

    DEALS are files or folders (searched recursively); default: deals/ beside the workflow.
    With --dry-run, --format markdown prints the plan for $GITHUB_STEP_SUMMARY: who moves,
    who gets blocked, the forecast before and after."""
    plan = None
    if plan_file:
        plan = _read_plan(plan_file)
        workflow_path = workflow_path or plan["workflow"]
        deals = deals or tuple(plan["deals"])
        store_url = _plan_store(plan, store_url)
        now = dt.datetime.fromisoformat(plan["now"])
    if save_plan and not dry_run:
        raise click.UsageError("--save-plan goes with --dry-run")
    if fmt == "markdown" and not dry_run:
        raise click.UsageError("--format markdown goes with --dry-run (the plan of a run)")
    shard_part = _shard(shard)
    if jobs > 1 and (dry_run or plan is not None):
        raise click.UsageError("--jobs goes with a real run, not --dry-run or --plan")
    workflow_path = resolve_workflow_path(workflow_path)
    workflow = load_workflow_or_fail(ctx, workflow_path)
    paths = list(deals) or default_deals(workflow_path)
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:  # a path named on the command line that is not there is a usage error
        raise FlowctlError([Diagnostic(p, "no such file or folder") for p in missing])
    day = today(now)
    store = open_store(ctx, store_url, workflow_path, must_exist=dry_run)
    before = None
    try:
        if fmt == "markdown" and store is not None:
            before = store.snapshot()  # the forecast before: the store's last state
        if plan is not None:
            _check_plan(ctx, plan, workflow, workflow_path, store, paths, day)
        if jobs > 1:
            store.close()  # the workers open their own connections; the parent opens one again
            store = open_store(ctx, store_url, workflow_path)
        result = RunResult(keep_deals=fmt == "json" or dry_run)
        setup = RunSetup.make(workflow, workflow_path, ctx.plugins, day, effects=DryRun(result) if dry_run else Made(),
                              shard=shard_part, retry_dead=retry_dead, file_digests=bool(save_plan))
        run_deals(setup, store, paths, result, progress=lambda files: progress_over(files, "deals"), jobs=jobs,
                  store_url=(store_url or default_store_url(ctx, workflow_path)) if jobs > 1 else None)
    finally:
        if store is not None:
            store.close()
    if save_plan:
        _write_plan(save_plan, workflow_path, workflow, paths, store_url, day, result)
    if fmt == "markdown":
        for d in result.diagnostics:
            echo(d.format(), err=True)
        echo(plan_summary.render(workflow, day, result, before))
    else:
        _report(result, dry_run, fmt, workflow)
    sys.exit(EXIT_ERRORS if result.errors else EXIT_OK)


def _shard(text: str | None) -> tuple[int, int] | None:
    """`K/N` (1-based) -> (K-1, N)."""
    if text is None:
        return None
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not K/N, e.g. 2/4", param_hint="--shard")
    if not 1 <= k <= n:
        raise click.BadParameter(f"{text!r}: K must be between 1 and N", param_hint="--shard")
    return (k - 1, n)


def _report(result: RunResult, dry_run: bool, fmt: str, workflow: Workflow) -> None:
    summary = result.summary(dry_run)
    if fmt == "json":
        data = {"deals": result.deals, "events": [e.to_json() for e in result.events], "summary": summary}
        if not dry_run:  # what each automated job's action did, its `output` as the plugin returned it
            data["actions"] = result.actions
        if dry_run:
            data["plan"] = _plan_body(result)
        data["diagnostics"] = [d.to_json() for d in result.diagnostics]
        echo_result(data)
        return
    for d in result.diagnostics:
        echo(d.format(), err=True)
    for w in result.warnings:
        warn(w)
    if dry_run:
        secho("DRY RUN: nothing was changed, not even the store. This is what a run would do:", fg="yellow", bold=True)
        for t in result.transitions:
            echo(f"  move    {t['deal']}: {t['from'] or '(new)'} -> {t['to']}" + (f" ({t['outcome']})" if t["outcome"] != "open" else ""))
        for a in result.actions:
            echo(f"  action  {a['deal']}: {a['action']} ({a['job']})")
        for e in result.events:
            echo(f"  event   {e.kind} {_event_subject(e)}")
        for n in result.notifications:
            echo(f"  notify  {n['channel']} to {n['to']}: {n['subject']}")
        for s in result.skipped:
            echo(f"  skip    {s['what']} ({s['why']})")
    elif sum(result.events_by_kind.values()) <= 50:
        for e in result.events:
            echo(f"{e.kind:16} {_event_subject(e)} {e.at.isoformat()}")
    stages = summary["by_stage"]
    order = {s.id: s.index for s in workflow.stages}
    echo(f"{summary['deals']} deal(s): " + ", ".join(
        f"{workflow.stage_by_id[s].text(workflow.locale) if s in workflow.stage_by_id else s} {v['count']}"
        for s, v in sorted(stages.items(), key=lambda kv: order.get(kv[0], 99))))
    c = result.counts
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(result.events_by_kind.items()))
    echo(f"{sum(result.events_by_kind.values())} event(s)" + (f" ({kinds})" if kinds else "") + f", {c.get('actions_ok', 0)} action(s) ok, {c.get('actions_failed', 0)} failed, "
               f"{c.get('notifications_queued', 0)} notification(s) queued, {c.get('sent', 0)} sent"
               + (f", {c.get('unchanged', 0)} unchanged" if c.get("unchanged") else "")
               + (f"; {result.errors} error(s)" if result.errors else ""))
    for deal_id, claim in result.claims:
        echo(f"claim    {deal_id} {claim}")
    if c.get("channels"):  # where the messages went, and what still waits
        click.echo("delivery: " + ", ".join(
            f"{name} {v['sent']} sent" + (f", {v['waiting']} waiting" if v["waiting"] else "")
            + (f", {v['dead']} dead" if v["dead"] else "") for name, v in c["channels"].items()))
    if c.get("dead"):
        warn(f"{c['dead']} message(s) dead (failed their channel's max_attempts): not tried again until "
             "`flowctl run --retry-dead`")


def _event_subject(e: Event) -> str:
    """What an event is about: a deal in a stage, or a metric off its target (no deal)."""
    if e.deal is None:
        d = e.data or {}
        group = f"[{d['group_by']}={d['group']}]" if d.get("group_by") else ""
        return f"{d.get('metric', '-')}{group} = {d.get('value')} (target {d.get('target')})"
    return f"{e.deal} [{e.stage}]"


def _plan_body(result: RunResult) -> dict:
    return {"transitions": result.transitions,
            "actions": [{k: a[k] for k in ("deal", "job", "action")} for a in result.actions],
            "events": sorted(e.key for e in result.events),
            "notifications": sorted(n["key"] for n in result.notifications)}


def _write_plan(path: str, workflow_path: str, workflow: Workflow, paths: list[str], store_url: str | None, day: dt.date,
                result: RunResult) -> None:
    digests = {f: _digest(f) for f in find_files(paths)}
    plan = {"version": PLAN_VERSION, "workflow": workflow_path, "workflow_digest": workflow.digest,
            "deals": paths, "store": mask_secrets(store_url) if store_url else None, "now": day.isoformat(), "files": digests, **_plan_body(result)}
    try:
        write_atomic(path, json.dumps(plan, indent=2))
    except OSError as exc:
        raise FlowctlError(Diagnostic(path, f"cannot write the plan: {exc.strerror or exc}")) from None
    echo(f"plan saved to {path}; apply it with: flowctl run --plan {path}", err=True)


def _plan_store(plan: dict, store_url: str | None) -> str | None:
    """The store a plan is applied to. A plan holds its store's URL without the password
    (a plan is a file people pass around): with one, the URL comes again from --store."""
    planned = plan.get("store")
    if store_url is None:
        if planned and "***" in planned:
            raise click.UsageError("the plan's store URL has its password left out: give it again with --store URL")
        return planned
    if planned and mask_secrets(store_url) != planned:
        raise click.UsageError(f"the plan was made for the store {planned}, not {mask_secrets(store_url)}")
    return store_url


def _digest(file: str) -> str:
    try:
        return hashlib.sha256(Path(file).read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def _read_plan(path: str) -> dict:
    from ..yamlio import read_text

    text = read_text(path)  # a FIFO, /dev/zero or a huge file is refused, never waited on
    try:
        plan = json.loads(text)
    except ValueError as exc:
        raise FlowctlError(Diagnostic(path, f"not a flowctl plan: {exc}"))
    if not isinstance(plan, dict) or plan.get("version") != PLAN_VERSION:
        raise FlowctlError(Diagnostic(path, "not a flowctl plan (or one from another version)"))
    wrong = [key for key, kind in _PLAN_KEYS.items() if not isinstance(plan.get(key), kind)]
    if plan.get("store") is not None and not isinstance(plan["store"], str):
        wrong.append("store")
    if not wrong:
        try:
            dt.date.fromisoformat(plan["now"])
        except ValueError:
            wrong.append("now")
    if not wrong and not all(isinstance(p, str) for p in plan["deals"]):
        wrong.append("deals")
    if wrong:
        raise FlowctlError(Diagnostic(path, f"not a flowctl plan: {', '.join(wrong)} missing or malformed "
                                            "(make it again with run --dry-run --save-plan)"))
    return plan


# What a plan holds, as _write_plan writes it (a plan is a file: it may have been edited).
_PLAN_KEYS: dict[str, type] = {"workflow": str, "workflow_digest": str, "deals": list, "now": str, "files": dict,
                               "transitions": list, "actions": list, "events": list, "notifications": list}


def _check_plan(ctx: Context, plan: dict, workflow: Workflow, workflow_path: str, store: Store | None, paths: list[str],
                day: dt.date) -> None:
    problems = []
    if workflow.digest != plan["workflow_digest"]:
        problems.append(f"the workflow {workflow_path} changed")
    now_files = {f: _digest(f) for f in find_files(paths)}
    for f in sorted(set(now_files) | set(plan["files"])):
        if now_files.get(f) != plan["files"].get(f):
            problems.append(f"{f} " + ("is new" if f not in plan["files"] else "is gone" if f not in now_files else "changed"))
    if not problems:
        again = RunResult(keep_deals=False)
        run_deals(RunSetup.make(workflow, workflow_path, ctx.plugins, day, effects=DryRun(again)), store, paths, again)
        if _plan_body(again) != {k: plan[k] for k in ("transitions", "actions", "events", "notifications")}:
            problems.append("the store changed since the plan was made (another run happened)")
    if problems:
        raise FlowctlError([Diagnostic(plan.get("workflow", "plan"), "refusing to apply the plan: " + p) for p in problems])


COMMANDS = (run,)
