"""plugins/sqlite_store.py: what only the SQLite store does (the Store contract itself is
tests/test_store.py's): its URLs, files that cannot be opened, WAL mode and readers beside a
writer, the default URL and "open only if it exists", and the lock file of exclusive steps."""
from __future__ import annotations

import fcntl
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

from flowctl.plugins import sqlite_store
from flowctl.store import Batch, StoreError
from store_records import deal, open_url


def test_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_url("sqlite:///rel/sub/state.db") as relative:
        relative.write(Batch(1, deals=[deal(1)]))
    assert (tmp_path / "rel" / "sub" / "state.db").is_file()  # parent folders created
    with open_url(f"sqlite:///{tmp_path}/rel/sub/state.db") as absolute:
        assert set(absolute.deals()) == {"D-1"}
        assert absolute.url == f"sqlite:///{tmp_path}/rel/sub/state.db"
    for url in ("sqlite://", "sqlite:///:memory:", "sqlite://:memory:"):
        with open_url(url) as memory:
            memory.write(Batch(1, deals=[deal(1)]))
            assert set(memory.deals()) == {"D-1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel"]


def _a_folder(tmp: Path) -> Path:
    (tmp / "state.db").mkdir()
    return tmp / "state.db"


def _not_a_database(tmp: Path) -> Path:
    (tmp / "state.db").write_text("these are not the rows you are looking for\n" * 100)
    return tmp / "state.db"


def _a_file_as_its_folder(tmp: Path) -> Path:
    (tmp / "store").write_text("a file where the folder should be")
    return tmp / "store" / "state.db"


@pytest.mark.parametrize("make, why", [(_a_folder, "it is a folder"), (_not_a_database, "not a database"),
                                       (_a_file_as_its_folder, "")])
def test_sqlite_file_that_cannot_be_opened(tmp_path: Path, make: Callable[[Path], Path], why: str) -> None:
    path = make(tmp_path)
    with pytest.raises(StoreError, match="cannot open the SQLite store") as info:
        open_url(f"sqlite:///{path}")
    assert str(path) in str(info.value) and why in str(info.value) and "\n" not in str(info.value)


def test_sqlite_in_a_read_only_place() -> None:
    with pytest.raises(StoreError, match="cannot open the SQLite store /proc/flowctl-test/state.db"):
        open_url("sqlite:////proc/flowctl-test/state.db")  # read-only even for root


def test_sqlite_url_with_a_host_is_refused() -> None:
    with pytest.raises(StoreError, match=r"bad SQLite store URL.*sqlite:///relative/path\.db"):
        open_url("sqlite://state.db")


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    with open_url(f"sqlite:///{tmp_path}/state.db") as store:
        other = sqlite3.connect(store.path)
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
        assert store.conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        other.close()


def test_sqlite_readers_are_not_blocked_by_a_writer(tmp_path: Path) -> None:
    with open_url(f"sqlite:///{tmp_path}/state.db") as store:
        store.write(Batch(1, deals=[deal(1)]))
        writer = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
        writer.execute("BEGIN IMMEDIATE")  # holds the write lock, as a run in the middle of a batch does
        writer.execute("UPDATE deals SET stage = 'won'")
        # the last committed state; a reader the lock blocked would fail with 'database is locked'
        assert store.deals()["D-1"].stage == "prospect"
        done = threading.Event()

        def commit_soon() -> None:
            time.sleep(0.3)
            writer.execute("COMMIT")
            done.set()

        committer = threading.Thread(target=commit_soon)
        committer.start()
        store.write(Batch(2, deals=[deal(2)]))  # waits for the lock instead of failing
        assert done.is_set()
        committer.join()
        assert {k: r.stage for k, r in store.deals().items()} == {"D-1": "won", "D-2": "prospect"}
        writer.close()


# --------------------------------------------------------------------------- URLs and the storage hooks, in process

