"""What the SQLite and PostgreSQL stores share: tables, migrations, row conversion and
every Store method, written once over a DB-API connection.

The two databases differ only in what a `Dialect` carries (placeholder, column types,
how dates and JSON travel through the driver) and in the few hooks a subclass of
`SQLStore` fills in (opening a write transaction, getting a new row's id).
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from typing import Any, Callable, ContextManager, Iterable, Iterator

from flowctl.store import (ActionResult, Batch, DealRecord, Event, FileEntry, OutboxItem, SnapshotRow,
                           StoreError, Transition)

from ._sql_tables import (ACTIONS, DEALS, EVENTS, FILES, LATEST, MIGRATIONS, OUTBOX, RUNS, SNAPSHOTS,  # noqa: F401
                          TRANSITIONS, Table)  # LATEST, MIGRATIONS: read here, so a test may replace them

# --------------------------------------------------------------------------- values

def as_date(value: Any) -> dt.date:
    """A date from a date, a datetime (its day) or an ISO string; anything else is refused."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise TypeError(f"expected a date, got {type(value).__name__} {value!r}")


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} {value!r} cannot be stored as JSON")


_encoder = json.JSONEncoder(default=_json_default, ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Strict, compact JSON (dates and sets allowed): an unserialisable value fails the write."""
    return _encoder.encode(value)


_raw_decode = json.JSONDecoder().raw_decode


def loads(text: str | bytes | memoryview) -> Any:
    """json.loads, about 3x faster on the compact JSON `dumps` writes (reading 20,000 deal
    records parses 80,000 small documents); text from elsewhere takes the usual path."""
    if not isinstance(text, str):  # psycopg hands over the raw bytes
        text = bytes(text).decode()
    try:
        value, end = _raw_decode(text)
        if end == len(text):
            return value
    except json.JSONDecodeError:
        pass
    return json.loads(text)


def _dates_in(mapping: dict[str, Any]) -> dict[str, str]:
    return {k: as_date(v).isoformat() for k, v in mapping.items()}


def _dates_out(mapping: dict[str, str] | None) -> dict[str, dt.date]:
    return {k: dt.date.fromisoformat(v) for k, v in (mapping or {}).items()}


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclasses.dataclass(frozen=True)
class Dialect:
    """What differs between the databases. SQL is written with `?` placeholders
    and `{type}` fields in DDL; the dialect turns it into its own."""

    param: str  # the driver's placeholder
    types: dict[str, str]  # DDL fields: id, date, json, bool, real, bigint
    table_exists: str  # a query giving a row when table `?` exists
    date_in: Callable[[Any], Any]  # dt.date -> what the driver stores (never None)
    date_out: Callable[[Any], dt.date]
    json_in: Callable[[Any], Any]
    json_out: Callable[[Any], Any]

    def sql(self, text: str) -> str:
        return text if self.param == "?" else text.replace("?", self.param)

    def date(self, value: Any) -> Any:
        return None if value is None else self.date_in(as_date(value))

    def undate(self, value: Any) -> dt.date | None:
        return None if value is None else self.date_out(value)

    def unjson(self, value: Any) -> Any:
        return None if value is None else self.json_out(value)


# --------------------------------------------------------------------------- rows <-> records

def _deal_row(d: Dialect, run_id: int, r: DealRecord) -> tuple:
    s = r.summary
    return (r.deal_id, r.file, r.stage, r.outcome, d.date(r.entered_at), d.json_in(_dates_in(r.first_seen)),
            d.json_in(_dates_in(r.actions_ok)), d.json_in(sorted(r.event_keys)), d.json_in(s),
            d.date(r.next_deadline), r.workflow_digest, run_id, float(s.get("amount") or 0.0),
            float(s.get("probability") or 0.0), s.get("forecast_category") or "", s.get("owner"))


def _deal(d: Dialect, row: tuple) -> DealRecord:
    return DealRecord(row[0], row[1], row[2], row[3], d.undate(row[4]), _dates_out(d.unjson(row[5])),
                      _dates_out(d.unjson(row[6])), set(d.unjson(row[7])), d.unjson(row[8]), d.undate(row[9]), row[10])


def _file_row(d: Dialect, run_id: int, f: FileEntry) -> tuple:
    return (f.path, f.size, f.mtime_ns, d.json_in(list(f.deal_ids)), f.workflow_digest, d.date(f.next_deadline),
            bool(f.ok), run_id)


def _file(d: Dialect, row: tuple) -> FileEntry:
    return FileEntry(row[0], row[1], row[2], d.unjson(row[3]), row[4], d.undate(row[5]), bool(row[6]))


def _transition_row(d: Dialect, run_id: int, t: Transition) -> tuple:
    return (t.deal_id, t.from_stage, t.to_stage, d.date(t.at), t.outcome, run_id if t.run_id is None else t.run_id)


def _transition(d: Dialect, row: tuple) -> Transition:
    return Transition(row[0], row[1], row[2], d.undate(row[3]), row[4], row[5])


def _event_row(d: Dialect, run_id: int, e: Event) -> tuple:
    return (e.key, e.kind, e.deal, e.stage, d.date(e.at), d.json_in(e.data), run_id)


def _event(d: Dialect, row: tuple) -> Event:
    return Event(row[0], row[1], row[2], row[3], d.undate(row[4]), d.unjson(row[5]))


def _action_row(d: Dialect, run_id: int, a: ActionResult) -> tuple:
    return (a.deal_id, a.job_id, a.action, bool(a.ok), a.attempts, d.date(a.at), d.json_in(a.output), a.error, run_id)


def _action(d: Dialect, row: tuple) -> ActionResult:
    return ActionResult(row[0], row[1], row[2], bool(row[3]), row[4], d.undate(row[5]), d.unjson(row[6]), row[7])


def _outbox_row(d: Dialect, run_id: int, o: OutboxItem) -> tuple:
    return (o.key, o.channel, o.recipient, o.subject, o.body, d.json_in(o.payload), o.status, o.attempts,
            o.last_error, d.date(o.created_at), o.sent_at, run_id, o.claimed_by)


def _outbox(d: Dialect, row: tuple) -> OutboxItem:
    return OutboxItem(row[0], row[1], row[2], row[3], row[4], d.unjson(row[5]), row[6], row[7], row[8],
                      d.undate(row[9]), row[10], row[12] if len(row) > 12 else None)


def _run(d: Dialect, row: tuple) -> dict:
    run = dict(zip(RUNS.columns, row))
    run.update(summary=d.unjson(run["summary"]), now=d.undate(run["now"]), argv=d.unjson(run["argv"]))
    return run


def _snapshot_row(d: Dialect, run_id: int, s: SnapshotRow) -> tuple:
    return (s.deal_id, s.stage, s.outcome, float(s.amount), float(s.probability), s.forecast_category, s.owner, run_id)


# The order tables are written in; rows are converted lazily, while the statement runs,
# so a bad row fails the batch midway (and the transaction undoes the rows before it).
_BATCH: tuple[tuple[Table, str, Callable[[Dialect, int, Any], tuple]], ...] = (
    (DEALS, "deals", _deal_row), (FILES, "files", _file_row), (TRANSITIONS, "transitions", _transition_row),
    (EVENTS, "events", _event_row), (ACTIONS, "actions", _action_row), (OUTBOX, "outbox", _outbox_row),
    (SNAPSHOTS, "snapshot", _snapshot_row),
)
_CHUNK = 500  # ids per `IN (...)`: below every database's limit on parameters


# --------------------------------------------------------------------------- the store

class SQLStore:
    """Every Store method over a DB-API connection (`self.conn`, in autocommit mode:
    reads are single statements, writes go through `_transaction`)."""

    url: str  # masked
    conn: Any
    dialect: Dialect
    driver_errors: tuple[type[BaseException], ...]  # turned into StoreError

    # -- filled in by each database --

    def _transaction(self) -> ContextManager[Any]:
        """A write transaction, serialised with other writers; yields a cursor."""
        raise NotImplementedError

    def _insert_id(self, cur: Any, sql: str, params: tuple) -> int:
        """Insert one row and return its generated id."""
        raise NotImplementedError

    def _commit_step(self, cur: Any) -> None:
        """Commit the open exclusive step's transaction and begin the next one, taking
        the write lock again, on the same cursor."""
        raise NotImplementedError

    def _describe(self, exc: BaseException) -> str:
        return " ".join(str(exc).split()) or type(exc).__name__

    # -- plumbing --

    @contextlib.contextmanager
    def _failing(self, doing: str, also: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except (*self.driver_errors, *also) as exc:
            raise StoreError(f"cannot {doing} {self.url}: {self._describe(exc)}") from exc

    _step: Any = None  # the cursor of an open `exclusive()` step

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Any]:
        """The open exclusive step's transaction, or a new one."""
        if self._step is not None:
            yield self._step
        else:
            with self._transaction() as cur:
                yield cur

    def _fetch(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._failing("read"):
            if self._step is not None:
                self._step.execute(self.dialect.sql(sql), params)
                return self._step.fetchall()
            return self.conn.execute(self.dialect.sql(sql), params).fetchall()

    def _stream(self, sql: str, params: tuple, convert: Callable[[Dialect, tuple], Any]) -> Iterator[Any]:
        with self._failing("read"):
            cur = self.conn.execute(self.dialect.sql(sql), params)
            while rows := cur.fetchmany(1000):
                for row in rows:
                    yield convert(self.dialect, row)

    def _write(self, doing: str, sql: str, params: tuple) -> int:
        """One statement in its own transaction; returns the number of rows it changed."""
        with self._failing(doing, (TypeError, ValueError)), self._writing() as cur:
            cur.execute(self.dialect.sql(sql), params)
            return cur.rowcount

    def migrate(self) -> None:
        """Bring the schema to LATEST, or refuse a store written by a newer flowctl."""
        d = self.dialect
        with self._failing("read the schema version of"):
            exists = self.conn.execute(d.sql(d.table_exists), ("schema_version",)).fetchall()
            rows = self.conn.execute("SELECT version FROM schema_version").fetchall() if exists else []
        version = rows[0][0] if rows else 0
        self._check_version(version)
        if version == LATEST:  # the usual case: no write lock taken
            return
        with self._failing("migrate"), self._transaction() as cur:  # concurrent first runs wait here
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            cur.execute("SELECT version FROM schema_version")
            row = cur.fetchone()
            if row is None:
                cur.execute("INSERT INTO schema_version (version) VALUES (0)")
            version = row[0] if row else 0
            self._check_version(version)  # read again under the lock: another process may have migrated
            for step in MIGRATIONS[version:]:
                for statement in step:
                    cur.execute(statement.format(**d.types))
            cur.execute(d.sql("UPDATE schema_version SET version = ?"), (LATEST,))

    def _check_version(self, version: int) -> None:
        if version > LATEST:
            raise StoreError(f"{self.url} has schema version {version}, written by a newer flowctl "
                             f"(this one knows versions up to {LATEST}): upgrade flowctl to use it")

    # -- the Store protocol --

    def start_run(self, now: dt.date, workflow: str, digest: str, argv: list[str], claimer: str | None = None) -> int:
        d = self.dialect
        sql = d.sql("INSERT INTO runs (started, status, now, workflow, digest, argv, claimed_by)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)")
        with self._failing("start a run in", (TypeError, ValueError)), self._transaction() as cur:
            return self._insert_id(cur, sql, (utc_now(), "running", d.date(now), workflow, digest,
                                              d.json_in(list(argv)), claimer))

    def finish_run(self, run_id: int, status: str, summary: dict) -> None:
        self._write("finish a run in", "UPDATE runs SET finished = ?, status = ?, summary = ? WHERE id = ?",
                    (utc_now(), status, self.dialect.json_in(summary), run_id))

    def files(self, paths: Iterable[str] | None = None) -> dict[str, FileEntry]:
        if paths is None:
            return {row[0]: _file(self.dialect, row) for row in self._fetch(FILES.select())}
        out: dict[str, FileEntry] = {}
        wanted = list(dict.fromkeys(paths))
        for i in range(0, len(wanted), _CHUNK):
            chunk = tuple(wanted[i:i + _CHUNK])
            for row in self._fetch(FILES.select(f"path IN ({', '.join('?' * len(chunk))})"), chunk):
                out[row[0]] = _file(self.dialect, row)
        return out

    def mark_seen(self, run_id: int, paths: Iterable[str]) -> None:
        paths = list(paths)
        with self._failing("write to"), self._writing() as cur:
            for i in range(0, len(paths), _CHUNK):
                chunk = tuple(paths[i:i + _CHUNK])
                cur.execute(self.dialect.sql(f"UPDATE files SET seen_run = ? WHERE path IN ({', '.join('?' * len(chunk))})"),
                            (run_id, *chunk))

    def unseen_files(self, run_id: int, prefixes: Iterable[str]) -> Iterator[FileEntry]:
        for prefix in dict.fromkeys(prefixes):
            yield from self._stream(FILES.select("(seen_run IS NULL OR seen_run <> ?) AND substr(path, 1, ?) = ?"),
                                    (run_id, len(prefix), prefix), _file)

    def deals(self, deal_ids: Iterable[str] | None = None) -> dict[str, DealRecord]:
        if deal_ids is None:
            rows = self._fetch(DEALS.select())
        else:
            ids, rows = list(dict.fromkeys(deal_ids)), []
            for i in range(0, len(ids), _CHUNK):
                chunk = tuple(ids[i:i + _CHUNK])
                rows += self._fetch(DEALS.select(f"deal_id IN ({', '.join('?' * len(chunk))})"), chunk)
        return {row[0]: _deal(self.dialect, row) for row in rows}

    def write(self, batch: Batch) -> None:
        if not batch:
            return
        d = self.dialect
        with self._failing("write to", (TypeError, ValueError)), self._writing() as cur:
            for table, field, row in _BATCH:
                records = getattr(batch, field)
                if records:
                    self._insert(cur, table, (row(d, batch.run_id, r) for r in records), len(records))

    def _insert(self, cur: Any, table: Table, rows: Iterable[tuple], count: int) -> None:
        """Insert `count` converted rows within the open transaction."""
        cur.executemany(self.dialect.sql(table.insert()), rows)

    def journal(self, batch: Batch) -> None:
        """Write a batch and commit it now, even inside an exclusive step (which goes on
        in a new transaction): what it says survives a crash of the rest of the step."""
        self.write(batch)  # outside a step, its own transaction
        if self._step is not None:
            with self._failing("write to"):
                self._commit_step(self._step)

    def actions_done(self, deal_ids: Iterable[str]) -> dict[str, dict[str, dt.date]]:
        """job id -> first day it succeeded, by deal, from the action journal: an action
        journaled by a run that died before recording its deal counts as done."""
        ids = list(dict.fromkeys(deal_ids))
        out: dict[str, dict[str, dt.date]] = {}
        for i in range(0, len(ids), _CHUNK):
            chunk = tuple(ids[i:i + _CHUNK])
            for deal_id, job_id, at in self._fetch(
                    f"SELECT deal_id, job_id, MIN(at) FROM actions WHERE ok AND deal_id IN ({', '.join('?' * len(chunk))})"
                    " GROUP BY deal_id, job_id", chunk):
                out.setdefault(deal_id, {})[job_id] = self.dialect.date_out(at)
        return out

    @contextlib.contextmanager
    def exclusive(self) -> Iterator["SQLStore"]:
        if self._step is not None:
            yield self
            return
        with self._failing("lock"), self._transaction() as cur:
            self._step = cur
            try:
                yield self
            finally:
                self._step = None

    def carry_forward(self, run_id: int, deal_ids: Iterable[str]) -> list[SnapshotRow]:
        ids, out = list(dict.fromkeys(deal_ids)), []
        columns = "deal_id, stage, outcome, amount, probability, forecast_category, owner"
        with self._failing("write to"), self._writing() as cur:
            for i in range(0, len(ids), _CHUNK):
                chunk = tuple(ids[i:i + _CHUNK])
                where = f"deal_id IN ({', '.join('?' * len(chunk))})"
                cur.execute(self.dialect.sql(f"SELECT {columns} FROM deals WHERE {where}"), chunk)
                out += [SnapshotRow(*row) for row in cur.fetchall()]
                cur.execute(self.dialect.sql(f"INSERT INTO snapshots ({columns}, run_id) SELECT {columns}, ?"
                                             f" FROM deals WHERE {where} ON CONFLICT (run_id, deal_id) DO NOTHING"),
                            (run_id, *chunk))
        return out

    def forget(self, paths: Iterable[str], deal_ids: Iterable[str]) -> None:
        paths, ids = list(paths), list(deal_ids)
        with self._failing("write to"), self._writing() as cur:
            for table, column, values in (("files", "path", paths), ("deals", "deal_id", ids)):
                for i in range(0, len(values), _CHUNK):
                    chunk = tuple(values[i:i + _CHUNK])
                    cur.execute(self.dialect.sql(f"DELETE FROM {table} WHERE {column} IN ({', '.join('?' * len(chunk))})"),
                                chunk)

    def claim_outbox(self, lease_seconds: float = 300.0, claimer: str | None = None,
                     reclaim: Iterable[str] = ()) -> list[OutboxItem]:
        now = dt.datetime.now(dt.timezone.utc)
        stale = (now - dt.timedelta(seconds=lease_seconds)).isoformat(timespec="seconds")
        where = "status IN ('queued', 'failed') OR (status = 'sending' AND claimed_at < ?)"
        with self._failing("claim the outbox of"), self._writing() as cur:
            cur.execute(self.dialect.sql(OUTBOX.select(where, "id")), (stale,))
            items = [_outbox(self.dialect, row) for row in cur.fetchall()]
            taken = {item.key for item in items}
            extra = tuple(k for k in reclaim if k not in taken)
            for i in range(0, len(extra), _CHUNK):  # claims of processes known to be dead
                chunk = extra[i:i + _CHUNK]
                cur.execute(self.dialect.sql(OUTBOX.select(f"status = 'sending' AND key IN ({', '.join('?' * len(chunk))})")),
                            chunk)
                items += [_outbox(self.dialect, row) for row in cur.fetchall()]
            keys = [item.key for item in items]
            for i in range(0, len(keys), _CHUNK):
                chunk = tuple(keys[i:i + _CHUNK])
                cur.execute(self.dialect.sql(f"UPDATE outbox SET status = 'sending', claimed_at = ?, claimed_by = ?"
                                             f" WHERE key IN ({', '.join('?' * len(chunk))})"),
                            (now.isoformat(timespec="seconds"), claimer, *chunk))
        return items

    def outbox(self, statuses: tuple[str, ...] = ("queued", "failed")) -> list[OutboxItem]:
        if not statuses:
            return []
        where = f"status IN ({', '.join('?' * len(statuses))})"
        return [_outbox(self.dialect, row) for row in self._fetch(OUTBOX.select(where, "id"), tuple(statuses))]

    def mark_outbox(self, key: str, status: str, error: str | None = None) -> None:
        if status not in ("sent", "failed", "dead", "digested"):
            raise StoreError(f"cannot mark outbox item {key!r} as {status!r}: expected sent, failed, dead or digested")
        sent_at = utc_now() if status == "sent" else None
        attempts = 0 if status == "digested" else 1
        changed = self._write("update the outbox of",
                              f"UPDATE outbox SET attempts = attempts + {attempts}, status = ?, last_error = ?,"
                              " sent_at = COALESCE(?, sent_at) WHERE key = ?", (status, error, sent_at, key))
        if changed == 0:
            raise StoreError(f"no outbox item {key!r} in {self.url}")

    def requeue_dead(self) -> int:
        return self._write("update the outbox of", "UPDATE outbox SET status = 'failed', attempts = 0"
                           " WHERE status = 'dead'", ())

    def transitions(self, deal_id: str | None = None) -> Iterator[Transition]:
        # Oldest by date first: transitions may be recorded after the fact (history, imports).
        if deal_id is None:
            return self._stream(TRANSITIONS.select(order="at, id"), (), _transition)
        return self._stream(TRANSITIONS.select("deal_id = ?", "at, id"), (deal_id,), _transition)

    def known_events(self, keys: Iterable[str]) -> set[str]:
        keys, out = list(dict.fromkeys(keys)), set()
        for i in range(0, len(keys), _CHUNK):
            chunk = tuple(keys[i:i + _CHUNK])
            out.update(row[0] for row in self._fetch(f"SELECT key FROM events WHERE key IN ({', '.join('?' * len(chunk))})",
                                                     chunk))
        return out

    def events(self, run_id: int | None = None) -> Iterator[Event]:
        if run_id is None:
            return self._stream(EVENTS.select(order="id"), (), _event)
        return self._stream(EVENTS.select("run_id = ?", "id"), (run_id,), _event)

    def action_results(self, deal_id: str | None = None) -> Iterator[ActionResult]:
        if deal_id is None:
            return self._stream(ACTIONS.select(order="id"), (), _action)
        return self._stream(ACTIONS.select("deal_id = ?", "id"), (deal_id,), _action)

    def snapshot(self, run_id: int | None = None) -> list[dict]:
        """Rows of this run, or of the latest run that wrote a snapshot."""
        if run_id is None:
            run_id = self._fetch("SELECT MAX(run_id) FROM snapshots")[0][0]
            if run_id is None:
                return []
        rows = self._fetch(SNAPSHOTS.select("run_id = ?", "deal_id"), (run_id,))
        return [dataclasses.asdict(SnapshotRow(*row[:7])) for row in rows]

    def runs(self, statuses: tuple[str, ...] | None = None) -> list[dict]:
        if statuses is None:
            return [_run(self.dialect, row) for row in self._fetch(RUNS.select(order="id DESC"))]
        where = f"status IN ({', '.join('?' * len(statuses))})" if statuses else "1 = 0"
        return [_run(self.dialect, row) for row in self._fetch(RUNS.select(where, "id DESC"), tuple(statuses))]

    def close(self) -> None:
        with contextlib.suppress(*self.driver_errors):
            self.conn.close()

    def __enter__(self) -> "SQLStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

