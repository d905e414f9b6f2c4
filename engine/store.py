"""What flowctl keeps between runs, and the interface every store plugin implements.

The core reaches a store only through this interface, opened by the storage hook
(`flowctl_open_store`). Store plugins (SQLite, PostgreSQL, third parties) implement it;
differences between databases stay inside them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, ContextManager, Iterable, Iterator, Protocol, runtime_checkable


@dataclasses.dataclass
class DealRecord:
    """The store's memory of one deal, as the last run left it."""

    deal_id: str
    file: str
    stage: str
    outcome: str
    entered_at: dt.date
    first_seen: dict[str, dt.date] = dataclasses.field(default_factory=dict)  # stage id -> first seen there
    actions_ok: dict[str, dt.date] = dataclasses.field(default_factory=dict)  # automated job id -> succeeded on
    event_keys: set[str] = dataclasses.field(default_factory=set)  # events already raised
    summary: dict = dataclasses.field(default_factory=dict)  # JSON-able state, as `status --format json` shows it
    next_deadline: dt.date | None = None  # when the deal must be looked at again even if its file is unchanged
    workflow_digest: str = ""


@dataclasses.dataclass
class FileEntry:
    """Manifest row: a deal file as last read, so an unchanged file is not parsed again."""

    path: str
    size: int
    mtime_ns: int
    deal_ids: list[str]
    workflow_digest: str
    next_deadline: dt.date | None = None
    ok: bool = True  # False when the file had errors last time (always read again)


@dataclasses.dataclass
class Transition:
    deal_id: str
    from_stage: str | None
    to_stage: str
    at: dt.date
    outcome: str = "open"
    run_id: int | None = None


@dataclasses.dataclass
class Event:
    key: str  # deterministic: the same condition always gives the same key
    kind: str
    deal: str | None  # None for events about the pipeline (metric_alert)
    stage: str | None
    at: dt.date
    data: dict = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict:
        return {"kind": self.kind, "deal": self.deal, "stage": self.stage, "at": self.at.isoformat(),
                "key": self.key, **({"data": self.data} if self.data else {})}


@dataclasses.dataclass
class ActionResult:
    deal_id: str
    job_id: str
    action: str
    ok: bool
    attempts: int
    at: dt.date
    output: dict = dataclasses.field(default_factory=dict)
    error: str | None = None


@dataclasses.dataclass
class OutboxItem:
    key: str  # deterministic (deal, event, stage, date, rule, recipient): queued once, delivered once
    channel: str
    recipient: str | None
    subject: str
    body: str
    payload: dict
    status: str = "queued"  # queued | sending (claimed by a run) | sent | failed | dead | digest (a part) | digested
    attempts: int = 0
    last_error: str | None = None
    created_at: dt.date | None = None
    sent_at: str | None = None
    claimed_by: str | None = None  # "host:pid" of the run delivering it (status sending)


@dataclasses.dataclass
class SnapshotRow:
    deal_id: str
    stage: str
    outcome: str
    amount: float
    probability: float
    forecast_category: str
    owner: str | None


@dataclasses.dataclass
class Batch:
    """Everything a chunk of deals changes in the store, written in ONE transaction."""

    run_id: int
    deals: list[DealRecord] = dataclasses.field(default_factory=list)
    files: list[FileEntry] = dataclasses.field(default_factory=list)
    transitions: list[Transition] = dataclasses.field(default_factory=list)
    events: list[Event] = dataclasses.field(default_factory=list)
    actions: list[ActionResult] = dataclasses.field(default_factory=list)
    outbox: list[OutboxItem] = dataclasses.field(default_factory=list)
    snapshot: list[SnapshotRow] = dataclasses.field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.deals, self.files, self.transitions, self.events, self.actions, self.outbox, self.snapshot))


class StoreError(Exception):
    """The store cannot be opened or written; the message names the URL without secrets."""


