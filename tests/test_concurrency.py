"""Four `flowctl run` processes started at once on the same deals and the same store
(SQLite, and PostgreSQL): every transition, action result and notification is recorded
and delivered exactly once, and none of them fails on a lock."""
from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pg_server import fresh_database, postgres_url
from servers import webhook_server

N_DEALS = 300
WORKFLOW = """\
flowctl: 1
name: concurrent
stages:
  - id: prospect
    jobs:
      - {id: verify, due: 3d}
      - {id: brief, uses: render, with: {template: proposal.md.j2}, required: false}
  - id: qualified
    jobs: [{id: agenda}]
  - id: closed
    terminal: true
channels:
  hook: {use: webhook, url: "URL", timeout: 5}
notifications:
  - {on: [stage_entered, job_overdue], channel: hook}
"""


def deals(folder: Path) -> None:
    folder.mkdir()
    for i in range(N_DEALS):
        done = "jobs: {verify: 2026-01-02}\n" if i % 2 else ""
        (folder / f"C{i:04d}.yaml").write_text(f"id: C{i:04d}\nowner: rep{i % 7}@example.com\namount: {1000 + i}\n"
                                               f"created: 2026-01-01\n{done}")


def stores(tmp_path: Path):
    yield "sqlite", f"sqlite:///{tmp_path / 'shared.db'}"
    url = postgres_url()
    if url is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is needed in CI")
        pytest.skip("no PostgreSQL here")
    with fresh_database(url) as db:
        yield "postgresql", db


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_four_runs_at_once_record_and_send_everything_exactly_once(tmp_path, kind):
    deals(tmp_path / "deals")
    gen = stores(tmp_path)
    name, url = next(gen)
    if kind == "postgresql":
        name, url = next(gen)
    with webhook_server() as hook:
        (tmp_path / "workflow.yaml").write_text(WORKFLOW.replace("URL", hook.url))
        cmd = [sys.executable, "-m", "flowctl", "run", str(tmp_path / "deals"), "-w", str(tmp_path / "workflow.yaml"),
               "--now", "2026-01-10", "--store", url, "--format", "json"]
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        outputs = [p.communicate(timeout=600) for p in procs]
        for p, (out, err) in zip(procs, outputs):
            assert p.returncode == 0, err[-3000:]
            assert "locked" not in err
        keys = collections.Counter(r.headers["x-flowctl-key"] for r in hook.requests)
    # every deal entered a stage once and half of them are overdue: 300 + 150 messages
    assert len(keys) == N_DEALS + N_DEALS // 2
    assert max(keys.values()) == 1, "a notification was delivered twice"
    events = [e for out, _ in outputs for e in json.loads(out)["events"]]
    per_key = collections.Counter(e["key"] for e in events)
    assert len(per_key) == N_DEALS + N_DEALS // 2 and max(per_key.values()) == 1  # each raised by one run only
    from flowctl.plugin_manager import Plugins
    store = Plugins(load_entry_points=False).open_store(url)
    try:
        transitions = collections.Counter(t.deal_id for t in store.transitions())
        assert len(transitions) == N_DEALS and max(transitions.values()) == 1
        actions = collections.Counter((a.deal_id, a.job_id) for a in store.action_results())
        assert len(actions) == N_DEALS // 2 and max(actions.values()) == 1  # brief rendered once per prospect
        assert {i.status for i in store.outbox(("queued", "failed", "sending", "sent"))} == {"sent"}
    finally:
        store.close()
        gen.close()
