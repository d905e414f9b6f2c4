"""`flowctl run`: the data path, top to bottom.

load workflow -> compile -> for each changed deal file: read, check, evaluate -> run
automated jobs -> diff with the store (events) -> notifications into the outbox ->
record the batch in one transaction -> deliver the outbox.
Unchanged files (same size, mtime and workflow, no deadline passed) are not read again.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import os
import zlib
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .actions import due_actions, run_action
from .compiled import CompiledWorkflow
from .deals import DealDoc, find_files
from .diagnostics import Diagnostic
from .evaluate import DealState, Facts, evaluate
from .events import new_events
from .journal import close_dead_runs
from .liveness import process_tag
from .metrics import MetricSet, alert_configs, metric_alerts, slim_from_summary
from .hooktypes import ActionContext
from .model import Workflow
from .delivery import deliver
from .notify import DIGEST_PART, DIGESTED, UNRENDERED, Notifier, channels_of
from .pipeline import duplicate_id, read_checked
from .severity import errors_of, warnings_of
from .store import ActionResult, Batch, DealRecord, Event, FileEntry, OutboxItem, SnapshotRow, Store, Transition
from .summary import claim_text, error_summary, state_summary
from .templating import Templates

BATCH_SIZE = 500
KEPT_EVENTS = 1000  # without --format json, a run keeps only this many events (and counts them all)


@dataclasses.dataclass
class RunResult:
    deals: list[dict] = dataclasses.field(default_factory=list)
    events: list[Event] = dataclasses.field(default_factory=list)
    events_by_kind: dict[str, int] = dataclasses.field(default_factory=dict)
    diagnostics: list[Diagnostic] = dataclasses.field(default_factory=list)
    actions: list[dict] = dataclasses.field(default_factory=list)
    notifications: list[dict] = dataclasses.field(default_factory=list)
    transitions: list[dict] = dataclasses.field(default_factory=list)
    skipped: list[dict] = dataclasses.field(default_factory=list)  # what a run did not do, and why
    warnings: list[str] = dataclasses.field(default_factory=list)
    claims: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (deal, unsupported `stage:` claim)
    errors: int = 0
    counts: dict[str, Any] = dataclasses.field(default_factory=dict)
    file_digests: dict[str, str] = dataclasses.field(default_factory=dict)

    by_stage: dict[str, dict] = dataclasses.field(default_factory=dict)

    def tally(self, summary: dict) -> None:
        """Count a deal into the per-stage figures (kept even when deals are not)."""
        key = summary["stage"] if summary.get("outcome") == "open" else summary.get("outcome")
        row = self.by_stage.setdefault(key, {"count": 0, "amount": 0.0, "weighted": 0.0})
        row["count"] += 1
        row["amount"] += summary.get("amount") or 0
        row["weighted"] += summary.get("weighted_amount") or 0

    def summary(self, dry_run: bool) -> dict:
        return {"dry_run": dry_run, "deals": self.counts.get("deals", len(self.deals)), "errors": self.errors,
                "by_stage": self.by_stage, "events": dict(sorted(self.events_by_kind.items())), **{k: v for k, v in self.counts.items() if k != "deals"},
                "warnings": self.warnings}


def _facts(record: DealRecord | None, done: dict[str, dt.date] | None = None) -> Facts:
    """What the store knows of a deal that evaluation uses (a fresh copy); `done` are the
    actions the journal holds (some journaled by a run that died before recording the deal)."""
    first_seen = dict(record.first_seen) if record else {}
    return Facts(first_seen, {**(done or {}), **(record.actions_ok if record else {})})


def idempotency_key(deal_id: str, job_id: str, day: dt.date) -> str:
    """The same for every attempt at one automated job of one deal on one day, across
    retries and across a run that repeats the action in flight after a crash."""
    return f"{deal_id}|{job_id}|{day.isoformat()}"


def share(key: str, n: int) -> int:
    """Which of n parts a file path or deal id falls in: stable across processes and
    machines (Python's own hash is salted per process)."""
    return zlib.crc32(key.encode("utf-8")) % n


@contextlib.contextmanager
def _fewer_collections(threshold: int = 10_000) -> Iterator[None]:
    """A run makes millions of short-lived objects, nearly all freed by reference
    counting; with the default threshold (700) the cyclic collector would walk them, and
    everything loaded before the run, over and over (about a tenth of a cold run)."""
    old = gc.get_threshold()
    gc.freeze()  # workflow, plugins, modules: live for the whole run, not worth walking
    gc.set_threshold(max(threshold, old[0]), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


class Runner:
    def __init__(self, workflow: Workflow, workflow_path: str, plugins: Any, store: Store | None, now: dt.date,
                 *, dry_run: bool = False, keep_deals: bool = True, digests: bool = False,
                 sleep: Callable[[float], None] | None = None, run_id: int | None = None,
                 part: tuple[int, int] | None = None, shard: tuple[int, int] | None = None, retry_dead: bool = False):
        self.wf = workflow
        self.cw = CompiledWorkflow(workflow)
        self.plugins = plugins
        self.store = store
        self.now = now
        self.dry_run = dry_run
        self.keep_deals = keep_deals
        self.want_digests = digests
        self.templates = Templates.for_workflow(workflow_path, plugins.template_dirs())
        self.notifier = Notifier(workflow, self.templates)
        self.actions = plugins.actions()
        self.out_dir = Path(workflow_path).resolve().parent / ".flowctl" / "artifacts"
        self.sleep = sleep
        self.result = RunResult(counts={"deals": 0, "unchanged": 0, "actions_ok": 0, "actions_failed": 0,
                                        "notifications_queued": 0, "sent": 0, "delivery_failed": 0})
        self.run_id = run_id or 0
        self.part = part  # (i, n): this process takes the files whose path hashes to i (--jobs)
        self.shard = shard  # (k, n): this run takes the deals whose id hashes to k (--shard)
        self.retry_dead = retry_dead  # dead messages are tried again (--retry-dead)
        self._chunk: list[tuple[DealDoc, list[Diagnostic]]] = []  # deals read, waiting for a batch
        self._entries: list[FileEntry] = []  # their files' manifest rows
        self._unchanged_entries: list[FileEntry] = []  # files unchanged since the last run
        self.seen_ids: set[str] = set()  # deals of this run so far (duplicates; forgetting vanished files)
        self._pending_outbox: list[OutboxItem] = []  # messages queued by `notify` actions
        self._dry_parts: list[OutboxItem] = []  # digest parts, when there is no store to keep them
        self._failed_actions: set[tuple[str, str]] = set()  # (deal, job): tried once per run, never again in it
        self._done: dict[str, dict[str, dt.date]] = {}  # journaled actions of the chunk's deals
        # Declared metrics with a target, fed every deal of the run, raise metric_alert.
        configs = alert_configs(workflow)
        self.watch = MetricSet(workflow, now, plugins, configs) if configs else None

    # -- the data path --

    def run(self, paths: Iterable[str], progress: Callable[[Iterable[str]], Any] | None = None) -> RunResult:
        """A whole run in this process: journal, data path, forgetting, delivery."""
        paths = list(paths)
        self.start()
        self.scan(paths, progress)
        self.alerts()
        self.combine_digests()
        self.finish(paths, self.seen_ids)
        return self.result

    def start(self) -> None:
        if self.store is not None and not self.dry_run and not self.run_id:
            close_dead_runs(self.store)
            self.run_id = self.store.start_run(self.now, self.wf.path, self.wf.digest, [], claimer=process_tag())

    def scan(self, paths: list[str], progress: Callable[[Iterable[str]], Any] | None = None) -> RunResult:
        """The data path over this run's share of the deal files. The manifest is looked
        up a chunk of files at a time, so memory does not grow with their number."""
        with _fewer_collections():
            return self._scan(paths, progress)

    def _scan(self, paths: list[str], progress: Callable[[Iterable[str]], Any] | None) -> RunResult:
        files: Iterable[str] = find_files(paths)
        if progress is not None:
            files = progress(list(files))
        pending: list[str] = []
        for file in files:
            if self.part is not None and share(file, self.part[1]) != self.part[0]:
                continue  # another process's file
            pending.append(file)
            if len(pending) >= BATCH_SIZE:
                self._scan_chunk(pending)
                pending = []
        self._scan_chunk(pending)
        self._process(self._chunk, self._entries)
        self._reuse(self._unchanged_entries)
        self._chunk, self._entries, self._unchanged_entries = [], [], []
        for failure in self.plugins.take_failures():
            self.result.errors += 1
            self.result.diagnostics.append(Diagnostic(failure.plugin, str(failure)))
        return self.result

    def _scan_chunk(self, files: list[str]) -> None:
        if not files:
            return
        manifest = self.store.files(files) if self.store is not None else {}
        for file in files:
            entry = manifest.get(file)
            if self.shard is not None and entry is not None and not any(self._mine(i) for i in entry.deal_ids):
                continue  # another machine's deals (known from the last run)
            try:
                st = os.stat(file)
            except OSError as exc:
                self._file_error(Diagnostic(file, f"cannot read: {exc.strerror}"))
                continue
            if self._unchanged(entry, st):
                self._unchanged_entries.append(entry)
                if len(self._unchanged_entries) >= BATCH_SIZE:
                    self._reuse(self._unchanged_entries)
                    self._unchanged_entries = []
                continue
            self._read(file, st)

    def _read(self, file: str, st: os.stat_result) -> None:
        text, docs, problems = read_checked(self.cw, file)
        if text is not None and self.want_digests:
            self.result.file_digests[file] = hashlib.sha256(text.encode()).hexdigest()
        for p in problems:
            self._file_error(p)
        ok = not problems
        ids = []
        for doc, found in docs:
            deal_id = str(doc.deal.get("id"))
            ids.append(deal_id)
            if not self._mine(deal_id):
                continue
            if errors_of(found):
                ok = False
                self._deal_error(file, deal_id, found)
                continue
            if deal_id in self.seen_ids:
                ok = False
                self._deal_error(file, deal_id, [duplicate_id(doc, deal_id)])
                continue
            self.seen_ids.add(deal_id)
            self.result.diagnostics.extend(found)
            self._chunk.append((doc, found))
        if all(self._mine(i) for i in ids):  # a file with other shards' deals is theirs to record too
            self._entries.append(FileEntry(file, st.st_size, st.st_mtime_ns, ids, self.wf.digest, None, ok))
        if len(self._chunk) >= BATCH_SIZE:
            self._process(self._chunk, self._entries)
            self._chunk, self._entries = [], []

    def alerts(self, metrics: "MetricSet | None" = None) -> None:
        """metric_alert events (once a day each) for declared metrics off their target."""
        metrics = metrics or self.watch
        if metrics is None:
            return
        events = metric_alerts(metrics.results(), self.now)
        if self.store is not None and events:
            known = self.store.known_events(e.key for e in events)
            events = [e for e in events if e.key not in known]
        if not events:
            return
        batch = Batch(self.run_id, events=events)
        for event in events:
            self.result.events_by_kind[event.kind] = self.result.events_by_kind.get(event.kind, 0) + 1
            self.result.events.append(event)
            items = self.notifier.items_for(event, None, self.now)
            batch.outbox.extend(items)
            self._note_outbox(items)
        if self.store is not None and not self.dry_run:
            self.store.write(batch)

    def finish(self, paths: list[str], seen_ids: set[str]) -> None:
        """After the data path: forget vanished files, deliver the outbox."""
        store = self.store
        if store is not None and not self.dry_run:
            if self.shard is None:
                self._forget_vanished(paths, seen_ids)
            if self.retry_dead:
                self.result.counts["revived"] = store.requeue_dead()
            report = deliver(store, self.wf, self.plugins.channel_types())
            self.result.counts["sent"] = report.sent
            self.result.counts["delivery_failed"] = len(report.failed)
            self.result.counts["dead"] = report.dead
            self.result.counts["channels"] = dict(sorted(report.by_channel.items()))
            for failure in report.failed:
                self.result.warnings.append(f"notification not delivered (kept in the outbox for the next run): {failure}")
        elif store is not None:
            for item in store.outbox(("queued", "failed")):
                self.result.skipped.append({"what": f"deliver {item.channel} to {item.recipient}: {item.subject}",
                                            "why": "dry run"})
        for failure in self.plugins.take_failures():
            self.result.errors += 1
            self.result.diagnostics.append(Diagnostic(failure.plugin, str(failure)))

    def _mine(self, deal_id: str) -> bool:
        return self.shard is None or share(deal_id, self.shard[1]) == self.shard[0]

    def _forget_vanished(self, paths: list[str], seen_ids: set[str]) -> None:
        """Files the store knew under the folders of this run that this run did not see,
        and that are not there any more: forget them, and the deals no file holds."""
        roots = [os.path.join(p, "") if os.path.isdir(p) else p for p in paths]
        gone = [e for e in self.store.unseen_files(self.run_id, roots) if not os.path.isfile(e.path)]
        if gone:
            self.store.forget([e.path for e in gone], [i for e in gone for i in e.deal_ids if i not in seen_ids])

    def _unchanged(self, entry: FileEntry | None, st: os.stat_result) -> bool:
        return (entry is not None and entry.ok and entry.size == st.st_size and entry.mtime_ns == st.st_mtime_ns
                and entry.workflow_digest == self.wf.digest
                and (entry.next_deadline is None or entry.next_deadline > self.now))

    def _reuse(self, unchanged: list[FileEntry]) -> None:
        """Deals of unchanged files: their last state stands and is carried into this
        run's snapshot by the store, without reading or decoding them here."""
        if not unchanged or self.store is None:
            return
        ids = [i for e in unchanged for i in e.deal_ids if self._mine(i)]
        self.seen_ids.update(ids)
        if self.dry_run:
            self.result.skipped.extend({"what": f"read {e.path}", "why": "unchanged since the last run"} for e in unchanged)
            rows = [SnapshotRow(r.deal_id, r.stage, r.outcome, r.summary.get("amount") or 0.0,
                                r.summary.get("probability") or 0.0, "", None) for r in self.store.deals(ids).values()]
        else:
            rows = self.store.carry_forward(self.run_id, ids)
            self.store.mark_seen(self.run_id, [e.path for e in unchanged])
        self.result.counts["deals"] += len(rows)
        self.result.counts["unchanged"] += len(rows)
        for row in rows:
            self.result.tally({"stage": row.stage, "outcome": row.outcome, "amount": row.amount,
                               "weighted_amount": row.amount * row.probability if row.outcome == "open" else 0.0})
        if self.keep_deals or self.watch is not None:
            records = self.store.deals([r.deal_id for r in rows]).values()
            if self.keep_deals:
                self.result.deals.extend(r.summary for r in records)
            if self.watch is not None:
                for record in records:
                    self.watch.add(slim_from_summary(record.summary, self.now))

    def _process(self, chunk: list[tuple[DealDoc, list[Diagnostic]]], entries: list[FileEntry]) -> None:
        if not chunk and not entries:
            return
        if self.store is None:
            self._step(chunk, entries, {}, {})
            return
        ids = [str(doc.deal.get("id")) for doc, _ in chunk]
        # Evaluate outside the store's lock (the costly part, done by many processes at
        # once with --jobs); under the lock, only deals whose stored facts changed in
        # between are evaluated again.
        seen, done = self.store.deals(ids), self.store.actions_done(ids)
        early = {doc.deal.get("id"): evaluate(self.cw, doc.deal, self.now,
                                              _facts(seen.get(str(doc.deal.get("id"))), done.get(str(doc.deal.get("id")))),
                                              file=doc.file) for doc, _ in chunk}
        if self.dry_run:
            self._done = done
            self._step(chunk, entries, seen, early)
            return
        with self.store.exclusive():  # concurrent runs take turns by batch
            records, self._done = self.store.deals(ids), self.store.actions_done(ids)
            for deal_id in ids:
                if _facts(records.get(deal_id), self._done.get(deal_id)) != _facts(seen.get(deal_id), done.get(deal_id)):
                    early.pop(deal_id, None)
            self.store.write(self._step(chunk, entries, records, early))

    def _step(self, chunk: list[tuple[DealDoc, list[Diagnostic]]], entries: list[FileEntry],
              records: dict[str, DealRecord], early: dict[Any, DealState]) -> Batch:
        """The batch that records a chunk of deals against what the store last saw."""
        batch = Batch(self.run_id, files=entries)
        deadlines: dict[str, dt.date] = {}
        failed_files: set[str] = set()
        for doc, found in chunk:
            deal_id = str(doc.deal.get("id"))
            previous = records.get(deal_id)
            state, results = self._evaluate_and_act(doc, previous, early.get(doc.deal.get("id")))
            if found:
                state.warnings = warnings_of(found)
            batch.actions.extend(results)
            events = new_events(state, self.wf, previous, self.now)
            for event in events:
                self.result.events_by_kind[event.kind] = self.result.events_by_kind.get(event.kind, 0) + 1
                if self.keep_deals or len(self.result.events) < KEPT_EVENTS:
                    self.result.events.append(event)
                items = self.notifier.items_for(event, doc.deal, self.now)
                if items:
                    batch.outbox.extend(items)
                    self._note_outbox(items)
            batch.events.extend(events)
            if self._pending_outbox:  # queued by `notify` actions, kept with them
                batch.outbox.extend(self._pending_outbox)
                self._note_outbox(self._pending_outbox)
                self._pending_outbox = []
            summary = state_summary(state)
            claim = claim_text(state.claim)
            if claim and (self.keep_deals or len(self.result.claims) < KEPT_EVENTS):
                self.result.claims.append((deal_id, claim))
            record = self._record(state, previous, events, summary)
            batch.deals.append(record)
            if previous is None or previous.stage != state.stage or previous.outcome != state.outcome:
                transition = Transition(deal_id, previous.stage if previous else None, state.stage,
                                        state.entered_at, state.outcome, self.run_id)
                batch.transitions.append(transition)
                if self.dry_run:  # the plan lists them; a real run keeps them in the store only
                    self.result.transitions.append({"deal": deal_id, "from": transition.from_stage, "to": state.stage,
                                                    "outcome": state.outcome, "at": state.entered_at.isoformat()})
            batch.snapshot.append(SnapshotRow(deal_id, state.stage, state.outcome, state.amount, state.probability,
                                              state.forecast_category, state.owner))
            self.result.tally(summary)
            if self.watch is not None:
                self.watch.add(state)
            if state.errors:
                failed_files.add(doc.file)  # read it again next time: its actions are to be retried
            if state.next_deadline is not None:
                current = deadlines.get(doc.file)
                deadlines[doc.file] = min(current, state.next_deadline) if current else state.next_deadline
            self.result.counts["deals"] += 1
            if self.keep_deals:
                self.result.deals.append(summary)
        for entry in entries:
            entry.next_deadline = deadlines.get(entry.path)
            entry.ok = entry.ok and entry.path not in failed_files
        return batch

    def _evaluate_and_act(self, doc: DealDoc, previous: DealRecord | None,
                          state: DealState | None) -> tuple[DealState, list]:
        deal_id = str(doc.deal.get("id"))
        facts = _facts(previous, self._done.get(deal_id))
        results: list[ActionResult] = []
        if state is None:
            state = evaluate(self.cw, doc.deal, self.now, facts, file=doc.file)
        for _ in range(len(self.wf.stages)):  # an action's success may move the deal on
            jobs = [j for j in due_actions(state, self.wf) if (deal_id, j.id) not in self._failed_actions]
            if not jobs:
                break
            progressed = False
            for job in jobs:
                if self.dry_run:
                    self.result.actions.append({"deal": deal_id, "job": job.id, "action": job.uses, "would_run": True})
                    self.result.skipped.append({"what": f"action {job.uses} for {deal_id} ({job.id})", "why": "dry run"})
                    continue
                queued = len(self._pending_outbox)
                result = run_action(self.actions.get(job.uses or ""), job, self._action_context(doc, state, job),
                                    self.now, **({"sleep": self.sleep} if self.sleep else {}))
                if self.store is not None:  # journaled now, with what it queued: a crash cannot repeat it
                    self.store.journal(Batch(self.run_id, actions=[result], outbox=self._pending_outbox[queued:]))
                else:
                    results.append(result)
                self.result.actions.append({"deal": deal_id, "job": job.id, "action": job.uses, "ok": result.ok,
                                            "attempts": result.attempts, "output": result.output, "error": result.error})
                if result.ok:
                    self.result.counts["actions_ok"] += 1
                    facts.actions_ok[job.id] = self.now
                    progressed = True
                else:
                    self._failed_actions.add((deal_id, job.id))
                    self.result.counts["actions_failed"] += 1
                    self.result.errors += 1
                    state.errors.append(f"action {job.uses} of job {job.id} failed: {result.error}")
            if not progressed:
                break
            errors = state.errors
            state = evaluate(self.cw, doc.deal, self.now, facts, file=doc.file)
            state.errors = errors
        return state, results

    def _action_context(self, doc: DealDoc, state: DealState, job: Any) -> ActionContext:
        def render(template: str, locale: str | None = None, **extra: Any) -> str:
            return self.templates.render(template, deal=doc.deal, state=state_summary(state), workflow=self.wf,
                                         locale=locale or self.wf.locale, now=self.now.isoformat(), **extra)

        def notify(channel: str, to: str | None = None, subject: str = "", template: str | None = None,
                   body: str | None = None) -> None:
            context = {"deal": doc.deal, "job": {"id": job.id, "title": job.text(self.wf.locale)},
                       "now": self.now.isoformat(), "workflow": {"name": self.wf.name}, "locale": self.wf.locale}
            recipient = self.templates.render_string(to, **context).strip() if to else doc.deal.get("owner")
            if body is None:  # a literal body is sent as it is; else the template renders one
                body = self.templates.render(template or "action_message.txt.j2", **context)
            item = OutboxItem(f"{state.id}:action:{job.id}|{channel}|{recipient}", channel, recipient,
                              self.templates.render_string(subject, **context).strip(), body,
                              {"deal": {k: doc.deal.get(k) for k in ("id", "name", "owner", "amount")}, "job": job.id},
                              created_at=self.now)
            if channel not in channels_of(self.wf):
                raise ValueError(f"no channel '{channel}' in the workflow")
            self._pending_outbox.append(item)

        return ActionContext(deal=doc.deal, state=state, job=job, params=dict(job.with_), workflow=self.wf,
                             now=self.now, out_dir=self.out_dir, dry_run=self.dry_run, render=render, notify=notify,
                             idempotency_key=idempotency_key(str(doc.deal.get("id")), job.id, self.now))

    def _record(self, state: DealState, previous: DealRecord | None, events: list[Event], summary: dict) -> DealRecord:
        first_seen = dict(previous.first_seen) if previous else {}
        first_seen.setdefault(state.stage, state.entered_at if state.entered_from == "first_seen" else self.now)
        actions_ok = dict(previous.actions_ok) if previous else {}
        for job in state.jobs:
            if job.how == "action" and job.done_at is not None:
                actions_ok.setdefault(job.id, job.done_at)
        keys = set(previous.event_keys) if previous else set()
        keys.update(e.key for e in events)
        return DealRecord(state.id, state.file or "", state.stage, state.outcome, state.entered_at, first_seen,
                          actions_ok, keys, summary, state.next_deadline, self.wf.digest)

    def _note_outbox(self, items: list[OutboxItem]) -> None:
        parts = [i for i in items if i.status == DIGEST_PART]
        if parts:
            if self.store is None or self.dry_run:
                self._dry_parts.extend(parts)
            items = [i for i in items if i.status != DIGEST_PART]
        for item in items:
            if item.status == UNRENDERED:
                self.result.warnings.append(f"notification not queued for {item.payload['events'][0].get('deal')}: {item.last_error}")
        items = [i for i in items if i.status != UNRENDERED]
        self.result.counts["notifications_queued"] += len(items)
        for item in items:
            self.result.notifications.append({"key": item.key, "channel": item.channel, "to": item.recipient,
                                              "subject": item.subject})

    def combine_digests(self) -> None:
        """Combine the waiting digest parts (this run's, and any a crashed run left) into
        one message per recipient, and mark the parts, in one transaction."""
        if not any(r.get("digest") for r in self.wf.notifications):
            return
        if self.store is None or self.dry_run:
            items = self.notifier.digests(self._dry_parts, self.now)
            self._note_outbox(items)
            return
        with self.store.exclusive():
            parts = self.store.outbox((DIGEST_PART,))
            items = self.notifier.digests(parts, self.now)
            self.store.write(Batch(self.run_id, outbox=items))
            for part in parts:
                self.store.mark_outbox(part.key, DIGESTED)
        self._note_outbox(items)

    def _file_error(self, diagnostic: Diagnostic) -> None:
        self.result.errors += 1
        self.result.diagnostics.append(diagnostic)
        if self.keep_deals:
            self.result.deals.append(error_summary(None, diagnostic.file, [diagnostic.format()]))

    def _deal_error(self, file: str, deal_id: str, found: list[Diagnostic]) -> None:
        self.result.errors += 1
        self.result.diagnostics.extend(found)
        if self.keep_deals:
            self.result.deals.append(error_summary(deal_id, file, [d.format() for d in errors_of(found)], warnings_of(found)))
