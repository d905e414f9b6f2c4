"""`flowctl run`, one batch of changed deals: evaluate, act, diff with the store, queue
notifications, record — in ONE store transaction. Evaluation (the costly part, done by
many processes at once with --jobs) happens before the store's lock is taken; under the
lock only deals whose stored facts changed in between are evaluated again.

Each deal goes through `safely` (the net `status` and the other look commands use too):
whatever no check foresaw fails that deal alone, an error naming it; every other deal of
the batch is recorded.
"""
from __future__ import annotations

import datetime as dt

from .acting import act
from .deals import DealDoc
from .diagnostics import Diagnostic
from .evaluate import DealState, Facts, evaluate
from .events import new_events
from .model import Workflow
from .pipeline import safely
from .run_result import RunResult
from .run_setup import RunSetup
from .severity import warnings_of
from .store import Batch, DealRecord, Event, FileEntry, OutboxItem, SnapshotRow, Store, Transition
from .summary import claim_text, error_summary, state_summary

Done = dict[str, dict[str, dt.date]]  # journaled actions (job id -> day), by deal


def facts_of(record: DealRecord | None, done: dict[str, dt.date] | None = None) -> Facts:
    """What the store knows of a deal that evaluation uses (a fresh copy); `done` are the
    actions the journal holds (some journaled by a run that died before recording the deal)."""
    first_seen = dict(record.first_seen) if record else {}
    return Facts(first_seen, {**(done or {}), **(record.actions_ok if record else {})})


def record_batch(setup: RunSetup, store: Store, run_id: int, deals: list[tuple[DealDoc, list[Diagnostic]]],
                 files: list[FileEntry], result: RunResult) -> None:
    ids = [str(doc.deal.get("id")) for doc, _ in deals]
    seen, done = store.deals(ids), store.actions_done(ids)
    early: dict[str, DealState] = {}
    for doc, _ in deals:
        deal_id = str(doc.deal.get("id"))
        state = safely(doc, lambda: evaluate(setup.cw, doc.deal, setup.now, facts_of(seen.get(deal_id), done.get(deal_id)),
                                             file=doc.file))
        if isinstance(state, DealState):
            early[deal_id] = state
    with store.exclusive():  # concurrent runs take turns by batch
        records, done_now = store.deals(ids), store.actions_done(ids)
        for deal_id in ids:
            if facts_of(records.get(deal_id), done_now.get(deal_id)) != facts_of(seen.get(deal_id), done.get(deal_id)):
                early.pop(deal_id, None)
        store.write(step(setup, store, run_id, deals, files, records, early, done_now, result))


def step(setup: RunSetup, store: Store, run_id: int, deals: list[tuple[DealDoc, list[Diagnostic]]],
         files: list[FileEntry], records: dict[str, DealRecord], early: dict[str, DealState], done: Done,
         result: RunResult) -> Batch:
    """The batch that records these deals against what the store last saw."""
    batch = Batch(run_id, files=files)
    deadlines: dict[str, dt.date] = {}
    failed_files: set[str] = set()
    for doc, found in deals:
        got = safely(doc, lambda: _deal(setup, store, run_id, doc, found, records, early, done, result, batch))
        if isinstance(got, Diagnostic):
            failed_files.add(doc.file)
            result.diagnostics.append(got)
            if result.keep_deals:
                result.deals.append(error_summary(str(doc.deal.get("id")), doc.file, [got.format()], warnings_of(found)))
            continue
        if got.errors:
            failed_files.add(doc.file)  # read it again next time: its actions are to be retried
        if got.next_deadline is not None:
            current = deadlines.get(doc.file)
            deadlines[doc.file] = min(current, got.next_deadline) if current else got.next_deadline
    for entry in files:
        entry.next_deadline = deadlines.get(entry.path)
        entry.ok = entry.ok and entry.path not in failed_files
    return batch


def _deal(setup: RunSetup, store: Store, run_id: int, doc: DealDoc, found: list[Diagnostic],
          records: dict[str, DealRecord], early: dict[str, DealState], done: Done, result: RunResult,
          batch: Batch) -> DealState:
    """One deal into the batch (added only once all of it is known); its final state."""
    wf, now = setup.wf, setup.now
    deal_id = str(doc.deal.get("id"))
    previous = records.get(deal_id)
    facts = facts_of(previous, done.get(deal_id))
    state = early.get(deal_id) or evaluate(setup.cw, doc.deal, now, facts, file=doc.file)
    state, queued_by_actions = act(setup, store, run_id, doc, state, facts, result)
    if found:
        state.warnings = warnings_of(found)
    events = new_events(state, wf, previous, now)
    outbox: list[OutboxItem] = []
    for event in events:
        outbox.extend(setup.notifier.items_for(event, doc.deal, now))
    outbox.extend(queued_by_actions)  # kept with the actions that queued them
    summary = state_summary(state)
    record = record_of(state, previous, events, summary, wf, now)
    transition = None
    if previous is None or previous.stage != state.stage or previous.outcome != state.outcome:
        transition = Transition(deal_id, previous.stage if previous else None, state.stage, state.entered_at,
                                state.outcome, run_id)
    # All of the deal is known: now it counts.
    for event in events:
        result.event(event)
    result.queued(outbox)
    claim = claim_text(state.claim)
    if claim:
        result.claim(deal_id, claim)
    batch.events.extend(events)
    batch.outbox.extend(outbox)
    batch.deals.append(record)
    if transition is not None:
        batch.transitions.append(transition)
    batch.snapshot.append(SnapshotRow(deal_id, state.stage, state.outcome, state.amount, state.probability,
                                      state.forecast_category, state.owner))
    result.totals.add_state(state)
    if setup.watch is not None:
        setup.watch.add(state)
    result.counts["deals"] += 1
    if result.keep_deals:
        result.deals.append(summary)
    return state


def record_of(state: DealState, previous: DealRecord | None, events: list[Event], summary: dict, wf: Workflow,
              now: dt.date) -> DealRecord:
    """What the store keeps of the deal after this run."""
    first_seen = dict(previous.first_seen) if previous else {}
    first_seen.setdefault(state.stage, state.entered_at if state.entered_from == "first_seen" else now)
    actions_ok = dict(previous.actions_ok) if previous else {}
    for job in state.jobs:
        if job.how == "action" and job.done_at is not None:
            actions_ok.setdefault(job.id, job.done_at)
    keys = set(previous.event_keys) if previous else set()
    keys.update(e.key for e in events)
    return DealRecord(state.id, state.file or "", state.stage, state.outcome, state.entered_at, first_seen,
                      actions_ok, keys, summary, state.next_deadline, wf.digest)
