"""Faults (issue #8): the mail relay or the webhook receiver down, slow or failing; the
store's disk full or read-only in the middle of a run; a run killed while it delivers.

In every case: no deal file changes, the store stays consistent (`pragma
integrity_check`), nothing queued is lost, the run reports the failure with the right
exit code, and the next run, the fault removed, reaches the state an unfaulted run
reaches, each message delivered exactly once (per key: receivers de-duplicate on it).

Two runs at once are tests/test_concurrency.py's; SIGKILL at random moments of the data
path is tests/test_crash.py's.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import Project
from store_state import store_state
from servers import closed_port, silent_server, smtp_server, webhook_server
from test_bad_inputs import real_process as flowctl  # faults are injected into a real process

HERE = Path(__file__).parent
NOW = "2026-01-20"  # deals created 2026-01-01: `verify` (due 7d) is late and every deal is stuck
SECRET = "fault-secret"
ENV = {"HOOK_SECRET": SECRET, "PYTHONPATH": str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", "")}

WORKFLOW = """\
flowctl: 1
name: faults
stages:
  - id: prospect
    probability: 0.1
    max_days: 10
    jobs:
      - {id: verify, title: Verify the prospect, owner: rep, due: 7d}
  - id: closed
    terminal: true
channels:
  email: {use: smtp, host: 127.0.0.1, port: SMTP_PORT, from: ops@example.com, timeout: 1}
  hook: {use: webhook, url: "HOOK_URL", secret_env: HOOK_SECRET, timeout: HOOK_TIMEOUT}
notifications:
  - {id: late, on: job_overdue, channel: email}
  - {id: feed, on: deal_stuck, channel: hook}
"""


def pointed(smtp_port: int, hook_url: str, hook_timeout: float = 1) -> str:
    """The faults workflow with its channels pointed at these servers."""
    return (WORKFLOW.replace("SMTP_PORT", str(smtp_port)).replace("HOOK_URL", hook_url)
            .replace("HOOK_TIMEOUT", str(hook_timeout)))


class FaultProject(Project):
    """conftest's Project on the faults workflow (channels at closed ports until `point`),
    with `deals` deals of three owners, run as a real process."""

    def __init__(self, root: Path, deals: int = 2):
        super().__init__(root, pointed(closed_port(), f"http://127.0.0.1:{closed_port()}"))
        self.db = root / "state.db"
        self.data(*({"id": f"D{i:04}", "name": f"Deal {i}", "owner": f"rep{i % 3}@example.com", "amount": 1000 + i,
                     "created": dt.date(2026, 1, 1)} for i in range(deals)))

    def point(self, smtp_port: int, hook_url: str, hook_timeout: float = 1) -> None:
        self.workflow.write_text(pointed(smtp_port, hook_url, hook_timeout))

    def run(self, *extra: str, store: str | None = None, env: dict | None = None, plugin: bool = False):
        args = (["--plugin", "fixture_plugins.faulty_store"] if plugin else []) + [
            "run", self.deals, "-w", self.workflow, "--now", NOW, "--format", "json",
            "--store", store or f"sqlite:///{self.db}", *extra]
        return flowctl(*args, cwd=self.root, env={**ENV, **(env or {})})

    def deal_digest(self) -> str:
        h = hashlib.sha256()
        for p in sorted(self.deals.rglob("*")):
            h.update(p.name.encode() + (p.read_bytes() if p.is_file() else b"/"))
        return h.hexdigest()


def outbox(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
        return con.execute("select key, status, attempts, last_error from outbox order by key").fetchall()
    finally:
        con.close()


def keys_of(server_requests: list, mails: list) -> list[str]:
    keys = [r.headers.get("x-flowctl-key") for r in server_requests]
    keys += [m.message["X-Flowctl-Key"] for m in mails]
    return keys


@contextlib.contextmanager
def smtp_answering(code: str) -> Iterator[Any]:
    """tests/servers.py's SMTP server, answering DATA with `code` (e.g. '451 4.3.0 try
    again later'): a relay that refuses every message."""
    import servers

    class Refusing(servers._SmtpHandler):
        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            return code

    real = servers._SmtpHandler
    servers._SmtpHandler = Refusing
    try:
        with smtp_server() as server:
            servers._SmtpHandler = real
            yield server
    finally:
        servers._SmtpHandler = real


@pytest.fixture
def reference(tmp_path_factory) -> dict:
    """The state an unfaulted run reaches, and what its receivers got."""
    root = tmp_path_factory.mktemp("reference")
    project = FaultProject(root)
    with smtp_server() as smtp, webhook_server() as hook:
        project.point(smtp.port, hook.url)
        result = project.run()
        assert result.returncode == 0, result.describe()
        keys = sorted(keys_of(hook.requests, smtp.mails))
    state = store_state(project.db)
    assert {row[3] for row in state["outbox"]} == {"sent"} and len(state["outbox"]) == 4
    return {"state": relative(state, root), "keys": keys}


