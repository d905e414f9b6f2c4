"""What the store tests share: sample records and batches, raw SQL on a store's own
connection, and the fixtures that give a fresh store of each kind (SQLite in a temporary
folder; PostgreSQL in a fresh database from tests/pg_server.py, skipped without a server
except under CI, where it fails). Test modules import them with `from store_records
import ...` (tests/ is on sys.path); importing a fixture makes it the module's."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from flowctl.plugins import postgres_store, sqlite_store
from flowctl.store import ActionResult, Batch, DealRecord, Event, FileEntry, OutboxItem, SnapshotRow, Transition
from pg_server import fresh_database, postgres_url, why_no_postgres

DAY = dt.date(2026, 11, 2)
LATER = dt.date(2026, 12, 24)


def open_url(url: str) -> Any:
    """Open a store as flowctl does: the first plugin that takes the URL."""
    for plugin in (sqlite_store, postgres_store):
        store = plugin.flowctl_open_store(url)
        if store is not None:
            return store
    raise AssertionError(f"no store plugin takes {url}")


def query(store: Any, sql: str, params: tuple = ()) -> list[tuple]:
    """Raw SQL (with ? placeholders) on the store's own connection."""
    return store.conn.execute(store.dialect.sql(sql), params).fetchall()


def execute(store: Any, sql: str, params: tuple = ()) -> None:
    store.conn.execute(store.dialect.sql(sql), params)


def count(store: Any, table: str) -> int:
    return query(store, f"SELECT COUNT(*) FROM {table}")[0][0]


def deal(i: int, **changes: Any) -> DealRecord:
    record = DealRecord(f"D-{i}", f"deals/d{i}.yaml", "prospect", "open", DAY, {"prospect": DAY}, {},
                        {f"ev-{i}"}, {"id": f"D-{i}", "amount": 1000.0 + i}, None, "digest-1")
    return dataclasses.replace(record, **changes)


def event(i: int, **changes: Any) -> Event:
    return dataclasses.replace(Event(f"ev-{i}", "stage_entered", f"D-{i}", "prospect", DAY, {"n": i}), **changes)


def item(i: int, **changes: Any) -> OutboxItem:
    return dataclasses.replace(OutboxItem(f"ob-{i}", "email", f"rep{i}@example.com", f"D-{i} entered Prospect",
                                          "body", {"deal": f"D-{i}"}, created_at=DAY), **changes)


def snap(i: int, **changes: Any) -> SnapshotRow:
    return dataclasses.replace(SnapshotRow(f"D-{i}", "prospect", "open", 1000.0 + i, 0.05, "pipeline",
                                           "alice@example.com"), **changes)


def full_batch(run_id: int, ids: range | list[int]) -> Batch:
    """A batch touching every table."""
    return Batch(run_id, deals=[deal(i) for i in ids],
                 files=[FileEntry(f"deals/d{i}.yaml", 100 + i, 1_700_000_000_000_000_000 + i, [f"D-{i}"], "digest-1")
                        for i in ids],
                 transitions=[Transition(f"D-{i}", None, "prospect", DAY) for i in ids],
                 events=[event(i) for i in ids],
                 actions=[ActionResult(f"D-{i}", "render-proposal", "render", True, 1, DAY) for i in ids],
                 outbox=[item(i) for i in ids], snapshot=[snap(i) for i in ids])


TABLES = ("deals", "files", "transitions", "events", "actions", "outbox", "snapshots")


def contents(store: Any) -> dict[str, int]:
    return {table: count(store, table) for table in TABLES}


def postgres_or_skip() -> str:
    url = postgres_url()
    if url is None:
        reason = f"no PostgreSQL for the tests: {why_no_postgres()}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/.flowctl/state.db"  # tmp_path is absolute: sqlite:////tmp/...
    else:
        with fresh_database(postgres_or_skip()) as url:
            yield url


@pytest.fixture
def opener(store_url: str) -> Iterator[Callable[[], Any]]:
    """Opens more stores on the same URL; closes them all at the end."""
    opened: list[Any] = []

    def open_store() -> Any:
        opened.append(open_url(store_url))
        return opened[-1]

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def store(opener: Callable[[], Any]) -> Any:
    return opener()
