"""engine/runner.py in process: one whole run and its journal (ok, failed, and failed when
stopped midway by any exception), metric alerts once a day, digests only when a rule asks,
forgetting the files that vanished (and only those), delivery's counts, plugin failures
as the run's errors, and the garbage collector's settings restored."""
from __future__ import annotations

import contextlib
import gc
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import Project
from flowctl import runner
from flowctl.diagnostics import Diagnostic
from flowctl.liveness import process_tag
from flowctl.plugin_manager import PluginFailure
from flowctl.run_result import RunResult
from flowctl.store import Batch, FileEntry
from runs_in_process import TARGETED, open_store, run_setup
from store_records import deal


def whole_run(project: Project, **options: Any) -> tuple[RunResult, list[dict]]:
    store = open_store(project)
    try:
        result = runner.run(run_setup(project), store, [str(project.deals)], RunResult(), **options)
        return result, store.runs()
    finally:
        store.close()


def test_a_run_records_every_deal_and_its_journal_ends_ok(project: Project) -> None:
    for i in range(3):
        project.deal(f"D{i}")
    result, (run,) = whole_run(project)
    assert (result.counts["deals"], result.errors, result.events_by_kind) == (3, 0, {"stage_entered": 3})
    assert (run["status"], run["claimed_by"], run["now"].isoformat()) == ("ok", process_tag(), "2026-01-05")
    assert run["summary"]["deals"] == 3 and run["summary"]["events"] == {"stage_entered": 3}


def test_a_run_with_a_bad_deal_ends_failed_and_records_the_others(project: Project) -> None:
    project.deal("D1")
    project.deal("D2", "amount: [not a number]\n")
    result, (run,) = whole_run(project)
    assert result.errors == 1 and result.counts["deals"] == 1 and run["status"] == "failed"


def test_the_progress_sees_every_file(project: Project) -> None:
    for i in range(3):
        project.deal(f"D{i}")
    seen: list[str] = []

    def progress(files: list[str]) -> list[str]:
        seen.extend(files)
        return files

    whole_run(project, progress=progress)
    assert sorted(Path(f).name for f in seen) == ["D0.yaml", "D1.yaml", "D2.yaml"]


@pytest.mark.parametrize("exc,error", [(RuntimeError("the disk caught fire"), "the disk caught fire"),
                                       (KeyboardInterrupt(), "KeyboardInterrupt"), (SystemExit(3), "3")])
def test_any_exception_midway_ends_the_journal_failed_and_goes_on(project: Project, monkeypatch: pytest.MonkeyPatch,
                                                                  exc: BaseException, error: str) -> None:
    project.deal("D1")

    def stop(*args: object) -> None:
        raise exc

    monkeypatch.setattr(runner, "deliver", stop)
    with pytest.raises(type(exc)):
        whole_run(project)
    store = open_store(project)
    try:
        (run,) = store.runs()
        assert (run["status"], run["summary"]) == ("failed", {"error": error})
        assert set(store.deals()) == {"D1"}  # what was recorded before stays
    finally:
        store.close()


def test_a_metric_off_target_raises_one_alert_a_day(tmp_path: Path) -> None:
    project = Project(tmp_path, TARGETED)
    project.deal("D1")
    setup = run_setup(project)
    store = open_store(project)
    try:
        for run_id in (1, 2):  # the same day again: the alert is known
            result = RunResult()
            runner.record_deals(setup, store, run_id, [str(project.deal("D1"))], result)
            runner.raise_alerts(setup, store, run_id, result)
        assert [e.key for e in store.events() if e.kind == "metric_alert"] == ["metric_alert:many:2026-01-05"]
        assert result.events_by_kind.get("metric_alert") is None
    finally:
        store.close()


def test_no_declared_target_raises_no_alert_and_writes_nothing(project: Project) -> None:
    setup = run_setup(project)
    assert setup.watch is None
    runner.raise_alerts(setup, None, 1, RunResult())  # type: ignore[arg-type]  # the store is not even asked


