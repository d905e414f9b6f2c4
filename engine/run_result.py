"""What a run did: the deals, events, actions, notifications and problems it met, and the
summary the journal keeps. Errors are counted from the diagnostics (each error-level
diagnostic is one error), never by hand.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from .diagnostics import Diagnostic
from .notify import DIGEST_PART, UNRENDERED
from .store import Event, OutboxItem
from .totals import StageTotals

KEPT = 1000  # without --format json, a run keeps only this many events and claims (and counts them all)


def _counts() -> dict[str, Any]:
    return {"deals": 0, "unchanged": 0, "actions_ok": 0, "actions_failed": 0,
            "notifications_queued": 0, "sent": 0, "delivery_failed": 0}


@dataclasses.dataclass
class RunResult:
    keep_deals: bool = True  # every deal's summary and every event (--format json, dry runs)
    deals: list[dict] = dataclasses.field(default_factory=list)
    events: list[Event] = dataclasses.field(default_factory=list)
    events_by_kind: dict[str, int] = dataclasses.field(default_factory=dict)
    diagnostics: list[Diagnostic] = dataclasses.field(default_factory=list)
    actions: list[dict] = dataclasses.field(default_factory=list)
    notifications: list[dict] = dataclasses.field(default_factory=list)
    transitions: list[dict] = dataclasses.field(default_factory=list)  # the plan's (dry run)
    skipped: list[dict] = dataclasses.field(default_factory=list)  # what a run did not do, and why
    warnings: list[str] = dataclasses.field(default_factory=list)
    claims: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (deal, unsupported `stage:` claim)
    counts: dict[str, Any] = dataclasses.field(default_factory=_counts)
    file_digests: dict[str, str] = dataclasses.field(default_factory=dict)
    totals: StageTotals = dataclasses.field(default_factory=StageTotals)
    seen: dict[str, str] = dataclasses.field(default_factory=dict)  # deal id -> its file, for this run so far
    failed_jobs: set[tuple[str, str]] = dataclasses.field(default_factory=set)  # (deal, job): tried once per run

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == "error")

    @property
    def by_stage(self) -> dict[str, dict]:
        return self.totals.to_json()

    def event(self, event: Event) -> None:
        self.events_by_kind[event.kind] = self.events_by_kind.get(event.kind, 0) + 1
        if self.keep_deals or len(self.events) < KEPT:
            self.events.append(event)

    def claim(self, deal_id: str, claim: str) -> None:
        if self.keep_deals or len(self.claims) < KEPT:
            self.claims.append((deal_id, claim))

    def queued(self, items: list[OutboxItem]) -> None:
        """Messages put in the outbox (a message whose template failed is a warning; a
        digest's part is counted when its digest is made)."""
        for item in items:
            if item.status == DIGEST_PART:
                continue
            if item.status == UNRENDERED:
                self.warnings.append(f"notification not queued for {item.payload['events'][0].get('deal')}: {item.last_error}")
                continue
            self.counts["notifications_queued"] += 1
            self.notifications.append({"key": item.key, "channel": item.channel, "to": item.recipient,
                                       "subject": item.subject})

    def summary(self, dry_run: bool) -> dict:
        return {"dry_run": dry_run, "deals": self.counts["deals"], "errors": self.errors,
                "by_stage": self.by_stage, "events": dict(sorted(self.events_by_kind.items())),
                **{k: v for k, v in self.counts.items() if k != "deals"}, "warnings": self.warnings}

    def merge(self, other: "RunResult") -> None:
        """Add another process's result (run --jobs)."""
        for name in ("deals", "events", "diagnostics", "actions", "notifications", "transitions", "skipped",
                     "warnings", "claims"):
            getattr(self, name).extend(getattr(other, name))
        for kind, count in other.events_by_kind.items():
            self.events_by_kind[kind] = self.events_by_kind.get(kind, 0) + count
        for key, value in other.counts.items():
            if isinstance(value, int):
                self.counts[key] = self.counts.get(key, 0) + value
        self.totals.merge(other.totals)
        self.file_digests.update(other.file_digests)
