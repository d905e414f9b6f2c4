"""`flowctl status` and `flowctl explain`: where deals stand, and why."""
from __future__ import annotations

import datetime as dt
import os
import sys
from typing import Callable

import click

from ..compiled import CompiledWorkflow
from ..diagnostics import Diagnostic, FlowctlError, did_you_mean
from ..evaluate import DealState, Facts
from ..events import conditions
from ..model import Workflow
from ..deals import DealDoc
from ..pipeline import evaluate_all
from ..severity import errors_of, warnings_of
from ..store import Store
from ..summary import claim_text, error_summary, state_summary
from ..totals import StageTotals
from .common import workflow_option
from .common import (EXIT_ERRORS, EXIT_OK, Context, as_of_option, default_deals, echo_result, open_store,
                     format_option, handle_errors, load_workflow_or_fail, now_option, pass_context,
                     resolve_workflow_path, store_option, today)
from .terminal import echo, secho

ATTENTION = ("job_overdue", "deal_stuck", "deal_rotting", "gate_blocked")


def _facts_from_store(ctx: Context, store_url: str | None, workflow_path: str
                      ) -> tuple[Store, Callable[[str], Facts]] | tuple[None, None]:
    """Facts the store knows (first seen dates, automated jobs done); none when there
    is no store yet — looking must not create one."""
    store = open_store(ctx, store_url, workflow_path, must_exist=True)
    if store is None:
        return None, None

    def facts(deal_id: str) -> Facts:
        record = store.deals([deal_id]).get(deal_id)
        return Facts(record.first_seen, record.actions_ok) if record else Facts()
    return store, facts


def money(value: float) -> str:
    return f"{value:,.0f}"


@click.command()
@click.argument("deals", nargs=-1, type=click.Path())
@workflow_option
@now_option
@as_of_option
@store_option
@format_option
@pass_context
@handle_errors
def status(ctx: Context, deals: tuple[str, ...], workflow_path: str | None, now: dt.datetime | None,
           as_of: dt.datetime | None, store_url: str | None, fmt: str) -> None:
    """The pipeline by stage (count, amount, weighted amount) and the deals that need attention."""
    workflow_path = resolve_workflow_path(workflow_path)
    wf = load_workflow_or_fail(ctx, workflow_path)
    cw = CompiledWorkflow(wf)
    day = today(now)
    store, facts = _facts_from_store(ctx, store_url, workflow_path)
    totals = StageTotals()
    rows, events, errors, attention = [], [], [], []
    left_out: list[str] = []  # no dated fact by --as-of: they did not exist yet
    warnings: list[Diagnostic] = []
    try:
        for item in evaluate_all(cw, list(deals) or default_deals(workflow_path), day,
                                 when=as_of.date() if as_of else None, facts=facts, left_out=left_out):
            if item.state is None:
                errors.extend(errors_of(item.diagnostics))
                warnings.extend(d for d in item.diagnostics if d.severity == "warning")
                rows.append(error_summary(item.deal_id, item.file, [d.format() for d in errors_of(item.diagnostics)],
                                          warnings_of(item.diagnostics)))
                continue
            state = item.state
            warnings.extend(item.diagnostics)
            rows.append(state_summary(state))
            totals.add_state(state)
            flagged = [e for e in conditions(state, wf, None, state_day(day, as_of)) if e.kind in ATTENTION]
            events.extend(flagged)
            if flagged or claim_text(state.claim):
                attention.append((state, flagged))
    finally:
        if store is not None:
            store.close()
    open_rows = totals.open_rows()
    by_stage = {s.id: open_rows.get(s.id) or {"count": 0, "amount": 0.0, "weighted": 0.0} for s in wf.stages}
    summary = {"date": state_day(day, as_of).isoformat(), "by_stage": by_stage,
               "won": totals.closed("won"), "lost": totals.closed("lost"),
               "open": {key: totals.total(key) for key in ("count", "amount", "weighted")},
               "attention": [s.id for s, _ in attention], "errors": len(errors), "left_out": len(left_out),
               "warnings": len(warnings)}
    if fmt == "json":
        echo_result({"deals": rows, "events": [e.to_json() for e in events], "summary": summary})
    else:
        _print_status(wf, summary, attention, errors, warnings)
    sys.exit(EXIT_ERRORS if errors else EXIT_OK)


