"""What the SQLite and PostgreSQL stores share: every Store method (the queries and
migrating), written once over a DB-API connection. Tables and migrations are
_sql_tables', values and row conversion _sql_rows'.

The two databases differ only in what a `Dialect` carries (placeholder, column types,
how dates and JSON travel through the driver) and in the few hooks a subclass of
`SQLStore` fills in (opening a write transaction, getting a new row's id).
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from typing import Any, Callable, ContextManager, Iterable, Iterator

from flowctl.store import (ActionResult, Batch, DealRecord, Event, FileEntry, OutboxItem, SnapshotRow,
                           StoreError, Transition)

from ._sql_tables import (ACTIONS, DEALS, EVENTS, FILES, LATEST, MIGRATIONS, OUTBOX, RUNS, SNAPSHOTS,  # noqa: F401
                          TRANSITIONS, Table)  # LATEST, MIGRATIONS: read here, so a test may replace them
from ._sql_rows import (_BATCH, Dialect, _action, _deal, _event, _file, _outbox, _run, _transition,
                        utc_now)

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
        keys, out = list(dict.fromkeys(keys)), set[str]()
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

