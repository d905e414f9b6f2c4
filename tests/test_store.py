"""The Store contract, run against both built-in stores: SQLite and PostgreSQL.

The PostgreSQL half gets a fresh database per test from tests/pg_server.py; without a
server it is skipped, except under CI, where it fails. What only one store does is in
tests/test_sqlite_store.py and tests/test_postgres_store.py.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import random
from pathlib import Path
from typing import Any, Callable

import pluggy
import pytest

from flowctl import hookspecs
from flowctl.plugins import _sql, postgres_store, sqlite_store
from flowctl.store import ActionResult, Batch, DealRecord, FileEntry, OutboxItem, SnapshotRow, Store, StoreError, Transition
from store_records import (DAY, LATER, TABLES, contents, count, deal, event, execute, full_batch, item,  # noqa: F401
                           open_url, opener, query, snap, store, store_url)  # opener, store, store_url: fixtures


# --------------------------------------------------------------------------- opening and migrations

def test_each_plugin_answers_the_storage_hook_for_its_own_urls(tmp_path: Path) -> None:
    pm = pluggy.PluginManager("flowctl")
    pm.add_hookspecs(hookspecs)
    pm.register(sqlite_store)
    pm.register(postgres_store)
    with pm.hook.flowctl_open_store(url=f"sqlite:///{tmp_path}/state.db") as store:
        assert isinstance(store, sqlite_store.SQLiteStore)
    assert sqlite_store.flowctl_open_store("postgresql://u:p@localhost/db") is None
    assert postgres_store.flowctl_open_store("sqlite:///state.db") is None
    for url in ("mysql://u:p@localhost/db", "state.db", ""):
        assert pm.hook.flowctl_open_store(url=url) is None


def test_a_new_store_is_empty_and_at_the_latest_schema(store: Any) -> None:
    assert isinstance(store, Store)
    assert query(store, "SELECT version FROM schema_version") == [(_sql.LATEST,)]
    assert contents(store) == dict.fromkeys(TABLES, 0)
    assert (store.files(), store.deals(), store.outbox(), store.runs(), store.snapshot()) == ({}, {}, [], [], [])
    assert list(store.transitions()) == list(store.events()) == list(store.action_results()) == []


def test_reopening_keeps_everything_and_migrates_nothing(opener: Callable[[], Any]) -> None:
    first = opener()
    run = first.start_run(DAY, "wf.yaml", "digest-1", [])
    first.write(full_batch(run, range(3)))
    before = (first.deals(), first.files(), first.outbox(), list(first.events()), contents(first))
    first.close()
    again, third = opener(), opener()
    assert (again.deals(), again.files(), again.outbox(), list(again.events()), contents(again)) == before
    assert query(third, "SELECT version FROM schema_version") == [(_sql.LATEST,)]


def test_a_store_from_a_newer_flowctl_is_refused(opener: Callable[[], Any], store_url: str) -> None:
    store = opener()
    execute(store, "UPDATE schema_version SET version = ?", (_sql.LATEST + 1,))
    with pytest.raises(StoreError, match=rf"schema version {_sql.LATEST + 1}.*newer flowctl.*upgrade"):
        open_url(store_url)
    assert query(store, "SELECT version FROM schema_version") == [(_sql.LATEST + 1,)]  # left alone


def test_a_new_migration_step_upgrades_an_existing_store(opener: Callable[[], Any],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    old = opener()
    old.write(Batch(1, deals=[deal(1)]))
    old.close()
    monkeypatch.setattr(_sql, "MIGRATIONS", [*_sql.MIGRATIONS, ("CREATE TABLE extra (note TEXT)",
                                                                "INSERT INTO extra (note) VALUES ('v2')")])
    monkeypatch.setattr(_sql, "LATEST", _sql.LATEST + 1)
    new = opener()
    assert query(new, "SELECT version FROM schema_version") == [(_sql.LATEST,)]
    assert query(new, "SELECT note FROM extra") == [("v2",)]
    assert set(new.deals()) == {"D-1"}


def test_a_failing_migration_leaves_the_store_as_it_was(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sql, "MIGRATIONS", [(*_sql.MIGRATIONS[0], "CREATE TABLE broken (")])
    with pytest.raises(StoreError, match="cannot migrate"):
        open_url(store_url)
    monkeypatch.undo()
    store = open_url(store_url)  # nothing of the failed attempt is in the way
    try:
        assert query(store, "SELECT version FROM schema_version") == [(_sql.LATEST,)]
    finally:
        store.close()


# --------------------------------------------------------------------------- round trips

def test_deal_records_round_trip(store: Any) -> None:
    full = DealRecord("ACME-2026-001", "deals/acme.yaml", "developed", "open", DAY,
                      first_seen={"prospect": dt.date(2026, 10, 1), "developed": DAY},
                      actions_ok={"render-proposal": dt.date(2026, 10, 3)}, event_keys={"a", "b", "ü"},
                      summary={"id": "ACME-2026-001", "amount": 120000.5, "gates": [{"id": "bant", "ok": True}],
                               "name": "Flottentelemetrie für ACME — ñ", "owner": None},
                      next_deadline=LATER, workflow_digest="sha256:abc")
    bare = deal(2)
    store.write(Batch(1, deals=[full, bare]))
    assert store.deals() == {full.deal_id: full, bare.deal_id: bare}
    assert store.deals(["D-2", "nobody"]) == {"D-2": bare}
    assert list(store.deals(["ACME-2026-001"])["ACME-2026-001"].summary) == ["id", "amount", "gates", "name", "owner"]


def test_dates_inside_a_summary_come_back_as_iso_text(store: Any) -> None:
    store.write(Batch(1, deals=[deal(1, summary={"entered_at": DAY, "keys": {"x"}})]))
    assert store.deals()["D-1"].summary == {"entered_at": "2026-11-02", "keys": ["x"]}


def test_deals_by_many_ids(store: Any) -> None:
    store.write(Batch(1, deals=[deal(i) for i in range(1200)]))
    wanted = (f"D-{i}" for i in [*range(0, 1200, 2), 5000, 2, 2])  # any iterable; unknown and repeated ids
    assert sorted(store.deals(wanted)) == sorted(f"D-{i}" for i in range(0, 1200, 2))
    assert store.deals([]) == {}


def test_manifest_rows_round_trip(store: Any) -> None:
    entries = [FileEntry("deals/a.yaml", 1234, 1_763_000_000_123_456_789, ["A", "B"], "digest-1", LATER, True),
               FileEntry("deals/ñ b.yaml", 0, 0, [], "digest-1", None, False)]
    store.write(Batch(1, files=entries))
    assert store.files() == {e.path: e for e in entries}


def test_history_round_trips(store: Any) -> None:
    run = store.start_run(DAY, "wf.yaml", "digest-1", [])
    transitions = [Transition("D-1", "prospect", "qualified", LATER, "open", run),
                   Transition("D-1", None, "prospect", DAY),  # run_id None: the batch's run
                   Transition("D-2", "proposed", "closed", DAY, "won", run)]
    events = [event(1, data={"gate": "bant", "values": [1, None]}), event(2, stage=None, data={})]
    actions = [ActionResult("D-1", "render-proposal", "render", True, 1, DAY, {"file": "out/p.html"}),
               ActionResult("D-2", "send-to-legal", "notify", False, 3, LATER, {}, "SMTP said 550")]
    store.write(Batch(run, transitions=transitions, events=events, actions=actions))
    assert list(store.transitions()) == [dataclasses.replace(transitions[1], run_id=run), transitions[2],
                                         transitions[0]]  # oldest by date first
    assert list(store.transitions("D-2")) == [transitions[2]]
    assert list(store.events()) == list(store.events(run)) == events
    assert list(store.events(run + 1)) == []
    assert list(store.action_results()) == actions
    assert list(store.action_results("D-2")) == [actions[1]]


def test_outbox_items_round_trip(store: Any) -> None:
    items = [item(1), item(2, recipient=None, payload={"nested": {"list": [1, "ü"]}}, created_at=None),
             item(3, status="failed", attempts=2, last_error="timeout")]
    store.write(Batch(1, outbox=items))
    assert store.outbox() == items  # oldest first
    assert store.outbox(("failed",)) == [items[2]]
    assert store.outbox(("sent",)) == store.outbox(()) == []


# --------------------------------------------------------------------------- write semantics

def test_deal_records_and_manifest_rows_are_replaced(store: Any) -> None:
    store.write(Batch(1, deals=[deal(1), deal(2)], files=[FileEntry("d1.yaml", 1, 1, ["D-1"], "digest-1")]))
    newer = deal(1, stage="qualified", first_seen={"prospect": DAY, "qualified": LATER}, event_keys=set(),
                 summary={"stage": "qualified"}, next_deadline=LATER)
    entry = FileEntry("d1.yaml", 2, 2, ["D-1", "D-3"], "digest-2", LATER, False)
    store.write(Batch(2, deals=[newer], files=[entry]))
    assert store.deals() == {"D-1": newer, "D-2": deal(2)}
    assert store.files() == {"d1.yaml": entry}
    assert count(store, "deals") == 2 and count(store, "files") == 1


def test_an_event_or_outbox_key_is_recorded_once(store: Any) -> None:
    store.write(Batch(1, events=[event(1), event(1, kind="other")], outbox=[item(1), item(1, subject="other")]))
    store.mark_outbox("ob-1", "sent")
    store.write(Batch(2, events=[event(1, data={"again": True})], outbox=[item(1, body="again")]))
    assert count(store, "events") == count(store, "outbox") == 1
    assert list(store.events()) == [event(1)]  # the first one stays
    (sent,) = store.outbox(("sent",))
    assert (sent.subject, sent.body, sent.attempts) == (item(1).subject, "body", 1)  # not queued again
    assert list(store.events(2)) == []


def test_mark_outbox_records_each_attempt(store: Any) -> None:
    store.write(Batch(1, outbox=[item(1), item(2)]))
    store.mark_outbox("ob-1", "failed", "connection refused")
    (failed, queued) = store.outbox()
    assert (failed.key, failed.status, failed.attempts, failed.last_error, failed.sent_at) == \
        ("ob-1", "failed", 1, "connection refused", None)
    assert (queued.key, queued.status, queued.attempts) == ("ob-2", "queued", 0)
    store.mark_outbox("ob-1", "failed", "timeout")
    store.mark_outbox("ob-1", "sent")
    (sent,) = store.outbox(("sent",))
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 3, None)
    assert dt.datetime.fromisoformat(sent.sent_at).tzinfo is not None
    assert [i.key for i in store.outbox()] == ["ob-2"]
    with pytest.raises(StoreError, match="no outbox item 'nope'"):
        store.mark_outbox("nope", "sent")
    with pytest.raises(StoreError, match="expected sent, failed, dead or digested"):
        store.mark_outbox("ob-2", "lost")


def test_the_run_journal(store: Any) -> None:
    first = store.start_run(DAY, "acme/workflow.yaml", "digest-1", ["run", "deals/"])
    store.finish_run(first, "errors", {"deals": 3, "errors": 1, "at": DAY})
    second = store.start_run(LATER, "acme/workflow.yaml", "digest-2", [])
    assert second > first
    newest, oldest = store.runs()
    assert {k: newest[k] for k in ("id", "finished", "status", "summary", "now", "digest", "argv")} == \
        {"id": second, "finished": None, "status": "running", "summary": None, "now": LATER, "digest": "digest-2",
         "argv": []}
    assert {k: oldest[k] for k in ("id", "status", "summary", "now", "workflow", "argv")} == \
        {"id": first, "status": "errors", "summary": {"deals": 3, "errors": 1, "at": "2026-11-02"}, "now": DAY,
         "workflow": "acme/workflow.yaml", "argv": ["run", "deals/"]}
    assert oldest["started"] <= oldest["finished"]


def test_snapshot_of_the_latest_run(store: Any) -> None:
    store.write(Batch(1, snapshot=[snap(2), snap(1)]))
    store.write(Batch(2, snapshot=[snap(1, stage="qualified", owner=None)]))
    store.write(Batch(3, deals=[deal(1)]))  # a run that wrote no snapshot
    assert store.snapshot() == [dataclasses.asdict(snap(1, stage="qualified", owner=None))]
    assert store.snapshot(1) == [dataclasses.asdict(snap(1)), dataclasses.asdict(snap(2))]
    assert store.snapshot(3) == []
    assert [SnapshotRow(**row) for row in store.snapshot(1)] == [snap(1), snap(2)]


def test_5000_deals_in_one_transaction(store: Any) -> None:
    batch = full_batch(1, range(5000))
    if isinstance(store, sqlite_store.SQLiteStore):
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        store.write(batch)
        store.conn.set_trace_callback(None)
        assert [s for s in statements if s in ("BEGIN IMMEDIATE", "COMMIT")] == ["BEGIN IMMEDIATE", "COMMIT"]
    else:
        store.write(batch)
        union = " UNION ".join(f"SELECT xmin::text FROM {table}" for table in TABLES)
        assert len(query(store, union)) == 1  # every row written by the same transaction
    assert contents(store) == dict.fromkeys(TABLES, 5000)
    assert store.deals(["D-4999"])["D-4999"] == deal(4999)


@pytest.mark.parametrize("size", [3, 600], ids=["few-rows", "many-rows"])
def test_a_deal_written_twice_in_one_batch_keeps_the_last(store: Any, size: int) -> None:
    # Few rows go row by row; many go in bulk (PostgreSQL: COPY), which must mean the same.
    batch = full_batch(1, range(size))
    batch.deals.append(deal(0, stage="qualified"))
    batch.snapshot.append(snap(0, stage="qualified"))
    batch.events.append(event(0, kind="deal_won"))  # a key seen before: ignored
    store.write(batch)
    assert store.deals(["D-0"])["D-0"].stage == "qualified"
    assert {r["deal_id"]: r["stage"] for r in store.snapshot(1)}["D-0"] == "qualified"
    assert [e.kind for e in store.events() if e.key == "ev-0"] == ["stage_entered"]
    assert contents(store) == dict.fromkeys(TABLES, size)


def test_two_bulk_batches_in_one_exclusive_step_write_each_row_once(store: Any) -> None:
    with store.exclusive():
        store.write(full_batch(1, range(600)))
        store.write(full_batch(1, range(600, 1200)))
    assert contents(store) == dict.fromkeys(TABLES, 1200)


class Unserialisable:
    pass


@pytest.mark.parametrize("spoil", [
    pytest.param(lambda b: b.deals[-1].summary.update(x=Unserialisable()), id="unserialisable-summary"),
    pytest.param(lambda b: setattr(b.outbox[-1], "subject", None), id="null-subject"),
    pytest.param(lambda b: setattr(b.snapshot[-1], "amount", "much"), id="amount-not-a-number"),
])
def test_a_failing_batch_leaves_nothing_behind(store: Any, spoil: Callable[[Batch], None]) -> None:
    store.write(full_batch(1, range(2)))
    before = (store.deals(), store.files(), store.outbox(), list(store.events()), contents(store))
    batch = full_batch(2, range(5000))  # rewrites deals 0 and 1, adds the rest
    for record in batch.deals:
        record.stage = "qualified"
    spoil(batch)  # the last row of one table is bad: the rows before it were already sent
    with pytest.raises(StoreError, match="cannot write to"):
        store.write(batch)
    assert (store.deals(), store.files(), store.outbox(), list(store.events()), contents(store)) == before
    store.write(full_batch(3, range(5, 7)))  # and the store takes the next batch
    assert count(store, "deals") == 4


# --------------------------------------------------------------------------- concurrent runs

WORKERS, BATCHES, SIZE, STEP = 4, 12, 150, 50  # batch b holds ids b*STEP .. b*STEP+SIZE: they overlap


def _write_overlapping(url: str, worker: int, barrier: Any) -> int:
    """One of several processes writing the same keys into a store none has opened yet."""
    barrier.wait(60)
    with open_url(url) as store:  # all open (and migrate) a fresh store at once
        run = store.start_run(DAY, "wf.yaml", "digest-1", [f"worker-{worker}"])
        rng = random.Random(worker)
        for b in range(BATCHES):
            ids = list(range(b * STEP, b * STEP + SIZE))
            rng.shuffle(ids)
            store.write(full_batch(run, ids))
        store.finish_run(run, "ok", {"worker": worker})
        return run


def test_concurrent_runs_write_each_key_once(store_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(WORKERS) as pool:
        barrier = manager.Barrier(WORKERS)
        runs = pool.starmap(_write_overlapping, [(store_url, w, barrier) for w in range(WORKERS)], chunksize=1)
    keys = (BATCHES - 1) * STEP + SIZE
    with open_url(store_url) as store:
        assert sorted(r["id"] for r in store.runs()) == sorted(runs) and len(set(runs)) == WORKERS
        assert {r["status"] for r in store.runs()} == {"ok"}
        assert count(store, "events") == count(store, "outbox") == count(store, "deals") == keys
        assert query(store, "SELECT key FROM events GROUP BY key HAVING COUNT(*) > 1") == []
        assert sorted(e.key for e in store.events()) == sorted(f"ev-{i}" for i in range(keys))
        assert sorted(i.key for i in store.outbox()) == sorted(f"ob-{i}" for i in range(keys))
        assert all(len(store.snapshot(run)) == keys for run in runs)


# --------------------------------------------------------------------------- batches, carrying forward, forgetting, claiming

def test_exclusive_step_reads_and_writes_in_one_transaction(store: Any) -> None:
    run = store.start_run(DAY, "wf.yaml", "digest-1", [])
    with store.exclusive() as step:
        assert step.deals(["D-1"]) == {}
        step.write(Batch(run, deals=[deal(1)]))
        assert "D-1" in step.deals(["D-1"])  # sees its own write before the commit
    assert store.deals()["D-1"].stage == "prospect"


def test_an_exclusive_step_that_fails_writes_nothing(store: Any) -> None:
    run = store.start_run(DAY, "wf.yaml", "digest-1", [])
    with pytest.raises(RuntimeError):
        with store.exclusive() as step:
            step.write(Batch(run, deals=[deal(1)], events=[event(1)]))
            raise RuntimeError("evaluation failed midway")
    assert store.deals() == {} and count(store, "events") == 0


def test_carry_forward_copies_the_stored_state_into_the_run_snapshot(store: Any) -> None:
    first = store.start_run(DAY, "wf.yaml", "digest-1", [])
    summary = {"amount": 5000.0, "probability": 0.25, "forecast_category": "pipeline", "owner": "bob@example.com"}
    store.write(Batch(first, deals=[deal(i, summary=dict(summary, id=f"D-{i}")) for i in range(3)]))
    second = store.start_run(DAY, "wf.yaml", "digest-1", [])
    rows = store.carry_forward(second, ["D-0", "D-2", "D-missing"])
    assert sorted(r.deal_id for r in rows) == ["D-0", "D-2"]
    assert rows[0] == SnapshotRow("D-0", "prospect", "open", 5000.0, 0.25, "pipeline", "bob@example.com")
    assert sorted(r["deal_id"] for r in store.snapshot(second)) == ["D-0", "D-2"]


def test_forget_drops_manifest_rows_and_deal_records_but_keeps_history(store: Any) -> None:
    run = store.start_run(DAY, "wf.yaml", "digest-1", [])
    store.write(full_batch(run, range(3)))
    store.forget(["deals/d1.yaml"], ["D-1"])
    assert sorted(store.files()) == ["deals/d0.yaml", "deals/d2.yaml"]
    assert sorted(store.deals()) == ["D-0", "D-2"]
    assert count(store, "transitions") == 3 and count(store, "events") == 3


def test_claimed_outbox_items_are_not_claimed_again_until_the_lease_ends(store: Any) -> None:
    run = store.start_run(DAY, "wf.yaml", "digest-1", [])
    store.write(Batch(run, outbox=[item(1), item(2)]))
    assert [i.key for i in store.claim_outbox()] == ["ob-1", "ob-2"]
    assert store.claim_outbox() == []  # another process finds nothing to send
    store.mark_outbox("ob-1", "sent")
    store.mark_outbox("ob-2", "failed", "server down")
    assert [i.key for i in store.claim_outbox()] == ["ob-2"]  # failed: tried again
    assert [i.key for i in store.claim_outbox(lease_seconds=-1)] == ["ob-2"]  # a crashed claimer's lease ended


def test_dead_messages_are_not_claimed_until_requeued(store) -> None:
    run = store.start_run(DAY, "wf.yaml", "digest-1", [])
    store.write(Batch(run, outbox=[OutboxItem("k-dead", "chat", None, "s", "b", {})]))
    store.claim_outbox()
    store.mark_outbox("k-dead", "dead", "gave up")
    assert store.claim_outbox() == [] and [i.key for i in store.outbox(("dead",))] == ["k-dead"]
    assert store.requeue_dead() == 1 and store.requeue_dead() == 0
    [item] = store.claim_outbox()
    assert (item.key, item.attempts, item.status) == ("k-dead", 0, "failed")


def test_journal_commits_inside_an_exclusive_step(store, store_url) -> None:
    run = store.start_run(DAY, "wf.yaml", "digest-1", [])
    result = ActionResult("D-1", "auto", "render", True, 1, DAY)
    with store.exclusive():
        store.journal(Batch(run, actions=[result]))
        other = open_url(store_url)  # another connection sees the action before the step ends
        try:
            assert other.actions_done(["D-1", "D-2"]) == {"D-1": {"auto": DAY}}
        finally:
            other.close()
    assert store.actions_done(["D-1"]) == {"D-1": {"auto": DAY}}