def relative(state: dict, root: Path) -> dict:
    out = dict(state)
    out["files"] = [(os.path.relpath(p, root), *rest) for p, *rest in state["files"]]
    return out


# --------------------------------------------------------------------------- channels down, slow, failing


CHANNEL_FAULTS = ["smtp-down", "webhook-down", "both-down", "smtp-slow", "webhook-slow", "webhook-500", "webhook-503",
                  "smtp-550", "smtp-451", "smtp-554"]


@pytest.mark.parametrize("fault", CHANNEL_FAULTS)
def test_channel_fault_keeps_messages_and_the_next_run_catches_up(fault: str, tmp_path: Path, reference: dict) -> None:
    project = FaultProject(tmp_path / "p")
    before = project.deal_digest()
    with contextlib.ExitStack() as stack:
        smtp = stack.enter_context(smtp_server())
        hook = stack.enter_context(webhook_server())
        smtp_port, hook_url, failing = smtp.port, hook.url, 0
        if fault in ("smtp-down", "both-down"):
            smtp_port, failing = closed_port(), failing + 2
        if fault in ("webhook-down", "both-down"):
            hook_url, failing = f"http://127.0.0.1:{closed_port()}", failing + 2
        if fault == "smtp-slow":
            smtp_port, failing = stack.enter_context(silent_server()), 2
        if fault == "webhook-slow":
            hook_url, failing = f"http://127.0.0.1:{stack.enter_context(silent_server())}", 2
        if fault.startswith("webhook-5"):
            bad = stack.enter_context(webhook_server(status=int(fault[-3:])))
            hook_url, failing = bad.url, 2
        if fault.startswith("smtp-5") or fault == "smtp-451":
            bad_smtp = stack.enter_context(smtp_answering({"smtp-550": "550 5.1.1 no such user",
                                                           "smtp-451": "451 4.3.0 try again later",
                                                           "smtp-554": "554 5.7.1 rejected"}[fault]))
            smtp_port, failing = bad_smtp.port, 2
        project.point(smtp_port, hook_url)
        result = project.run()
        # The run succeeds: delivery failures are warnings, and the messages wait.
        assert result.returncode == 0, result.describe()
        assert "Traceback" not in result.output
        # a hang guard, not a speed check: a slow channel gives up at its timeout (10 s) and
        # the run goes on, far within 60 s even on a loaded machine
        assert result.seconds < 60, result.describe()
        report = json.loads(result.stdout)
        assert report["summary"]["delivery_failed"] == failing, result.describe()
        assert len([w for w in report["summary"]["warnings"] if "not delivered" in w]) == failing
        rows = outbox(project.db)
        assert len(rows) == 4, rows  # nothing lost
        assert sorted(r[1] for r in rows) == sorted(["failed"] * failing + ["sent"] * (4 - failing)), rows
        assert all(r[3] for r in rows if r[1] == "failed"), "a failed message without its reason"
        assert project.deal_digest() == before

        project.point(smtp.port, hook.url)  # the fault removed
        again = project.run()
        assert again.returncode == 0, again.describe()
        assert json.loads(again.stdout)["summary"]["sent"] == failing
        third = project.run()
        assert json.loads(third.stdout)["summary"]["sent"] == 0
        delivered = keys_of(hook.requests, smtp.mails)
    assert sorted(delivered) == reference["keys"], "each message exactly once"
    assert relative(store_state(project.db), project.root) == reference["state"]
    assert project.deal_digest() == before


# --------------------------------------------------------------------------- the store's disk full or read-only


def _servers(project: FaultProject, stack: contextlib.ExitStack) -> tuple[Any, Any]:
    smtp = stack.enter_context(smtp_server())
    hook = stack.enter_context(webhook_server())
    project.point(smtp.port, hook.url)
    return smtp, hook


@pytest.mark.parametrize("fault", ["disk-full:2", "disk-full:3", "disk-full:4", "disk-full:6", "disk-full:9"])
def test_store_disk_full_mid_run(fault: str, tmp_path: Path, reference: dict) -> None:
    """Writes fail from the Nth write transaction of a first run on a new store (1 creates
    it, 2 starts the run, 3 records the deals, 4 claims the outbox, 5-8 record each
    delivery, 9 closes the run): the run stops with exit 2 and a clear message; what was
    committed is consistent; the next run catches up."""
    project = FaultProject(tmp_path / "p")
    before = project.deal_digest()
    store = f"faulty+sqlite:///{project.db}"
    with contextlib.ExitStack() as stack:
        smtp, hook = _servers(project, stack)
        first = project.run(store=store, plugin=True, env={"FLOWCTL_FAULT": fault})
        _assert_store_failure(first, "database or disk is full", project)
        assert project.deal_digest() == before
        again = project.run(store=store, plugin=True)
        assert again.returncode == 0, again.describe()
        delivered = keys_of(hook.requests, smtp.mails)
    assert relative(store_state(project.db), project.root) == reference["state"]
    assert sorted(set(delivered)) == reference["keys"], "a message was lost"
    assert project.deal_digest() == before


