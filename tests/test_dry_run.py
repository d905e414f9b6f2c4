"""flowctl.dry_run: a store that reads the real one (or nothing) and keeps every write as
the plan; actions listed, never run; the outbox listed, never delivered."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from flowctl.dry_run import DryRun, PlanStore
from flowctl.notify import DIGEST_PART, DIGESTED
from flowctl.plugins import sqlite_store
from flowctl.run_result import RunResult
from flowctl.store import Batch, FileEntry, Store, Transition

from test_store import contents, event, full_batch, item, query

DAY = dt.date(2026, 11, 2)


@pytest.fixture
def real(tmp_path: Path) -> Any:
    store = sqlite_store.flowctl_open_store(f"sqlite:///{tmp_path}/state.db")
    run_id = store.start_run(DAY, "wf.yaml", "digest-1", [])
    store.write(full_batch(run_id, range(3)))
    store.write(Batch(run_id, outbox=[item(9, status="dead")]))
    store.finish_run(run_id, "ok", {"deals": 3})
    yield store
    store.close()


def everything(store: Any) -> dict:
    return {**contents(store), "runs": query(store, "SELECT id, status FROM runs"),
            "outbox": query(store, "SELECT key, status, attempts FROM outbox ORDER BY key")}


def every_write(store: Store) -> None:
    """Each write of the Store interface, as a run makes them."""
    run_id = store.start_run(DAY, "wf.yaml", "digest-2", [])
    store.write(full_batch(run_id, range(3, 6)))
    store.journal(Batch(run_id, outbox=[item(7)]))
    store.mark_seen(run_id, ["deals/d0.yaml"])
    store.carry_forward(run_id, ["D-0"])
    store.forget(["deals/d1.yaml"], ["D-1"])
    store.mark_outbox("ob-0", "sent")
    store.requeue_dead()
    store.claim_outbox(claimer="host:1")
    with store.exclusive():
        store.write(Batch(run_id, files=[FileEntry("deals/new.yaml", 1, 1, ["N"], "digest-2")]))
    store.finish_run(run_id, "ok", {})


def test_no_write_reaches_the_real_store(real):
    before = everything(real)
    plan = RunResult()
    every_write(PlanStore(real, plan))
    assert everything(real) == before
    assert [t["deal"] for t in plan.transitions] == ["D-3", "D-4", "D-5"]
    assert plan.skipped == [{"what": "read deals/d0.yaml", "why": "unchanged since the last run"}]


def test_reads_are_the_real_stores_and_the_plans(real):
    plan = RunResult()
    store = PlanStore(real, plan)
    assert store.deals(["D-0"]) == real.deals(["D-0"]) and store.files() == real.files()
    assert [r.deal_id for r in store.carry_forward(0, ["D-0", "D-2"])] == ["D-0", "D-2"]
    store.write(Batch(0, events=[event(42)], outbox=[item(42, status=DIGEST_PART)]))
    assert store.known_events(["ev-0", "ev-42", "ev-43"]) == {"ev-0", "ev-42"}
    assert [i.key for i in store.outbox((DIGEST_PART,))] == ["ob-42"]
    store.mark_outbox("ob-42", DIGESTED)  # combined into a digest: no longer waiting
    assert store.outbox((DIGEST_PART,)) == []
    assert store.requeue_dead() == 1 and [i.key for i in real.outbox(("dead",))] == ["ob-9"]
    assert store.claim_outbox() == [] and {i.key for i in real.outbox()} == {"ob-0", "ob-1", "ob-2"}


def test_before_the_first_run_it_is_an_empty_store():
    store = PlanStore(None, RunResult())
    assert (store.files(), store.deals(), store.actions_done(["X"]), store.outbox(), store.snapshot(),
            store.runs(), list(store.unseen_files(0, [""])), list(store.transitions()), list(store.events()),
            store.known_events(["k"]), store.start_run(DAY, "wf.yaml", "d", [])) == (
        {}, {}, {}, [], [], [], [], [], [], set(), 0)
    every_write(store)  # and keeps what it is given


def test_actions_are_listed_never_run_and_the_outbox_listed_never_sent(real):
    plan = RunResult()
    dry = DryRun(plan)
    store = dry.store(real)

    class Boom:
        name = "boom"

        def run(self, context: Any) -> Any:
            raise AssertionError("a dry run ran an action")

    class Context:
        deal = {"id": "D-0"}

    class Job:
        id, uses = "send", "boom"

    assert dry.act(Boom(), Job(), Context(), DAY) is None  # type: ignore[arg-type]
    assert plan.actions == [{"deal": "D-0", "job": "send", "action": "boom", "would_run": True}]
    report = dry.deliver(store, None, {})  # type: ignore[arg-type]
    assert report.sent == 0 and {s["what"].split(":")[0] for s in plan.skipped if s["why"] == "dry run"} >= {
        "action boom for D-0 (send)", "deliver email to rep0@example.com"}
    assert all(i.status == "queued" for i in real.outbox())


def test_transitions_in_the_plan_as_the_plan_file_writes_them():
    plan = RunResult()
    PlanStore(None, plan).write(Batch(0, transitions=[Transition("D", "a", "b", DAY, "won")]))
    assert plan.transitions == [{"deal": "D", "from": "a", "to": "b", "outcome": "won", "at": "2026-11-02"}]