def state_day(day: dt.date, as_of: dt.datetime | None) -> dt.date:
    return as_of.date() if as_of else day


def _print_status(wf: Workflow, summary: dict, attention: list, errors: list[Diagnostic], warnings: list[Diagnostic]) -> None:
    loc = wf.locale
    secho(f"Pipeline of {wf.name} on {summary['date']} ({wf.currency})", bold=True)
    echo(f"{'stage':24} {'deals':>6} {'amount':>14} {'weighted':>14}")
    for stage in wf.stages[:-1]:
        row = summary["by_stage"][stage.id]
        echo(f"{stage.text(loc)[:24]:24} {row['count']:>6} {money(row['amount']):>14} {money(row['weighted']):>14}")
    o = summary["open"]
    echo(f"{'open':24} {o['count']:>6} {money(o['amount']):>14} {money(o['weighted']):>14}")
    echo(f"won {summary['won']['count']} ({money(summary['won']['amount'])}), lost {summary['lost']['count']} ({money(summary['lost']['amount'])})")
    if summary["left_out"]:
        echo(f"{summary['left_out']} deal(s) left out: no dated fact on or before {summary['date']}")
    if attention:
        secho("\nNeeds attention:", bold=True)
        for state, flagged in attention:
            reasons = []
            for e in flagged:
                if e.kind == "job_overdue":
                    reasons.append(f"overdue {e.data['job']} (due {e.data['due']})")
                elif e.kind == "deal_stuck":
                    reasons.append(f"stuck {e.data['days_in_stage']} days in {state.stage}")
                elif e.kind == "deal_rotting":
                    reasons.append(f"no activity since {e.data['last_touched'] or state.entered_at.isoformat()}")
                elif e.kind == "gate_blocked":
                    reasons.append(f"blocked by {e.data['gate']}: {e.data['message']}")
            claim = claim_text(state.claim)
            if claim:
                reasons.append(claim)
            echo(f"  {state.id:16} {state.owner or '-':22} " + "; ".join(reasons))
    print_problems(errors, warnings)


def print_problems(errors: list[Diagnostic], warnings: list[Diagnostic]) -> None:
    """Deals that could not be evaluated (each for itself), then what the workflow does
    not know about the deals it did evaluate."""
    if errors:
        secho(f"\nCould not be evaluated ({len({(d.file, d.path[:2]) for d in errors})}):", bold=True)
        for d in errors:
            echo(f"  {d.format()}")
    if warnings:
        secho(f"\nWarnings ({len(warnings)}):", bold=True)
        for d in warnings:
            echo(f"  {d.format()}")


def find_deal(cw: CompiledWorkflow, deal: str, paths: list[str], day: dt.date,
              facts: Callable[[str], Facts] | None = None, when: dt.date | None = None
              ) -> tuple[DealDoc, DealState]:
    """The deal named by id (or by its file's path) as read, and its state; its errors if it has no state."""
    ids = []
    for item in evaluate_all(cw, paths if not os.path.isfile(deal) else [deal], day, when=when, facts=facts):
        if item.deal_id == deal or (os.path.isfile(deal) and os.path.samefile(item.file, deal)):
            if item.state is None or item.doc is None:
                raise FlowctlError(item.diagnostics)
            return item.doc, item.state
        if item.deal_id:
            ids.append(item.deal_id)
    raise FlowctlError(Diagnostic(deal, f"no deal with id '{deal}' in {', '.join(paths)}{did_you_mean(deal, ids)}"))


@click.command()
@click.argument("deal")
@click.argument("deals", nargs=-1, type=click.Path())
@workflow_option
@now_option
@as_of_option
@store_option
@format_option
@pass_context
@handle_errors
def explain(ctx: Context, deal: str, deals: tuple[str, ...], workflow_path: str | None, now: dt.datetime | None,
            as_of: dt.datetime | None, store_url: str | None, fmt: str) -> None:
    """Why DEAL (an id or a file) is where it is: each job, each gate with the values it saw."""
    workflow_path = resolve_workflow_path(workflow_path)
    wf = load_workflow_or_fail(ctx, workflow_path)
    cw = CompiledWorkflow(wf)
    day = today(now)
    store, facts = _facts_from_store(ctx, store_url, workflow_path)
    try:
        paths = list(deals) or ([] if os.path.isfile(deal) else default_deals(workflow_path))
        _, state = find_deal(cw, deal, paths, day, facts, as_of.date() if as_of else None)
    finally:
        if store is not None:
            store.close()
    if fmt == "json":
        echo_result(explanation(state))
        return
    _print_explain(wf, state, state_day(day, as_of))


