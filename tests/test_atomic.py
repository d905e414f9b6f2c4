"""Writes are whole or absent; concurrent edits of one deal file both land (artifact names:
tests/test_filenames.py)."""
from __future__ import annotations

import multiprocessing
import os
import time
from datetime import date
from pathlib import Path

import pytest

from engine import atomic
from engine.atomic import STALE_SECONDS, remove_stale_temps, write_atomic
from engine.dealedit import DealEditError, record_job_done


def _done(args: tuple[str, str, object]) -> str:
    path, job, barrier = args
    barrier.wait()  # type: ignore[attr-defined]
    try:
        record_job_done(Path(path), "D1", job, at=date(2026, 1, 5))
        return "recorded"
    except DealEditError as exc:
        return f"refused: {exc}"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_two_edits_at_once_both_land_or_one_says_so(tmp_path, suffix):
    ctx = multiprocessing.get_context("fork")
    with ctx.Manager() as manager, ctx.Pool(2) as pool:
        for i in range(25):
            path = tmp_path / f"d{i}{suffix}"
            path.write_text('{"id": "D1", "jobs": {}}\n' if suffix == ".json" else "id: D1\njobs: {}\n")
            barrier = manager.Barrier(2)
            outcomes = pool.map(_done, [(str(path), "a", barrier), (str(path), "b", barrier)])
            text = path.read_text()
            for job, outcome in zip("ab", outcomes):
                assert (f'"{job}"' in text or f"{job}: " in text) == (outcome == "recorded"), (outcomes, text)
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "r.html"
    with pytest.raises(OSError):
        write_atomic(target, "x", before_rename=lambda: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    assert list(tmp_path.iterdir()) == []
    for bad in ("/proc/flowctl-report.html", str(tmp_path / "missing" / "r.html")):
        with pytest.raises(OSError):
            write_atomic(bad, "x")
    assert list(tmp_path.iterdir()) == []


def test_temporary_files_a_killed_writer_left_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "D1.yaml"
    old = tmp_path / ".D1.yaml.abc123.tmp"
    fresh = tmp_path / ".D1.yaml.def456.tmp"  # another writer may be using it right now
    old.write_text("half")
    fresh.write_text("half")
    os.utime(old, (time.time() - STALE_SECONDS - 5,) * 2)
    write_atomic(target, "id: D1\n")
    assert not old.exists() and fresh.exists() and target.read_text() == "id: D1\n"
    assert remove_stale_temps(str(tmp_path), "D1.yaml", now=time.time() + STALE_SECONDS + 5) == [str(fresh)]


def test_stale_temporary_files_of_several_names_are_removed_in_one_pass(tmp_path):
    names = ["a.yaml", "b.c.yaml", ".hidden.yaml"]
    temps = [tmp_path / f".{n}.x1_y2z3.tmp" for n in names]
    kept = [tmp_path / ".other.yaml.x1_y2z3.tmp", tmp_path / ".a.yaml.tmp", tmp_path / "a.yaml.x1.tmp"]
    for path in temps + kept:
        path.write_text("half")
        os.utime(path, (1, 1))
    assert sorted(remove_stale_temps(str(tmp_path), names)) == sorted(map(str, temps))
    assert all(p.exists() for p in kept)


def test_a_batch_write_neither_scans_nor_syncs_the_folder(tmp_path, monkeypatch):
    old = tmp_path / ".D1.yaml.abc123.tmp"
    old.write_text("half")
    os.utime(old, (1, 1))
    synced: list[str] = []
    monkeypatch.setattr(atomic, "sync_folder", synced.append)
    write_atomic(tmp_path / "D1.yaml", "id: D1\n", batch=True)  # the caller cleans and syncs once for all
    assert old.exists() and (tmp_path / "D1.yaml").read_text() == "id: D1\n" and synced == []
    write_atomic(tmp_path / "D1.yaml", "id: D1\n")
    assert not old.exists() and synced == [str(tmp_path)]


def test_new_files_get_the_usual_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("report", ["{tmp}/missing/r.html", "{tmp}/file/r.html", "/proc/r.html", "{tmp}"])
def test_report_output_path_failures_leave_no_partial_file(cli, project, tmp_path, report):
    (tmp_path / "file").write_text("not a folder")
    project.deal("D1")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    out = report.replace("{tmp}", str(tmp_path))
    result = cli("report", str(project.deals), "-w", str(project.workflow), "--now", "2026-01-05", "-o", out)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert any(w in result.output for w in ("cannot write", "folder", "directory")), result.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
