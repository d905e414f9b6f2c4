"""engine/parallel.py in process: `--jobs N` records every deal exactly once over N forked
workers under the parent's run id, merges their results, names a deal id that two workers
both met, feeds declared metrics from the store, and leaves nothing of the job behind."""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from conftest import Project
from flowctl import parallel, runner
from flowctl.run_result import RunResult
from flowctl.run_setup import share
from runs_in_process import TARGETED, open_store, run_setup, store_url


def in_parallel(project: Project, jobs: int = 2, workflow_setup: Any = None) -> tuple[RunResult, Any]:
    setup = workflow_setup or run_setup(project)
    store = open_store(project)
    try:
        result = runner.run(setup, store, [str(project.deals)], RunResult(), jobs=jobs, store_url=store_url(project))
        return result, (store.runs(), store.deals(), list(store.events()))
    finally:
        store.close()


@pytest.mark.parametrize("jobs", [2, 3])
def test_every_deal_is_recorded_once_under_the_parents_run(project: Project, jobs: int) -> None:
    for i in range(12):
        project.deal(f"D{i:02d}")
    result, (runs, deals, events) = in_parallel(project, jobs)
    assert result.counts["deals"] == 12 and sorted(result.seen) == [f"D{i:02d}" for i in range(12)]
    assert len(runs) == 1 and runs[0]["status"] == "ok" and runs[0]["summary"]["deals"] == 12
    assert len(deals) == 12 and len(events) == 12 == result.events_by_kind["stage_entered"]
    assert parallel._JOB == {}  # nothing of the job is left for the next one


def files_in_two_parts(folder: Path) -> tuple[str, str]:
    """Two file names in `folder` that the two workers of --jobs 2 take, one each (a
    worker takes the files whose path hashes to its number)."""
    names = (f"dup{i}.yaml" for i in itertools.count())
    first = next(names)
    return first, next(n for n in names if share(str(folder / n), 2) != share(str(folder / first), 2))


def test_a_deal_id_two_workers_both_met_is_an_error_naming_the_file(project: Project) -> None:
    first, second = files_in_two_parts(project.deals)
    project.deal("SAME", name=first)
    project.deal("SAME", name=second)
    result, _ = in_parallel(project)
    (duplicate,) = [d for d in result.diagnostics if "two processes" in d.message]
    assert duplicate.message == "duplicate deal id 'SAME' in files handled by two processes"
    assert Path(duplicate.file).name in (first, second) and duplicate.path == ("id",)


def test_declared_metrics_are_fed_from_the_stored_summaries(tmp_path: Path) -> None:
    project = Project(tmp_path, TARGETED)
    for i in range(3):
        project.deal(f"D{i}")
    _, (_, _, events) = in_parallel(project)
    (alert,) = [e for e in events if e.kind == "metric_alert"]
    assert alert.data["metric"] == "many" and alert.data["value"] == 3  # every worker's deals, counted once


def test_a_worker_that_fails_fails_the_run_and_clears_the_job(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.deal("D1")

    def broken(*args: object) -> RunResult:
        raise RuntimeError("worker died")

    monkeypatch.setattr(runner, "record_deals", broken)
    with pytest.raises(RuntimeError, match="worker died"):
        in_parallel(project)
    assert parallel._JOB == {}