@pytest.mark.parametrize("fault", ["read-only:1", "read-only:2", "read-only:4", "disk-full:1", "disk-full:2"])
def test_store_read_only_or_full_between_runs(fault: str, tmp_path: Path, reference: dict) -> None:
    """A store that worked becomes read-only (or its disk fills) before the next run, whose
    deal files changed on disk: that run fails cleanly, changes nothing, and the run after
    it (the store writable again) ends where an unfaulted run ends."""
    project = FaultProject(tmp_path / "p")
    before = project.deal_digest()
    store = f"faulty+sqlite:///{project.db}"
    with contextlib.ExitStack() as stack:
        smtp, hook = _servers(project, stack)
        assert project.run(store=store, plugin=True).returncode == 0
        snapshot = store_state(project.db)
        for f in project.deals.iterdir():  # same bytes, new mtime: every file is read again
            os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
        touched = project.deal_digest()
        failed = project.run(store=store, plugin=True, env={"FLOWCTL_FAULT": fault})
        _assert_store_failure(failed, "readonly database" if fault.startswith("read") else "database or disk is full",
                              project)
        assert project.deal_digest() == touched
        state = store_state(project.db)
        assert state["outbox"] == snapshot["outbox"] and state["events"] == snapshot["events"]
        again = project.run(store=store, plugin=True)
        assert again.returncode == 0, again.describe()
        delivered = keys_of(hook.requests, smtp.mails)
    assert relative(store_state(project.db), project.root) == reference["state"]
    assert sorted(delivered) == reference["keys"]
    assert project.deal_digest() == touched and touched == before


def _assert_store_failure(result: Any, reason: str, project: FaultProject) -> None:
    assert result.returncode == 2, result.describe()
    assert "Traceback" not in result.output, result.describe()
    assert reason in result.stderr, result.describe()
    assert "state.db" in result.stderr, "the message does not name the store"
    if project.db.exists():
        con = sqlite3.connect(project.db)
        try:
            assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
        finally:
            con.close()


def test_store_on_a_full_device(tmp_path: Path) -> None:
    project = FaultProject(tmp_path / "p")
    before = project.deal_digest()
    for url in ("sqlite:////dev/full", "sqlite:////dev/full/state.db"):
        result = project.run(store=url)
        assert result.returncode == 2, result.describe()
        assert "Traceback" not in result.output
        assert "/dev/full" in result.stderr, result.describe()
    assert project.deal_digest() == before


def test_store_is_a_folder_or_not_a_database(tmp_path: Path) -> None:
    project = FaultProject(tmp_path / "p")
    (tmp_path / "folder.db").mkdir()
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    for name in ("folder.db", "junk.db"):
        result = project.run(store=f"sqlite:///{tmp_path / name}")
        assert result.returncode == 2, result.describe()
        assert "Traceback" not in result.output and name in result.stderr, result.describe()
    assert (tmp_path / "junk.db").read_bytes() == b"this is not a database" * 100


def test_store_password_is_masked_in_messages(tmp_path: Path) -> None:
    project = FaultProject(tmp_path / "p")
    result = project.run(store=f"postgresql://flowctl:hunter2@127.0.0.1:{closed_port()}/sales")
    assert result.returncode == 2, result.describe()
    assert "hunter2" not in result.output, result.describe()
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- SIGKILL while delivering


def test_sigkill_while_delivering_to_a_slow_webhook_loses_nothing(tmp_path: Path, reference: dict) -> None:
    """Killed while it waits on a slow receiver: every message is still in the outbox, and
    the next run delivers each one that was not delivered, once."""
    project = FaultProject(tmp_path / "p", deals=6)
    before = project.deal_digest()
    with webhook_server(delay=2.0) as slow, smtp_server() as smtp:
        project.point(smtp.port, slow.url, hook_timeout=10)
        proc = subprocess.Popen([sys.executable, "-m", "flowctl", "run", str(project.deals), "-w", str(project.workflow),
                                 "--now", NOW, "--store", f"sqlite:///{project.db}"],
                                cwd=project.root, env={**os.environ, **ENV},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while len(slow.requests) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        received_before = [r.headers["x-flowctl-key"] for r in slow.requests]
    assert project.deal_digest() == before
    rows = outbox(project.db)
    assert len(rows) == 12, rows  # 6 e-mails and 6 webhook messages: none lost
    with webhook_server() as hook, smtp_server() as smtp2:
        project.point(smtp2.port, hook.url)
        result = project.run()
        assert result.returncode == 0, result.describe()
        rows = outbox(project.db)
        assert {r[1] for r in rows} == {"sent"}, f"messages left undelivered after the next run: {rows}"
        hook_keys = [r.headers["x-flowctl-key"] for r in hook.requests]
        again = project.run()
        assert json.loads(again.stdout)["summary"]["sent"] == 0
    all_hook_keys = {r[0] for r in rows if "|hook|" in r[0]}
    assert set(hook_keys) | set(received_before) == all_hook_keys  # each delivered ...
    assert len(hook_keys) == len(set(hook_keys))  # ... once by the next run
    assert project.deal_digest() == before
