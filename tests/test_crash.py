"""Crash safety: `flowctl run` killed with SIGKILL at random moments, 20 times, on a few
thousand deals. Every time the store opens cleanly and no deal file changed; a final run
reaches exactly the state an uninterrupted run reaches."""
from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from synthetic import WORKFLOW, write_deals  # noqa: E402

N_DEALS = 3000
KILLS = 20


def run(root: Path, store: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flowctl", "run", str(root / "deals"), "-w", str(root / "workflow.yaml"),
                             "--now", "2026-11-23", "--store", f"sqlite:///{store}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*.yaml")):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def state(store: Path) -> dict:
    """What a run leaves behind, without what differs by design (run ids, journal, snapshots)."""
    con = sqlite3.connect(store)
    try:
        assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
        return {
            "deals": sorted(con.execute("select deal_id, stage, outcome, entered_at, first_seen, event_keys from deals")),
            "events": sorted(r[0] for r in con.execute("select key from events")),
            "transitions": sorted(con.execute("select deal_id, from_stage, to_stage, at from transitions")),
            "outbox": sorted(r[0] for r in con.execute("select key from outbox")),
            "files": sorted(con.execute("select path, size, ok from files")),
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def deals_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crash")
    (root / "workflow.yaml").write_text(WORKFLOW)
    write_deals(root / "deals", N_DEALS)
    return root


def test_sigkill_at_random_moments_loses_nothing(deals_root, tmp_path):
    before = digest(deals_root / "deals")
    reference = tmp_path / "reference.db"
    started = time.perf_counter()
    proc = run(deals_root, reference)
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()[-2000:]
    duration = time.perf_counter() - started
    expected = state(reference)
    assert len(expected["deals"]) == N_DEALS

    crashed = tmp_path / "crashed.db"
    rng = random.Random(20261123)
    killed_mid_run = 0
    files = sorted((deals_root / "deals").rglob("*.yaml"))
    for attempt in range(KILLS):
        for path in files:  # same bytes, new mtime: every run has all the work to do again
            os.utime(path, ns=(time.time_ns(), time.time_ns() + attempt))
        proc = run(deals_root, crashed)
        time.sleep(rng.uniform(0.05, duration))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        proc.wait(timeout=600)
        proc.stderr.close()
        assert digest(deals_root / "deals") == before  # no deal file changed
        if crashed.exists():
            con = sqlite3.connect(crashed)  # the store opens cleanly after every kill
            assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
            con.close()
    assert killed_mid_run >= KILLS * 3 // 4, "the runs finished before they could be killed"
    proc = run(deals_root, crashed)
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()[-2000:]
    proc.stderr.close()
    assert state(crashed) == expected
    assert digest(deals_root / "deals") == before
