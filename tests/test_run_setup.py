"""engine/run_setup.py: what one run set up, the share of deals a process takes, and when a
file counts as unchanged."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import zlib

import pytest

from flowctl.effects import Made
from flowctl.plugin_manager import Plugins
from flowctl.run_setup import RunSetup, share
from flowctl.store import FileEntry
from flowctl.workflow import load_workflow

NOW = dt.date(2026, 3, 1)


@pytest.mark.parametrize("key", ["", "D1", "deals/a.yaml", "é/ü", "x" * 1000])
@pytest.mark.parametrize("n", [1, 2, 7])
def test_share_is_a_stable_part(key, n):
    assert share(key, n) == zlib.crc32(key.encode("utf-8")) % n and 0 <= share(key, n) < n


def test_shares_spread_the_keys():
    counts = [0] * 4
    for i in range(400):
        counts[share(f"D{i}", 4)] += 1
    assert all(c > 50 for c in counts)


@pytest.fixture
def setup(project) -> RunSetup:
    wf = load_workflow(project.workflow)[0]
    return RunSetup.make(wf, str(project.workflow), Plugins(), NOW)


def test_make(setup, project):
    assert isinstance(setup.effects, Made) and setup.now == NOW and setup.cw.workflow is setup.wf
    assert setup.out_dir == project.root.resolve() / ".flowctl" / "artifacts"
    assert setup.watch is None  # no metric with a target
    assert (setup.shard, setup.part, setup.retry_dead, setup.file_digests) == (None, None, False, False)


def test_without_shard_or_part_everything_is_mine(setup):
    assert all(setup.mine(f"D{i}") and setup.my_file(f"deals/D{i}.yaml") for i in range(20))


@pytest.mark.parametrize("n", [2, 3])
def test_shards_and_parts_split_without_overlap(setup, n):
    ids = [f"D{i}" for i in range(60)]
    takers = [[i for i in ids if dataclasses.replace(setup, shard=(k, n)).mine(i)] for k in range(n)]
    files = [[i for i in ids if dataclasses.replace(setup, part=(k, n)).my_file(i)] for k in range(n)]
    for split in (takers, files):
        assert sorted(sum(split, [])) == sorted(ids)


def _stat(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("id: D1\n")
    return os.stat(path)


@pytest.mark.parametrize("change,unchanged", [
    ({}, True),
    ({"ok": False}, False),  # had errors: read again
    ({"size": -1}, False), ({"mtime_ns": -1}, False), ({"workflow_digest": "other"}, False),
    ({"next_deadline": NOW}, False),  # the deadline is today: look again
    ({"next_deadline": NOW - dt.timedelta(days=1)}, False),
    ({"next_deadline": NOW + dt.timedelta(days=1)}, True),
])
def test_unchanged(setup, tmp_path, change, unchanged):
    st = _stat(tmp_path)
    entry = FileEntry(str(tmp_path / "d.yaml"), st.st_size, st.st_mtime_ns, ["D1"], setup.wf.digest)
    entry = dataclasses.replace(entry, **{k: (getattr(entry, k) + 1 if v == -1 else v) for k, v in change.items()})
    assert setup.unchanged(entry, st) is unchanged


def test_a_file_never_seen_is_changed(setup, tmp_path):
    assert setup.unchanged(None, _stat(tmp_path)) is False
