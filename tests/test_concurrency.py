"""Four `flowctl run` processes started at once on the same deals and the same store
(SQLite, and PostgreSQL): every transition, action result and notification is recorded
and delivered exactly once, and none of them fails on a lock."""
from __future__ import annotations

import collections
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Project
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


def shared_project(root: Path) -> Project:
    """N_DEALS deals of 7 owners; every other one has done its `verify` job."""
    project = Project(root, WORKFLOW)
    project.data(*({"id": f"C{i:04d}", "owner": f"rep{i % 7}@example.com", "amount": 1000 + i,
                    "created": dt.date(2026, 1, 1), **({"jobs": {"verify": dt.date(2026, 1, 2)}} if i % 2 else {})}
                   for i in range(N_DEALS)))
    return project


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
    shared = shared_project(tmp_path)
    gen = stores(tmp_path)
    name, url = next(gen)
    if kind == "postgresql":
        name, url = next(gen)
    with webhook_server() as hook:
        shared.workflow.write_text(WORKFLOW.replace("URL", hook.url))
        cmd = [sys.executable, "-m", "flowctl", "run", str(shared.deals), "-w", str(shared.workflow),
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
