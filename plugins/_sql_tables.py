"""The tables of the SQL stores and the migrations that build them, step by step."""
from __future__ import annotations

import dataclasses


# --------------------------------------------------------------------------- tables

@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...] = ()  # unique key: a conflicting row is ignored, or replaces (upsert)
    upsert: bool = False

    def insert(self) -> str:
        placeholders = ", ".join("?" * len(self.columns))
        return f"INSERT INTO {self.name} ({', '.join(self.columns)}) VALUES ({placeholders})" + self.conflict()

    def conflict(self) -> str:
        """The ON CONFLICT clause of an insert into this table, or ''."""
        if not self.key:
            return ""
        target = f" ON CONFLICT ({', '.join(self.key)}) DO "
        if not self.upsert:
            return target + "NOTHING"
        return target + "UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in self.columns if c not in self.key)

    def select(self, where: str = "", order: str = "") -> str:
        return f"SELECT {', '.join(self.columns)} FROM {self.name}" + (f" WHERE {where}" if where else "") + (
            f" ORDER BY {order}" if order else "")


DEALS = Table("deals", ("deal_id", "file", "stage", "outcome", "entered_at", "first_seen", "actions_ok",
                        "event_keys", "summary", "next_deadline", "workflow_digest", "run_id",
                        "amount", "probability", "forecast_category", "owner"), ("deal_id",), True)
FILES = Table("files", ("path", "size", "mtime_ns", "deal_ids", "workflow_digest", "next_deadline", "ok", "seen_run"),
              ("path",), True)
TRANSITIONS = Table("transitions", ("deal_id", "from_stage", "to_stage", "at", "outcome", "run_id"))
EVENTS = Table("events", ("key", "kind", "deal", "stage", "at", "data", "run_id"), ("key",))
ACTIONS = Table("actions", ("deal_id", "job_id", "action", "ok", "attempts", "at", "output", "error", "run_id"))
OUTBOX = Table("outbox", ("key", "channel", "recipient", "subject", "body", "payload", "status", "attempts",
                          "last_error", "created_at", "sent_at", "run_id", "claimed_by"), ("key",))
SNAPSHOTS = Table("snapshots", ("deal_id", "stage", "outcome", "amount", "probability", "forecast_category", "owner",
                                "run_id"), ("run_id", "deal_id"), True)
RUNS = Table("runs", ("id", "started", "finished", "status", "summary", "now", "workflow", "digest", "argv",
                      "claimed_by"))

# Schema migrations, applied in order, all pending ones in one transaction. Version N is
# the state after MIGRATIONS[N-1]. Never edit a released step: append a new one.
MIGRATIONS: list[tuple[str, ...]] = [
    (  # 1: the first layout
        "CREATE TABLE runs (id {id}, started TEXT NOT NULL, finished TEXT, status TEXT NOT NULL, summary {json},"
        " now {date} NOT NULL, workflow TEXT NOT NULL, digest TEXT NOT NULL, argv {json} NOT NULL)",
        "CREATE TABLE deals (deal_id TEXT PRIMARY KEY, file TEXT NOT NULL, stage TEXT NOT NULL,"
        " outcome TEXT NOT NULL, entered_at {date} NOT NULL, first_seen {json} NOT NULL, actions_ok {json} NOT NULL,"
        " event_keys {json} NOT NULL, summary {json} NOT NULL, next_deadline {date},"
        " workflow_digest TEXT NOT NULL, run_id {bigint}, amount {real} NOT NULL, probability {real} NOT NULL,"
        " forecast_category TEXT NOT NULL, owner TEXT)",
        "CREATE TABLE files (path TEXT PRIMARY KEY, size {bigint} NOT NULL, mtime_ns {bigint} NOT NULL,"
        " deal_ids {json} NOT NULL, workflow_digest TEXT NOT NULL, next_deadline {date}, ok {bool} NOT NULL,"
        " seen_run {bigint})",
        "CREATE TABLE transitions (id {id}, deal_id TEXT NOT NULL, from_stage TEXT, to_stage TEXT NOT NULL,"
        " at {date} NOT NULL, outcome TEXT NOT NULL, run_id {bigint})",
        "CREATE INDEX transitions_deal ON transitions (deal_id)",
        "CREATE TABLE events (id {id}, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, deal TEXT,"
        " stage TEXT, at {date} NOT NULL, data {json} NOT NULL, run_id {bigint})",
        "CREATE INDEX events_run ON events (run_id)",
        "CREATE TABLE actions (id {id}, deal_id TEXT NOT NULL, job_id TEXT NOT NULL, action TEXT NOT NULL,"
        " ok {bool} NOT NULL, attempts INTEGER NOT NULL, at {date} NOT NULL, output {json} NOT NULL, error TEXT,"
        " run_id {bigint})",
        "CREATE INDEX actions_deal ON actions (deal_id)",
        "CREATE TABLE outbox (id {id}, key TEXT NOT NULL UNIQUE, channel TEXT NOT NULL, recipient TEXT,"
        " subject TEXT NOT NULL, body TEXT NOT NULL, payload {json} NOT NULL, status TEXT NOT NULL,"
        " attempts INTEGER NOT NULL, last_error TEXT, created_at {date}, sent_at TEXT, run_id {bigint},"
        " claimed_at TEXT, claimed_by TEXT)",
        "CREATE INDEX outbox_status ON outbox (status)",
        "CREATE TABLE snapshots (run_id {bigint} NOT NULL, deal_id TEXT NOT NULL, stage TEXT NOT NULL,"
        " outcome TEXT NOT NULL, amount {real} NOT NULL, probability {real} NOT NULL,"
        " forecast_category TEXT NOT NULL, owner TEXT, PRIMARY KEY (run_id, deal_id))",
    ),
    (  # 2: the run journal names the process of a run ("host:pid"), so the next run can tell it died
        "ALTER TABLE runs ADD COLUMN claimed_by TEXT",
        "CREATE INDEX runs_status ON runs (status)",
    ),
]
LATEST = len(MIGRATIONS)
