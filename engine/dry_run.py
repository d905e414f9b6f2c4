"""`flowctl run --dry-run`: the run's own path with a store that reads the real one (or
nothing, before the first run) and keeps every write as the plan instead of making it,
actions listed instead of run, the outbox listed instead of delivered — the way pytest's
`setupplan` shows fixtures without setting them up.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, Iterable, Iterator

from .delivery import DeliveryReport
from .hooktypes import Action, ActionContext, ChannelType
from .model import Job, Workflow
from .run_result import RunResult
from .store import Batch, DealRecord, Event, FileEntry, OutboxItem, SnapshotRow, Store, Transition

WHY = "dry run"


class DryRun:
    """The effects of a dry run: each one written into `plan` (the run's result)."""

    dry_run = True

    def __init__(self, plan: RunResult):
        self.plan = plan

    def store(self, store: Store | None) -> Store:
        return PlanStore(store, self.plan)  # reads and writes as a Store does

    def act(self, action: Action | None, job: Job, context: ActionContext, now: dt.date) -> None:
        deal_id = str(context.deal.get("id"))
        self.plan.actions.append({"deal": deal_id, "job": job.id, "action": job.uses, "would_run": True})
        self.plan.skipped.append({"what": f"action {job.uses} for {deal_id} ({job.id})", "why": WHY})
        return None

    def deliver(self, store: Store, workflow: Workflow, channel_types: dict[str, ChannelType]) -> DeliveryReport:
        for item in store.outbox(("queued", "failed")):
            self.plan.skipped.append({"what": f"deliver {item.channel} to {item.recipient}: {item.subject}", "why": WHY})
        return DeliveryReport()

    def announce(self, plugins: Any, summary: dict, events: list) -> None:
        return None  # nothing happened for plugins to hear of


class PlanStore:
    """Reads from `inner` (None: an empty store); writes go into the plan."""

    def __init__(self, inner: Store | None, plan: RunResult):
        self.inner, self.plan = inner, plan
        self.url = inner.url if inner is not None else ""
        self._outbox: list[OutboxItem] = []
        self._events: set[str] = set()

    # -- writes, kept --

    def start_run(self, now: dt.date, workflow: str, digest: str, argv: list[str], claimer: str | None = None) -> int:
        return 0

    def finish_run(self, run_id: int, status: str, summary: dict) -> None:
        return None

    def write(self, batch: Batch) -> None:
        self.plan.transitions.extend(_transition(t) for t in batch.transitions)
        self._outbox.extend(batch.outbox)
        self._events.update(e.key for e in batch.events)

    journal = write

    def mark_seen(self, run_id: int, paths: Iterable[str]) -> None:
        self.plan.skipped.extend({"what": f"read {p}", "why": "unchanged since the last run"} for p in paths)

    def carry_forward(self, run_id: int, deal_ids: Iterable[str]) -> list[SnapshotRow]:
        return [SnapshotRow(r.deal_id, r.stage, r.outcome, r.summary.get("amount") or 0.0,
                            r.summary.get("probability") or 0.0, "", None) for r in self.deals(deal_ids).values()]

    def forget(self, paths: Iterable[str], deal_ids: Iterable[str]) -> None:
        return None

    def mark_outbox(self, key: str, status: str, error: str | None = None) -> None:
        self._outbox = [i for i in self._outbox if i.key != key]  # a digest's part, combined

    def claim_outbox(self, lease_seconds: float = 300.0, claimer: str | None = None,
                     reclaim: Iterable[str] = ()) -> list[OutboxItem]:
        return []

    def requeue_dead(self) -> int:
        return len(self.outbox(("dead",)))

    @contextlib.contextmanager
    def exclusive(self) -> Iterator["PlanStore"]:
        yield self

    def close(self) -> None:
        return None  # the real store is its opener's to close

    # -- reads, from the real store and the plan --

    def outbox(self, statuses: tuple[str, ...] = ("queued", "failed")) -> list[OutboxItem]:
        mine = [i for i in self._outbox if i.status in statuses]
        return (self.inner.outbox(statuses) if self.inner is not None else []) + mine

    def known_events(self, keys: Iterable[str]) -> set[str]:
        keys = set(keys)
        return (self.inner.known_events(keys) if self.inner is not None else set()) | (keys & self._events)

    def files(self, paths: Iterable[str] | None = None) -> dict[str, FileEntry]:
        return self.inner.files(paths) if self.inner is not None else {}

    def unseen_files(self, run_id: int, prefixes: Iterable[str]) -> Iterator[FileEntry]:
        return self.inner.unseen_files(run_id, prefixes) if self.inner is not None else iter(())

    def deals(self, deal_ids: Iterable[str] | None = None) -> dict[str, DealRecord]:
        return self.inner.deals(deal_ids) if self.inner is not None else {}

    def actions_done(self, deal_ids: Iterable[str]) -> dict[str, dict[str, dt.date]]:
        return self.inner.actions_done(deal_ids) if self.inner is not None else {}

    def transitions(self, deal_id: str | None = None) -> Iterator[Transition]:
        return self.inner.transitions(deal_id) if self.inner is not None else iter(())

    def events(self, run_id: int | None = None) -> Iterator[Event]:
        return self.inner.events(run_id) if self.inner is not None else iter(())

    def action_results(self, deal_id: str | None = None) -> Iterator[Any]:
        return self.inner.action_results(deal_id) if self.inner is not None else iter(())

    def snapshot(self, run_id: int | None = None) -> list[dict]:
        return self.inner.snapshot(run_id) if self.inner is not None else []

    def runs(self, statuses: tuple[str, ...] | None = None) -> list[dict]:
        return self.inner.runs(statuses) if self.inner is not None else []


def _transition(t: Transition) -> dict:
    return {"deal": t.deal_id, "from": t.from_stage, "to": t.to_stage, "outcome": t.outcome, "at": t.at.isoformat()}
