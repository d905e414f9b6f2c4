"""The run journal and `flowctl runs`: ok, failed (with errors, or stopped by one), crashed
(its process died: found by the next run, by pid on this host), running."""
from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys

import pytest

from conftest import Project
from flowctl.journal import RUN_LEASE, close_dead_runs, seems_dead
from flowctl.plugin_manager import Plugins


def journal(cli, project: Project) -> list[dict]:
    result = cli("runs", "-w", project.workflow, "--store", f"sqlite:///{project.root / 'state.db'}", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["runs"]


def open_store(project: Project):
    return Plugins(load_entry_points=False).open_store(f"sqlite:///{project.root / 'state.db'}")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_an_ok_run_and_a_failed_one_newest_first(cli, project):
    project.deal("D1")
    cli("run", project.deals, *project.args("--now", "2026-01-03"))
    project.deal("D2", "amount: [not a number]\n")
    assert cli("run", project.deals, *project.args("--now", "2026-01-04")).exit_code == 1
    newest, oldest = journal(cli, project)
    assert set(newest) >= {"id", "started_at", "finished_at", "status", "deals", "events", "errors", "sent", "failed"}
    assert (oldest["status"], oldest["deals"], oldest["events"], oldest["errors"]) == ("ok", 1, 1, 0)
    assert (newest["status"], newest["errors"]) == ("failed", 1)
    assert newest["id"] > oldest["id"] and oldest["finished_at"]
    text = cli("runs", "-w", project.workflow, "--store", f"sqlite:///{project.root / 'state.db'}").stdout
    assert "status" in text.splitlines()[0] and " ok " in text and " failed " in text


def test_a_run_stopped_by_an_exception_ends_failed(cli, project, monkeypatch):
    project.deal("D1")
    from flowctl import runner

    def boom(*args, **kwargs):
        raise RuntimeError("the disk caught fire")
    monkeypatch.setattr(runner, "record_deals", boom)
    with pytest.raises(RuntimeError):
        cli("run", project.deals, *project.args("--now", "2026-01-03"))
    monkeypatch.undo()
    (run,) = journal(cli, project)
    assert run["status"] == "failed" and "disk caught fire" in run["error"] and run["finished_at"]


def test_a_killed_run_is_crashed_for_runs_and_recorded_so_by_the_next_run(cli, project):
    project.deal("D1")
    cli("run", project.deals, *project.args("--now", "2026-01-03"))
    store = open_store(project)
    try:
        killed = store.start_run(dt.date(2026, 1, 4), "wf", "d", [], claimer=f"{socket.gethostname()}:{dead_pid()}")
    finally:
        store.close()
    assert {r["id"]: r["status"] for r in journal(cli, project)}[killed] == "crashed"
    cli("run", project.deals, *project.args("--now", "2026-01-05"))
    store = open_store(project)
    try:
        statuses = {r["id"]: r["status"] for r in store.runs()}
        assert statuses[killed] == "crashed" and list(statuses.values()).count("ok") == 2
        assert store.runs(("running",)) == []
    finally:
        store.close()


def test_a_live_run_stays_running_and_another_hosts_run_only_after_the_lease(project):
    store = open_store(project)
    try:
        import os
        me = store.start_run(dt.date(2026, 1, 4), "wf", "d", [], claimer=f"{socket.gethostname()}:{os.getpid()}")
        other = store.start_run(dt.date(2026, 1, 4), "wf", "d", [], claimer="elsewhere:1")
        old = store.start_run(dt.date(2026, 1, 4), "wf", "d", [])  # a run from before the journal named processes
        now = dt.datetime.now(dt.timezone.utc)
        assert close_dead_runs(store, now) == []
        assert {r["id"] for r in store.runs(("running",))} == {me, other, old}
        later = now + RUN_LEASE + dt.timedelta(minutes=1)
        assert not seems_dead({"started": "not a date", "claimed_by": None}, later)
        assert sorted(close_dead_runs(store, later)) == sorted([other, old])  # this process lives: no lease
    finally:
        store.close()
