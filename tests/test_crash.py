"""Crash safety: `flowctl run` killed with SIGKILL at random moments, 20 times, on 1,500
deals (three transactions of BATCH_SIZE, so kills land before, inside and between them).
Every time the store opens cleanly and no deal file changed; a final run reaches exactly
the state an uninterrupted run reaches."""
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

from conftest import Project
from flowctl.run_setup import BATCH_SIZE
from store_state import store_state

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from synthetic import WORKFLOW, write_deals  # noqa: E402

N_DEALS = 3 * BATCH_SIZE  # more batches make every kill cost more, not a new kind of moment
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
    expected = store_state(reference)
    assert len(expected["deals"]) == N_DEALS

    crashed = tmp_path / "crashed.db"
    rng = random.Random(20261123)
    killed_mid_run = attempts = 0
    # On a loaded machine a run may take less time than the reference did: a run that ended
    # before its kill is not counted, and the next kill comes sooner.
    latest_kill = duration
    files = sorted((deals_root / "deals").rglob("*.yaml"))
    while killed_mid_run < KILLS:
        attempts += 1
        assert attempts <= KILLS * 5, "the runs kept finishing before they could be killed"
        for path in files:  # same bytes, new mtime: every run has all the work to do again
            os.utime(path, ns=(time.time_ns(), time.time_ns() + attempts))
        started = time.perf_counter()
        proc = run(deals_root, crashed)
        time.sleep(rng.uniform(0.05, latest_kill))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        else:
            latest_kill = max(0.1, 0.8 * min(latest_kill, time.perf_counter() - started))
        proc.wait(timeout=600)
        proc.stderr.close()
        assert digest(deals_root / "deals") == before  # no deal file changed
        if crashed.exists():
            con = sqlite3.connect(crashed)  # the store opens cleanly after every kill
            assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
            con.close()
    proc = run(deals_root, crashed)
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()[-2000:]
    proc.stderr.close()
    assert store_state(crashed) == expected
    assert digest(deals_root / "deals") == before


ACTION_DEALS = 300
ACTION_KILLS = 10
ACTION_WORKFLOW = """\
flowctl: 1
name: crash-actions
stages:
  - id: prospect
    jobs:
      - {id: auto, uses: count}
  - id: qualified
    jobs: [{id: agenda}]
  - id: closed
    terminal: true
channels:
  hook: {use: webhook, url: "URL", timeout: 10}
notifications:
  - {on: stage_entered, channel: hook}
"""


def test_sigkill_repeats_at_most_the_action_in_flight(tmp_path):
    """A real `flowctl run` with a counting action, SIGKILLed at random moments 10 times:
    the actions repeated are at most the kills, none is lost, and a message the store
    recorded as sent is never sent again (at most the one in flight at a kill repeats)."""
    from servers import webhook_server
    root = tmp_path
    project = Project(root, ACTION_WORKFLOW)
    for i in range(ACTION_DEALS):
        project.deal(f"A{i:04d}")
    log = root / "calls.log"
    env = {**os.environ, "COUNT_LOG": str(log), "COUNT_DIE_AT": "", "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    store = root / "state.db"
    rng = random.Random(20261202)
    with webhook_server(keep_alive=True) as hook:
        project.workflow.write_text(ACTION_WORKFLOW.replace("URL", hook.url))
        cmd = [sys.executable, "-m", "flowctl", "--plugin", "fixture_plugins.counting_action", "run",
               str(root / "deals"), "-w", str(root / "workflow.yaml"), "--now", "2026-01-02", "--store", f"sqlite:///{store}"]
        # How long a whole run takes here, on a copy, to spread the kills over it.
        reference_env = {**env, "COUNT_LOG": str(root / "reference.log")}
        started = time.perf_counter()
        subprocess.run([*cmd[:-1], f"sqlite:///{root / 'reference.db'}"], env=reference_env, check=True,
                       capture_output=True, timeout=600)
        duration = time.perf_counter() - started
        hook.requests.clear()
        killed = 0
        for _ in range(ACTION_KILLS):
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.2, duration))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.wait(timeout=600)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        delivered = [r.headers["x-flowctl-key"] for r in hook.requests]
    calls = [line.split()[0] for line in log.read_text().splitlines()]
    assert set(calls) == {f"A{i:04d}" for i in range(ACTION_DEALS)}  # no action lost
    assert len(calls) - ACTION_DEALS <= killed  # repeated: at most one per kill
    con = sqlite3.connect(store)
    try:
        statuses = dict(con.execute("SELECT key, status FROM outbox"))
    finally:
        con.close()
    assert set(delivered) == set(statuses) and set(statuses.values()) == {"sent"}  # every message delivered
    assert len(delivered) - len(set(delivered)) <= killed  # a repeat only for the message in flight at a kill
    print(f"kills {killed}, run {duration:.2f}s, actions repeated {len(calls) - ACTION_DEALS}, "
          f"messages repeated {len(delivered) - len(set(delivered))} of {len(set(delivered))}")
    assert killed >= ACTION_KILLS // 2, "the runs finished before they could be killed"
