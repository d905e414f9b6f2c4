"""engine/cli/runs.py: `flowctl runs`, the run journal newest first, as a table or JSON; a
store not there yet lists nothing and is not created; a run whose process died shows crashed."""
from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from conftest import Project
from flowctl.plugins.sqlite_store import SQLiteStore

DAY = dt.date(2026, 11, 2)


def journal(cli: Any, project: Project, *extra: str) -> list[dict]:
    result = cli("runs", *project.args("--format", "json", *extra))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["runs"]


def record(project: Project, *summaries: dict | None, claimer: str | None = None) -> list[int]:
    """Runs in the project's store: each finished ok with its summary, or left running (None)."""
    path = str(project.root / "state.db")
    with SQLiteStore("sqlite:///" + path, path) as store:
        ids = []
        for summary in summaries:
            ids.append(store.start_run(DAY, "workflow.yaml", "digest", ["run"], claimer=claimer))
            if summary is not None:
                store.finish_run(ids[-1], "ok", summary)
        return ids


def test_no_store_yet_lists_no_runs(cli, project):
    assert journal(cli, project) == []
    assert not (project.root / "state.db").exists()  # looking creates nothing


def test_no_runs_as_text(cli: Any, project: Project) -> None:
    result = cli("runs", *project.args())
    assert (result.exit_code, result.stdout) == (0, "no runs recorded yet\n")


def test_each_run_shows_its_summarys_figures(cli: Any, project: Project) -> None:
    summary = {"deals": 3, "events": {"stage_entered": 2, "deal_won": 1}, "errors": 1, "sent": 4,
               "delivery_failed": 1, "dead": 0, "error": "stopped"}
    (run,) = record(project, summary)
    (row,) = journal(cli, project)
    assert {k: row[k] for k in ("id", "status", "now", "workflow", "deals", "events", "errors", "sent", "failed",
                                "dead", "error")} == {
        "id": run, "status": "ok", "now": "2026-11-02", "workflow": "workflow.yaml", "deals": 3, "events": 3,
        "errors": 1, "sent": 4, "failed": 1, "dead": 0, "error": "stopped"}
    assert row["started_at"] <= row["finished_at"]


@pytest.mark.parametrize("last,shown", [(None, 3), (1, 1), (2, 2), (3, 3), (10, 3)])
def test_last_n_shows_the_newest_n(cli: Any, project: Project, last: int | None, shown: int) -> None:
    ids = record(project, {}, {}, {})
    extra = ("--last", str(last)) if last else ()
    assert [r["id"] for r in journal(cli, project, *extra)] == ids[::-1][:shown]


@pytest.mark.parametrize("last", ["0", "-1", "many"])
def test_last_must_be_a_positive_number(cli: Any, project: Project, last: str) -> None:
    result = cli("runs", *project.args("--last", last))
    assert result.exit_code == 2 and "--last" in result.stderr


def test_the_table_has_a_header_and_a_dash_for_what_a_run_did_not_say(cli: Any, project: Project) -> None:
    record(project, {"deals": 2}, None, claimer=f"{socket.gethostname()}:{_dead_pid()}")
    header, *rows = cli("runs", *project.args()).stdout.splitlines()
    assert header.split() == ["id", "started", "(UTC)", "finished", "(UTC)", "status", "deals", "events", "errors",
                              "sent", "failed", "dead"]
    newest, oldest = (row.split() for row in rows)
    assert newest[2:] == ["-", "crashed", "-", "-", "-", "-", "-", "-"]  # its process is gone
    assert oldest[3:] == ["ok", "2", "-", "-", "-", "-", "-"]


def test_a_dead_run_is_shown_crashed_but_left_for_the_next_run_to_record(cli: Any, project: Project) -> None:
    (run,) = record(project, None, claimer=f"{socket.gethostname()}:{_dead_pid()}")
    assert journal(cli, project)[0]["status"] == "crashed"
    path = str(project.root / "state.db")
    with SQLiteStore("sqlite:///" + path, path) as store:
        assert [r["status"] for r in store.runs()] == ["running"]


def test_with_a_store_no_workflow_is_needed(cli: Any, tmp_path: Path) -> None:
    project = Project(tmp_path)
    record(project, {})
    result = cli("runs", "--store", f"sqlite:///{tmp_path / 'state.db'}", "--format", "json", cwd=tmp_path / "deals")
    assert result.exit_code == 0 and len(json.loads(result.stdout)["runs"]) == 1


@pytest.mark.parametrize("args,message", [
    ((), "no workflow: give -w WORKFLOW"),
    (("--store", "mysql://bob:s3cret@db/x"), "no plugin handles the store URL 'mysql://bob:***@db/x'"),
    (("--store", "sqlite://state.db"), "error: store: bad SQLite store URL"),
])
def test_a_journal_that_cannot_be_found_is_a_usage_error(cli: Any, tmp_path: Path, args: tuple[str, ...],
                                                         message: str) -> None:
    result = cli("runs", *args, cwd=tmp_path)
    assert result.exit_code == 2 and message in result.stderr and "s3cret" not in result.stderr


def _dead_pid() -> int:
    """A pid no process has: above the kernel's largest."""
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
