"""engine/changed.py: which deal files a run reads, which it carries over unread, in batches."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
from types import SimpleNamespace

import pytest

from flowctl import changed
from flowctl.changed import Changed, Unchanged, carry_unchanged, changed_deals
from flowctl.plugin_manager import Plugins
from flowctl.run_result import RunResult
from flowctl.run_setup import RunSetup
from flowctl.store import FileEntry

NOW = dt.date(2026, 3, 1)


class Manifest:
    """The part of a store that reading asks: the manifest rows of some files."""

    def __init__(self, rows: dict[str, FileEntry] | None = None):
        self.rows = rows or {}
        self.asked: list[list[str]] = []

    def files(self, paths: list[str]) -> dict[str, FileEntry]:
        self.asked.append(list(paths))
        return {p: self.rows[p] for p in paths if p in self.rows}


@pytest.fixture
def setup(project) -> RunSetup:
    from flowctl.workflow import load_workflow
    return RunSetup.make(load_workflow(project.workflow)[0], str(project.workflow), Plugins(), NOW)


def _entry(setup: RunSetup, path: str, ids: list[str]) -> FileEntry:
    st = os.stat(path)
    return FileEntry(path, st.st_size, st.st_mtime_ns, ids, setup.wf.digest)


def _batches(setup, store, files, result=None) -> list:
    return list(changed_deals(setup, store, [str(f) for f in files], result or RunResult()))


def test_new_files_are_read_and_seen_ones_carried(setup, project):
    a, b = project.deal("A"), project.deal("B")
    store = Manifest({str(b): _entry(setup, str(b), ["B"])})
    batches = _batches(setup, store, [a, b])
    assert [type(x) for x in batches] == [Changed, Unchanged]
    assert [d.deal["id"] for d, _ in batches[0].deals] == ["A"]
    assert [(e.path, e.deal_ids, e.ok) for e in batches[0].files] == [(str(a), ["A"], True)]
    assert [e.path for e in batches[1].files] == [str(b)]


def test_a_file_edited_since_is_read_again(setup, project):
    a = project.deal("A")
    entry = dataclasses.replace(_entry(setup, str(a), ["A"]), size=1)
    (batch,) = _batches(setup, Manifest({str(a): entry}), [a])
    assert isinstance(batch, Changed) and batch.deals[0][0].deal["id"] == "A"


def test_nothing_to_read_yields_nothing(setup):
    assert _batches(setup, Manifest(), []) == []


def test_unreadable_files_and_failing_deals_are_errors_not_batched(setup, project):
    project.deal("A")
    (project.deals / "bad.yaml").write_text("id: [\n")
    project.deal("A", name="dup.yaml")
    result = RunResult()
    files = sorted(project.deals.iterdir()) + [project.deals / "gone.yaml"]
    (batch,) = _batches(setup, Manifest(), files, result)
    assert [d.deal["id"] for d, _ in batch.deals] == ["A"]
    assert {e.path.rsplit("/", 1)[1]: e.ok for e in batch.files} == {"A.yaml": True, "bad.yaml": False, "dup.yaml": False}
    messages = [d.message for d in result.diagnostics if d.severity == "error"]
    assert any("cannot read" in m for m in messages) and any("duplicate deal id 'A'" in m for m in messages)
    assert len([s for s in result.deals if s.get("evaluated") is False]) == 3  # bad, dup, gone


def test_batches_hold_at_most_batch_size_deals(setup, project, monkeypatch):
    monkeypatch.setattr(changed, "BATCH_SIZE", 2)
    files = [project.deal(f"D{i}") for i in range(5)]
    store = Manifest()
    batches = _batches(setup, store, files)
    assert [len(b.deals) for b in batches] == [2, 2, 1]
    assert [len(paths) for paths in store.asked] == [2, 2, 1]  # the manifest asked 2 files at a time


def test_unchanged_files_come_in_batches_too(setup, project, monkeypatch):
    monkeypatch.setattr(changed, "BATCH_SIZE", 2)
    files = [project.deal(f"D{i}") for i in range(3)]
    store = Manifest({str(f): _entry(setup, str(f), [f"D{i}"]) for i, f in enumerate(files)})
    assert [(type(b).__name__, len(b.files)) for b in _batches(setup, store, files)] == [("Unchanged", 2), ("Unchanged", 1)]


def test_a_shard_takes_only_its_deals_and_a_part_its_files(setup, project):
    files = [project.deal(f"D{i}") for i in range(12)]
    taken = []
    for k in range(3):
        for batch in _batches(dataclasses.replace(setup, shard=(k, 3)), Manifest(), files):
            taken += [d.deal["id"] for d, _ in batch.deals]
    assert sorted(taken) == sorted(f"D{i}" for i in range(12))
    parts = [sum((len(b.deals) for b in _batches(dataclasses.replace(setup, part=(k, 2)), Manifest(), files)), 0)
             for k in range(2)]
    assert sum(parts) == 12


def test_file_digests_are_kept_when_asked(setup, project):
    a = project.deal("A")
    result = RunResult()
    _batches(dataclasses.replace(setup, file_digests=True), Manifest(), [a], result)
    assert list(result.file_digests) == [str(a)] and len(result.file_digests[str(a)]) == 64


class Carrying:
    def __init__(self, rows: list):
        self.rows, self.carried, self.marked = rows, [], []

    def carry_forward(self, run_id: int, ids: list[str]) -> list:
        self.carried.append((run_id, ids))
        return [r for r in self.rows if r.deal_id in ids]

    def mark_seen(self, run_id: int, paths: list[str]) -> None:
        self.marked.append((run_id, paths))

    def deals(self, ids: list[str]) -> dict:
        return {i: SimpleNamespace(summary={"id": i}) for i in ids}


def test_carry_unchanged_counts_and_totals_without_reading(setup):
    rows = [SimpleNamespace(deal_id="A", stage="prospect", outcome="open", amount=100.0, probability=0.5),
            SimpleNamespace(deal_id="B", stage="closed", outcome="won", amount=50.0, probability=1.0)]
    store = Carrying(rows)
    result = RunResult()
    carry_unchanged(setup, store, 7, [FileEntry("a.yaml", 1, 1, ["A", "B"], "d")], result)  # type: ignore[arg-type]
    assert store.carried == [(7, ["A", "B"])] and store.marked == [(7, ["a.yaml"])]
    assert result.counts["deals"] == result.counts["unchanged"] == 2
    assert result.seen == {"A": "a.yaml", "B": "a.yaml"} and [d["id"] for d in result.deals] == ["A", "B"]
    assert result.by_stage["prospect"]["weighted"] == 50.0