@pytest.mark.parametrize("url,path", [
    ("sqlite:///state.db", "state.db"), ("sqlite:///rel/sub/state.db", "rel/sub/state.db"),
    ("sqlite:////abs/state.db", "/abs/state.db"), ("SQLite:///state.db", "state.db"),
    ("sqlite+pysqlite:///state.db", "state.db"), ("sqlite:///ü ñ.db", "ü ñ.db"),
    ("sqlite://", ":memory:"), ("sqlite://:memory:", ":memory:"), ("sqlite:///:memory:", ":memory:"),
    ("postgresql://u@h/db", None), ("mysql:///x.db", None), ("state.db", None), ("", None), ("sqlite:", None),
    ("sqlitex:///state.db", None),
])
def test_sqlite_path_follows_sqlalchemys_convention(url: str, path: str | None) -> None:
    assert sqlite_store.sqlite_path(url) == path


@pytest.mark.parametrize("url", ["sqlite://state.db", "sqlite:///", "sqlite://host/state.db", "sqlite://:memory:x"])
def test_a_sqlite_url_naming_no_file_is_refused_with_the_forms_it_takes(url: str) -> None:
    with pytest.raises(StoreError) as failure:
        sqlite_store.sqlite_path(url)
    assert str(failure.value) == (f"bad SQLite store URL {url!r}: expected sqlite:///relative/path.db "
                                  "or sqlite:////absolute/path.db")


def test_the_default_store_is_beside_the_workflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sqlite_store.flowctl_default_store_url(tmp_path) == f"sqlite:///{tmp_path}/.flowctl/state.db"
    monkeypatch.chdir(tmp_path)
    assert sqlite_store.flowctl_default_store_url(Path("sub")) == f"sqlite:///{tmp_path}/sub/.flowctl/state.db"


def test_a_store_exists_once_its_file_does_and_asking_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/.flowctl/state.db"
    assert sqlite_store.flowctl_store_exists(url) is False
    assert list(tmp_path.iterdir()) == []
    open_url(url).close()
    assert sqlite_store.flowctl_store_exists(url) is True
    assert sqlite_store.flowctl_store_exists(f"sqlite:///{tmp_path}") is False  # a folder is no store
    assert sqlite_store.flowctl_store_exists("sqlite://") is True  # in memory: there as soon as opened
    assert sqlite_store.flowctl_store_exists("postgresql://u@h/db") is None  # not SQLite's to say


def test_only_sqlite_urls_are_opened() -> None:
    assert sqlite_store.flowctl_open_store("postgresql://u@h/db") is None
    with sqlite_store.flowctl_open_store("sqlite://") as store:
        assert isinstance(store, sqlite_store.SQLiteStore) and repr(store) == "<SQLiteStore sqlite://>"


# --------------------------------------------------------------------------- exclusive steps

def test_an_exclusive_step_holds_the_lock_file_until_it_ends(tmp_path: Path) -> None:
    with open_url(f"sqlite:///{tmp_path}/state.db") as store:
        with store.exclusive():
            with open(tmp_path / "state.db.lock", "a") as other:
                with pytest.raises(BlockingIOError):  # another run's step waits
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with store.exclusive():  # a nested step is the same step
                store.write(Batch(1, deals=[deal(1)]))
        with open(tmp_path / "state.db.lock", "a") as other:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
        assert set(store.deals()) == {"D-1"}


def test_an_in_memory_store_steps_without_a_lock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_url("sqlite://") as store, store.exclusive():
        store.write(Batch(1, deals=[deal(1)]))
        assert set(store.deals()) == {"D-1"}
    assert list(tmp_path.iterdir()) == []


def test_journal_commits_midway_through_a_step(tmp_path: Path) -> None:
    with open_url(f"sqlite:///{tmp_path}/state.db") as store:
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        with store.exclusive():
            store.journal(Batch(1, deals=[deal(1)]))
            store.write(Batch(1, deals=[deal(2)]))
        store.conn.set_trace_callback(None)
    assert [s for s in statements if s in ("BEGIN IMMEDIATE", "COMMIT")] == [
        "BEGIN IMMEDIATE", "COMMIT", "BEGIN IMMEDIATE", "COMMIT"]

