"""The SQLite store, flowctl's default: one file beside the workflow.

WAL mode lets other commands read while a run writes; every write transaction starts
with BEGIN IMMEDIATE under a busy timeout, so concurrent runs queue for the write lock
instead of failing with "database is locked".
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterator

from flowctl.hookspecs import hookimpl
from flowctl.store import StoreError, mask_url

from ._sql import SQLStore
from ._sql_rows import Dialect, dumps, loads

BUSY_TIMEOUT_S = 60.0  # how long a writer waits for another process's transaction

SQLITE = Dialect(
    param="?",
    types={"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "date": "TEXT", "json": "TEXT", "bool": "INTEGER",
           "real": "REAL", "bigint": "INTEGER"},
    table_exists="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    date_in=dt.date.isoformat, date_out=dt.date.fromisoformat,  # ISO text sorts and compares as dates do
    json_in=dumps, json_out=loads,
)


@hookimpl
def flowctl_default_store_url(project_dir: Path) -> str:
    return "sqlite:///" + str(Path(project_dir).resolve() / ".flowctl" / "state.db")


@hookimpl
def flowctl_store_exists(url: str) -> bool | None:
    path = sqlite_path(url)
    return None if path is None else (path == ":memory:" or os.path.isfile(path))


@hookimpl
def flowctl_open_store(url: str) -> "SQLiteStore | None":
    path = sqlite_path(url)
    return None if path is None else SQLiteStore(url, path)


def sqlite_path(url: str) -> str | None:
    """The file a `sqlite://` URL names (SQLAlchemy's convention), ":memory:" for an
    in-memory store, None when the URL is not SQLite's."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0].lower() != "sqlite":
        return None
    if rest in ("", ":memory:", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/") or rest == "/":
        raise StoreError(f"bad SQLite store URL {url!r}: expected sqlite:///relative/path.db "
                         "or sqlite:////absolute/path.db")
    return rest[1:]


class SQLiteStore(SQLStore):
    dialect = SQLITE
    driver_errors = (sqlite3.Error,)

    def __init__(self, url: str, path: str, timeout: float = BUSY_TIMEOUT_S):
        self.url = mask_url(url)
        self.path = path
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; _transaction says BEGIN IMMEDIATE itself.
            self.conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(self._cannot_open(exc)) from exc
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._wal(time.monotonic() + timeout)
            self.conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, no fsync per commit
        except sqlite3.Error as exc:  # e.g. "file is not a database"
            self.conn.close()
            raise StoreError(self._cannot_open(exc)) from exc
        try:
            self.migrate()
        except StoreError:
            self.conn.close()
            raise

    def _wal(self, deadline: float) -> None:
        """Switch to WAL (persistent; a no-op once set). The switch needs an exclusive lock
        and SQLite does not wait for it, so concurrent first runs take turns here."""
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _cannot_open(self, exc: BaseException) -> str:
        where = self.path if self.path == ":memory:" else os.path.abspath(self.path)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else self._describe(exc)
        if os.path.isdir(where):
            reason = "it is a folder, not a database file"
        return f"cannot open the SQLite store {where}: {reason}"

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        cur = self.conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")  # the write lock now, waited for, not on the first write
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            cur.close()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator["SQLiteStore"]:
        """A step also holds an advisory lock on `<store>.lock`: a step that commits an
        action midway (`journal`) keeps other runs' steps out until it ends."""
        if self._step is not None or self.path == ":memory:":
            with super().exclusive():
                yield self
            return
        with open(self.path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
            with super().exclusive():
                yield self

    def _commit_step(self, cur: sqlite3.Cursor) -> None:
        cur.execute("COMMIT")
        cur.execute("BEGIN IMMEDIATE")

    def _insert_id(self, cur: sqlite3.Cursor, sql: str, params: tuple) -> int:
        cur.execute(sql, params)
        assert cur.lastrowid is not None
        return cur.lastrowid
