"""`flowctl run`, acting: the automated jobs due for one deal, each action run (with its
`retry:` policy) through the run's effects and journaled the moment it ends with what it
queued, so a crash repeats at most the action in flight; a success may move the deal on,
and the jobs due then are run too.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from .actions import due_actions
from .deals import DealDoc
from .diagnostics import Diagnostic
from .evaluate import DealState, Facts, evaluate
from .hooktypes import ActionContext
from .model import Job
from .notify import channels_of, rendered_recipient
from .run_result import RunResult
from .run_setup import RunSetup
from .store import Batch, OutboxItem, Store
from .summary import state_summary


def idempotency_key(deal_id: str, job_id: str, day: dt.date) -> str:
    """The same for every attempt at one automated job of one deal on one day, across
    retries and across a run that repeats the action in flight after a crash."""
    return f"{deal_id}|{job_id}|{day.isoformat()}"


def act(setup: RunSetup, store: Store, run_id: int, doc: DealDoc, state: DealState, facts: Facts,
        result: RunResult) -> tuple[DealState, list[OutboxItem]]:
    """The deal's state after its due actions, and the messages they queued."""
    deal_id = str(doc.deal.get("id"))
    queued: list[OutboxItem] = []
    for _ in range(len(setup.wf.stages)):  # an action's success may move the deal on
        jobs = [j for j in due_actions(state, setup.wf) if (deal_id, j.id) not in result.failed_jobs]
        progressed = False
        for job in jobs:
            before = len(queued)
            outcome = setup.effects.act(setup.actions.get(job.uses or ""), job,
                                        _context(setup, doc, state, job, queued), setup.now)
            if outcome is None:
                continue  # not run (a dry run lists it)
            store.journal(Batch(run_id, actions=[outcome], outbox=queued[before:]))
            result.actions.append({"deal": deal_id, "job": job.id, "action": job.uses, "ok": outcome.ok,
                                   "attempts": outcome.attempts, "output": outcome.output, "error": outcome.error})
            if outcome.ok:
                result.counts["actions_ok"] += 1
                facts.actions_ok[job.id] = setup.now
                progressed = True
                continue
            result.failed_jobs.add((deal_id, job.id))
            result.counts["actions_failed"] += 1
            result.diagnostics.append(Diagnostic(doc.file, f"{deal_id}: action {job.uses} of job {job.id} failed after "
                                                           f"{outcome.attempts} attempt(s): {outcome.error}",
                                                 kind="action_failed"))
            state.errors.append(f"action {job.uses} of job {job.id} failed: {outcome.error}")
        if not progressed:
            break
        errors = state.errors
        state = evaluate(setup.cw, doc.deal, setup.now, facts, file=doc.file)
        state.errors = errors
    return state, queued


def _context(setup: RunSetup, doc: DealDoc, state: DealState, job: Job, queued: list[OutboxItem]) -> ActionContext:
    wf, now = setup.wf, setup.now

    def render(template: str, locale: str | None = None, **extra: Any) -> str:
        return setup.templates.render(template, deal=doc.deal, state=state_summary(state), workflow=wf,
                                      locale=locale or wf.locale, now=now.isoformat(), **extra)

    def notify(channel: str, to: str | None = None, subject: str = "", template: str | None = None,
               body: str | None = None) -> None:
        context = {"deal": doc.deal, "job": {"id": job.id, "title": job.text(wf.locale)},
                   "now": now.isoformat(), "workflow": {"name": wf.name}, "locale": wf.locale}
        recipient = rendered_recipient(to, setup.templates, context) if to else doc.deal.get("owner")
        if body is None:  # a literal body is sent as it is; else the template renders one
            body = setup.templates.render(template or "action_message.txt.j2", **context)
        item = OutboxItem(f"{state.id}:action:{job.id}|{channel}|{recipient}", channel, recipient,
                          setup.templates.render_string(subject, **context).strip(), body,
                          {"deal": {k: doc.deal.get(k) for k in ("id", "name", "owner", "amount")}, "job": job.id},
                          created_at=now)
        if channel not in channels_of(wf):
            raise ValueError(f"no channel '{channel}' in the workflow")
        queued.append(item)

    return ActionContext(deal=doc.deal, state=state, job=job, params=dict(job.with_), workflow=wf, now=now,
                         out_dir=setup.out_dir, dry_run=setup.effects.dry_run, render=render, notify=notify,
                         idempotency_key=idempotency_key(str(doc.deal.get("id")), job.id, now))
