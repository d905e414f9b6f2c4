"""plugins/_sql.py: what SQLStore does itself, below the Store contract (tests/test_store.py):
the `IN (...)` lists cut in chunks, empty and repeated arguments, which files a run did not
see, the driver's errors as StoreErrors naming the store, and the hooks a database fills in."""
from __future__ import annotations

from typing import Any

import pytest

from flowctl.plugins import _sql
from flowctl.store import ActionResult, Batch, FileEntry, StoreError
from store_records import DAY, deal, event, full_batch, item, open_url, opener, store, store_url  # noqa: F401

IDS = range(7)  # with chunks of 2: three full chunks and a short one


@pytest.fixture
def memory() -> Any:
    """An in-memory SQLite store, for what happens in SQLStore's Python, the same for both databases."""
    with open_url("sqlite://") as store:
        yield store


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sql, "_CHUNK", 2)


def test_every_id_list_is_read_and_written_in_chunks(store: Any, small_chunks: None) -> None:
    run = store.start_run(DAY, "wf.yaml", "digest-1", [])
    store.write(full_batch(run, IDS))
    ids, paths, keys = [f"D-{i}" for i in IDS], [f"deals/d{i}.yaml" for i in IDS], [f"ev-{i}" for i in IDS]
    assert sorted(store.deals(ids)) == ids and sorted(store.files(paths)) == paths
    assert store.known_events([*keys, "ev-none"]) == set(keys)
    assert store.actions_done(ids) == {i: {"render-proposal": DAY} for i in ids}
    assert sorted(r.deal_id for r in store.carry_forward(run + 1, ids)) == ids
    store.mark_seen(run + 1, paths[:5])
    assert sorted(f.path for f in store.unseen_files(run + 1, ["deals/"])) == paths[5:]
    store.forget(paths[:5], ids[:5])
    assert sorted(store.deals()) == ids[5:] and sorted(store.files()) == paths[5:]


def test_claims_of_dead_processes_are_taken_again_in_chunks(store: Any, small_chunks: None) -> None:
    run = store.start_run(DAY, "wf.yaml", "digest-1", [])
    store.write(Batch(run, outbox=[item(i) for i in IDS]))
    assert len(store.claim_outbox(claimer="host:1")) == len(IDS)
    keys = [f"ob-{i}" for i in IDS]
    again = store.claim_outbox(claimer="host:2", reclaim=[*keys, "ob-unknown"])
    assert sorted(i.key for i in again) == keys
    assert {i.claimed_by for i in store.outbox(("sending",))} == {"host:2"}


def test_asking_about_nothing_gives_nothing(memory: Any) -> None:
    memory.write(full_batch(1, range(2)))
    assert (memory.deals([]), memory.files([]), memory.known_events([]), memory.actions_done([]),
            memory.carry_forward(1, []), list(memory.unseen_files(1, [])), memory.outbox(()), memory.runs(())) == (
        {}, {}, set(), {}, [], [], [], [])
    memory.mark_seen(1, [])
    memory.forget([], [])
    assert len(memory.deals()) == 2


def test_repeated_ids_and_prefixes_are_asked_once(memory: Any) -> None:
    run = memory.start_run(DAY, "wf.yaml", "digest-1", [])
    memory.write(full_batch(run, range(3)))
    assert sorted(memory.deals(["D-1", "D-1", "D-2"])) == ["D-1", "D-2"]
    assert len(memory.carry_forward(run + 1, ["D-1", "D-1"])) == 1
    unseen = [f.path for f in memory.unseen_files(run + 1, ["deals/", "deals/", "deals/d1"])]
    assert sorted(unseen) == ["deals/d0.yaml", "deals/d1.yaml", "deals/d1.yaml", "deals/d2.yaml"]  # per prefix


def test_unseen_files_are_those_under_a_prefix_this_run_did_not_see(store: Any) -> None:
    entries = [FileEntry(p, 1, 1, [], "d") for p in ("a/1.yaml", "a/2.yaml", "ab/3.yaml", "b/4.yaml")]
    store.write(Batch(1, files=entries))  # written rows count as seen by their run
    assert list(store.unseen_files(1, ["a/"])) == []
    store.mark_seen(2, ["a/1.yaml"])
    assert sorted(f.path for f in store.unseen_files(2, ["a/", "b/"])) == ["a/2.yaml", "b/4.yaml"]
    assert sorted(f.path for f in store.unseen_files(2, ["a"])) == ["a/2.yaml", "ab/3.yaml"]  # a prefix, not a folder
    assert sorted(f.path for f in store.unseen_files(2, [""])) == ["a/2.yaml", "ab/3.yaml", "b/4.yaml"]


def test_a_digested_part_is_marked_without_counting_an_attempt(memory: Any) -> None:
    memory.write(Batch(1, outbox=[item(1, status="digest")]))
    memory.mark_outbox("ob-1", "digested")
    (part,) = memory.outbox(("digested",))
    assert (part.attempts, part.sent_at) == (0, None)


def test_an_empty_batch_opens_no_transaction(memory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(type(memory), "_transaction", lambda self: pytest.fail("a transaction was opened"))
    memory.write(Batch(1))


def test_an_action_that_failed_is_not_done(memory: Any) -> None:
    memory.write(Batch(1, actions=[ActionResult("D-1", "a", "x", False, 1, DAY),
                                  ActionResult("D-1", "b", "x", True, 1, DAY),
                                  ActionResult("D-1", "b", "x", True, 1, DAY.replace(day=1))]))
    assert memory.actions_done(["D-1"]) == {"D-1": {"b": DAY.replace(day=1)}}  # the first day it succeeded


@pytest.mark.parametrize("call,doing", [
    (lambda s: s.deals(), "read"), (lambda s: list(s.events()), "read"), (lambda s: s.write(Batch(1, deals=[deal(1)])),
                                                                          "write to"),
    (lambda s: s.start_run(DAY, "wf", "d", []), "start a run in"), (lambda s: s.finish_run(1, "ok", {}), "finish a run in"),
    (lambda s: s.claim_outbox(), "claim the outbox of"), (lambda s: s.requeue_dead(), "update the outbox of"),
])
def test_a_closed_connection_is_a_store_error_naming_the_store(call: Any, doing: str) -> None:
    store = open_url("sqlite://")
    store.conn.close()
    with pytest.raises(StoreError, match=rf"^cannot {doing} sqlite://: Cannot operate on a closed database"):
        call(store)


def test_a_value_the_database_cannot_take_is_a_store_error(store: Any) -> None:
    with pytest.raises(StoreError, match="^cannot write to "):
        store.write(Batch(1, events=[event(1, at="someday")]))
    with pytest.raises(StoreError, match="^cannot start a run in "):
        store.start_run("someday", "wf", "d", [])  # type: ignore[arg-type]


def test_the_hooks_a_database_fills_in_are_abstract() -> None:
    base = _sql.SQLStore()
    for call in (lambda: base._transaction(), lambda: base._insert_id(None, "", ()), lambda: base._commit_step(None)):
        with pytest.raises(NotImplementedError):
            call()


@pytest.mark.parametrize("exc,text", [(ValueError("two\n  lines"), "two lines"), (ValueError(), "ValueError"),
                                      (RuntimeError("  "), "RuntimeError")])
def test_a_driver_error_is_described_on_one_line(exc: BaseException, text: str) -> None:
    assert _sql.SQLStore()._describe(exc) == text