@runtime_checkable
class Store(Protocol):
    """A store keeps flowctl's history. All methods may raise StoreError."""

    url: str  # as given, with any password masked

    def start_run(self, now: dt.date, workflow: str, digest: str, argv: list[str], claimer: str | None = None) -> int:
        """Journal the start of a run (status `running`) by the process `claimer`
        ("host:pid"); returns its id."""

    def finish_run(self, run_id: int, status: str, summary: dict) -> None:
        """Journal the end of a run (status: ok | failed | crashed)."""

    def files(self, paths: Iterable[str] | None = None) -> dict[str, FileEntry]:
        """Manifest rows of these deal files (every file when None), by path."""

    def mark_seen(self, run_id: int, paths: Iterable[str]) -> None:
        """Record that this run saw these files (unchanged ones; written rows count as seen)."""

    def unseen_files(self, run_id: int, prefixes: Iterable[str]) -> Iterator[FileEntry]:
        """Manifest rows under these path prefixes that this run did not see."""

    def deals(self, deal_ids: Iterable[str] | None = None) -> dict[str, DealRecord]:
        """Records of these deals (all deals when None), by id."""

    def write(self, batch: Batch) -> None:
        """Write a batch in one transaction: deal records and manifest rows replace
        earlier ones; events, transitions, action results, outbox items and snapshot rows
        are added, and an event or outbox item whose key exists already is ignored."""

    def journal(self, batch: Batch) -> None:
        """Write a batch and commit it at once, even inside `exclusive()` (whose step goes
        on in a new transaction, the lock taken again): used for each action's result the
        moment it succeeds, so a crash repeats at most the action in flight."""

    def actions_done(self, deal_ids: Iterable[str]) -> dict[str, dict[str, dt.date]]:
        """Automated jobs whose action succeeded (job id -> first day), by deal, from the
        action results: also those of a run that died before recording the deal."""

    def exclusive(self) -> ContextManager["Store"]:
        """Hold the store's write lock for one read-evaluate-write step: inside it,
        `deals()` sees what other runs committed and `write()` joins the same
        transaction, so concurrent runs take turns by batch and never act twice on a deal."""

    def carry_forward(self, run_id: int, deal_ids: Iterable[str]) -> list[SnapshotRow]:
        """Copy the stored state of these deals (their files did not change) into the
        run's snapshot, in the database, and return those rows."""

    def forget(self, paths: Iterable[str], deal_ids: Iterable[str]) -> None:
        """Drop manifest rows of deal files that are gone, and records of deals no file
        holds any more (their history stays)."""

    def claim_outbox(self, lease_seconds: float = 300.0, claimer: str | None = None,
                     reclaim: Iterable[str] = ()) -> list[OutboxItem]:
        """Take the queued and failed notifications for delivery by this process (status
        becomes `sending`, `claimed_by` the claimer); items another process claimed longer
        ago than the lease, or whose keys are in `reclaim` (their claimer is known to be
        dead), are taken again. Oldest first."""

    def outbox(self, statuses: tuple[str, ...] = ("queued", "failed")) -> list[OutboxItem]:
        """Notifications in these states, oldest first."""

    def mark_outbox(self, key: str, status: str, error: str | None = None) -> None:
        """Record a delivery attempt of one outbox item (status: sent | failed | dead, the
        last when it failed its channel's max_attempts), or that a digest part was combined
        into a digest message (status: digested)."""

    def requeue_dead(self) -> int:
        """Dead messages become failed with no attempts, to be tried again; returns how many."""

    def transitions(self, deal_id: str | None = None) -> Iterator[Transition]:
        """Stage transitions recorded by earlier runs, oldest first."""

    def known_events(self, keys: Iterable[str]) -> set[str]:
        """Which of these event keys the store has recorded already."""

    def events(self, run_id: int | None = None) -> Iterator[Event]:
        """Events raised, oldest first (of one run when run_id is given)."""

    def action_results(self, deal_id: str | None = None) -> Iterator[ActionResult]:
        """Results of automated jobs, oldest first."""

    def snapshot(self, run_id: int | None = None) -> list[dict]:
        """Pipeline snapshot rows of a run (the latest run when None)."""

    def runs(self, statuses: tuple[str, ...] | None = None) -> list[dict]:
        """The run journal (the runs in these statuses; all when None), newest first:
        id, started, finished, status, summary, now, workflow, digest, argv, claimed_by."""

    def close(self) -> None:
        """Release connections."""


def mask_url(url: str) -> str:
    """The URL (or a message quoting it) with any password replaced by ***."""
    from .redact import mask_secrets
    return mask_secrets(url)


def store_data(value: Any) -> Any:
    """JSON-able form of dates inside a summary."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: store_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [store_data(v) for v in value]
    return value