def test_digests_are_not_looked_for_without_a_digest_rule(project: Project) -> None:
    runner.combine_digests(run_setup(project), None, 1, RunResult())  # type: ignore[arg-type]


def forgetting(tmp_path: Path, on_disk: list[str], known: dict[str, list[str]], seen: set[str],
               paths: list[str]) -> list[str]:
    """forget_vanished over a store that knows `known` (file -> deal ids), none seen by run 2."""
    project = Project(tmp_path)
    for name in on_disk:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("id: x\n")
    store = open_store(project)
    try:
        store.write(Batch(1, files=[FileEntry(str(tmp_path / f), 1, 1, ids, "d") for f, ids in known.items()]))
        runner.forget_vanished(store, 2, [str(tmp_path / p) for p in paths], seen)
        return sorted(os.path.relpath(f, tmp_path) for f in store.files())
    finally:
        store.close()


@pytest.mark.parametrize("on_disk,known,paths,kept", [
    ([], {"deals/a.yaml": ["A"]}, ["deals"], []),  # gone: forgotten
    (["deals/a.yaml"], {"deals/a.yaml": ["A"]}, ["deals"], ["deals/a.yaml"]),  # unseen but there (another shard's)
    ([], {"deals/a.yaml": ["A"], "other/b.yaml": ["B"]}, ["deals"], ["other/b.yaml"]),  # not under this run's folders
    ([], {"deals/a.yaml": ["A"], "deals-old/b.yaml": ["B"]}, ["deals"], ["deals-old/b.yaml"]),  # a folder, not a prefix
    ([], {"deals/a.yaml": ["A"], "deals/b.yaml": ["B"]}, ["deals/a.yaml"], ["deals/b.yaml"]),  # one file given
])
def test_only_files_gone_from_this_runs_folders_are_forgotten(tmp_path: Path, on_disk: list[str],
                                                              known: dict[str, list[str]], paths: list[str],
                                                              kept: list[str]) -> None:
    (tmp_path / "deals").mkdir(exist_ok=True)
    assert forgetting(tmp_path, on_disk, known, set(), paths) == kept


def test_a_deal_that_moved_to_another_file_is_not_forgotten_with_its_old_file(project: Project) -> None:
    store = open_store(project)
    try:
        store.write(Batch(1, deals=[], files=[FileEntry(str(project.deals / "old.yaml"), 1, 1, ["D1", "D2"], "d")]))
        store.write(Batch(1, deals=[deal(1, deal_id="D1"), deal(2, deal_id="D2")]))
        runner.forget_vanished(store, 2, [str(project.deals)], {"D1"})  # D1 was read from its new file
        assert store.files() == {} and set(store.deals()) == {"D1"}
    finally:
        store.close()


class FailingPlugins:
    def __init__(self, failures: list[PluginFailure]):
        self.failures = failures

    def take_failures(self) -> list[PluginFailure]:
        failures, self.failures = self.failures, []
        return failures


def test_plugin_failures_become_the_runs_errors_once(project: Project) -> None:
    setup = run_setup(project)
    setup.plugins = FailingPlugins([PluginFailure("acme", "flowctl_run_finished", ValueError("bad"))])
    result = RunResult()
    runner.plugin_failures(setup, result)
    runner.plugin_failures(setup, result)
    assert result.diagnostics == [Diagnostic("acme", "plugin acme failed in flowctl_run_finished: ValueError: bad")]
    assert result.errors == 1


@pytest.mark.parametrize("fail", [False, True])
def test_the_collectors_settings_come_back_after_recording(fail: bool) -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError) if fail else contextlib.nullcontext():
        with runner._fewer_collections(12_345):
            assert gc.get_threshold()[0] == max(12_345, before[0]) and gc.get_freeze_count() > 0
            if fail:
                raise RuntimeError("stop")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