def explanation(state: DealState) -> dict:
    data = state_summary(state)
    data["jobs_detail"] = [{"id": j.id, "stage": j.stage, "status": j.status, "required": j.required, "owner": j.owner,
                            "done_at": j.done_at, "by": j.by, "how": j.how, "due_at": j.due_at, "uses": j.uses,
                            "error": j.error} for j in state.jobs]
    data["gates_detail"] = [dict(g.to_json(), when=g.when, approval=g.approval, approved_by=g.approved_by,
                                 error=g.error) for g in state.gates]
    return data


def _print_explain(wf: Workflow, state: DealState, day: dt.date) -> None:
    loc = wf.locale
    deal = state.deal
    secho(f"{state.id}" + (f" — {deal.get('name')}" if deal.get("name") else ""), bold=True)
    echo(f"owner {state.owner or '-'}, amount {money(state.amount)} {deal.get('currency') or wf.currency}")
    stage = wf.stage_by_id[state.stage]
    limit = f", max {stage.max_days}" if stage.max_days is not None else ""
    echo(f"Stage: {stage.text(loc)} ({state.stage}) since {state.entered_at} — {state.days_in_stage} days in stage{limit}"
               f" (entry dated by {state.entered_from.replace('_', ' ')})")
    echo(f"Outcome: {state.outcome}; probability {state.probability:.2f}; forecast category {state.forecast_category}"
               + ("; STUCK" if state.stuck else "") + ("; ROTTING" if state.rotting else ""))
    marks = {"done": "done   ", "pending": "pending", "overdue": "OVERDUE", "waived": "waived ", "skipped": "skipped"}
    for s in wf.stages:
        jobs = [j for j in state.jobs if j.stage == s.id]
        gates = [g for g in state.gates if g.stage == s.id]
        if not jobs and not gates:
            continue
        here = "  <- here" if s.id == state.stage else ""
        entered = state.stage_entries.get(s.id)
        secho(f"\n{s.text(loc)} ({s.id})" + (f", entered {entered}" if entered else "") + here, bold=bool(here))
        for j in jobs:
            job = wf.job_by_id[j.id]
            detail = []
            if j.status == "done":
                detail.append(f"{j.how}" + (f", {j.done_at}" if j.done_at else "") + (f", by {j.by}" if j.by else ""))
            elif j.due_at is not None:
                detail.append(f"due {j.due_at}")
            if not j.required:
                detail.append("optional")
            if j.uses:
                detail.append(f"automated: {j.uses}")
            if j.error:
                detail.append(f"done_when: {j.error}")
            echo(f"  [{marks[j.status]}] {j.id}: {job.text(loc)}" + (f" ({'; '.join(detail)})" if detail else ""))
        for g in gates:
            verdict = "waived" if g.waived else ("holds" if g.ok else "FAILS")
            echo(f"  gate {g.id}: {verdict}" + ("" if g.ok else f" — {g.message}"))
            if g.when:
                seen = ", ".join(f"{k} = {v!r}" for k, v in g.values.items())
                echo(f"      when: {g.when}" + (f"   (saw {seen})" if seen else ""))
            if g.approval:
                echo(f"      approval by {g.approval}: " + (f"given by {g.approved_by}" if g.approved_by else "missing"))
    if state.waived:
        echo("\nWaived (passed by history or a recorded win): " + ", ".join(state.waived))
    if state.warnings:
        secho("\nWarnings (what the workflow does not know; the deal is still evaluated):", fg="yellow")
        for w in state.warnings:
            echo(f"  {w}")
    if state.claim:
        c = state.claim
        if c.get("supported"):
            echo(f"\nThe file claims stage '{c['stage']}'" + (f": {c['note']}" if c.get("note") else ": the facts agree."))
        else:
            secho(f"\nThe file claims stage '{c['stage']}', but the facts put it at '{c['derived']}'.", fg="yellow")
            if c["missing_jobs"]:
                echo("  missing jobs: " + ", ".join(c["missing_jobs"]))
            if c["failing_gates"]:
                echo("  failing gates: " + ", ".join(c["failing_gates"]))


COMMANDS = (status, explain)
