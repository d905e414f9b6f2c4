"""A SQLite store whose writes fail as on a full or read-only disk (tests/test_faults.py).

Load it with `flowctl --plugin fixture_plugins.faulty_store` and a store URL
`faulty+sqlite:////abs/path.db`. The environment variable FLOWCTL_FAULT says what fails:
`disk-full:N` or `read-only:N` make the Nth write transaction of the process (creating a
new store is the first) and every
later one fail inside the transaction (after BEGIN, so SQLite rolls it back), with the
error SQLite itself gives in that case. Without FLOWCTL_FAULT the store is a plain one.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import Iterator

from flowctl import hookimpl
from flowctl.plugins.sqlite_store import SQLiteStore, sqlite_path

PREFIX = "faulty+"
MESSAGES = {"disk-full": "database or disk is full", "read-only": "attempt to write a readonly database"}


class FaultyStore(SQLiteStore):
    def __init__(self, url: str, path: str):
        fault, _, after = (os.environ.get("FLOWCTL_FAULT") or "").partition(":")
        self.fault = fault or None
        self.after = int(after or 1)
        self.transactions = 0
        super().__init__(url, path)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        self.transactions += 1
        with super()._transaction() as cur:
            if self.fault and self.transactions >= self.after:
                cur.execute("CREATE TEMP TABLE IF NOT EXISTS fault_marker (x)")  # something to roll back
                raise sqlite3.OperationalError(MESSAGES[self.fault])
            yield cur


@hookimpl
def flowctl_open_store(url: str) -> FaultyStore | None:
    if not url.startswith(PREFIX):
        return None
    inner = url[len(PREFIX):]
    path = sqlite_path(inner)
    return None if path is None else FaultyStore(inner, path)
