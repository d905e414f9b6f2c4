"""engine/liveness.py: whether the process that claimed a run or a message still lives."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from flowctl.liveness import claimer_alive, claimer_dead, process_tag


def test_process_tag_names_this_host_and_pid():
    assert process_tag() == f"{socket.gethostname()}:{os.getpid()}"


def test_this_process_is_alive():
    assert claimer_alive(process_tag()) is True
    assert claimer_dead(process_tag()) is False


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: its pid names no process (until reused, which takes a long while)
    return child.pid


def test_a_finished_process_is_dead():
    tag = f"{socket.gethostname()}:{_dead_pid()}"
    assert claimer_alive(tag) is False
    assert claimer_dead(tag) is True


@pytest.mark.parametrize("claimer", [
    None, "", ":", "no-colon", f"{socket.gethostname()}:", f"{socket.gethostname()}:abc",
    f"{socket.gethostname()}:-1", f"{socket.gethostname()}:1.5", "another-host.invalid:1",
    f"{socket.gethostname()}x:1",
])
def test_what_cannot_be_told_is_none_and_not_dead(claimer):
    assert claimer_alive(claimer) is None
    assert claimer_dead(claimer) is False


def test_a_host_name_with_colons_splits_at_the_last_one(monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "fe80::1")
    assert claimer_alive(f"fe80::1:{os.getpid()}") is True


def test_another_users_process_counts_as_alive(monkeypatch):
    def refuse(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "kill", refuse)
    assert claimer_alive(f"{socket.gethostname()}:1") is True
