"""The one way tests run the CLI in-process: click's CliRunner from a given folder, with a
hang guard. engine/testing.py's public fixtures (flowctl_run) use the same CliRunner."""
from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path
from typing import Any, Iterator, Mapping

from click.testing import CliRunner, Result

from flowctl.cli import main

HANG_GUARD = 120.0  # seconds: a command still running then is stopped, and the test fails


class Hung(BaseException):
    """Raised in the command when the hang guard fires; a BaseException, so that no
    `except Exception` in flowctl turns it into a diagnostic."""


@contextlib.contextmanager
def _hang_guard(seconds: float) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise Hung(f"still running after {seconds:.0f}s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run(*args: Any, cwd: Path | str | None = None, env: Mapping[str, str | None] | None = None,
        input: str | None = None, hang_guard: float = HANG_GUARD) -> Result:
    """`flowctl ARGS...` from `cwd`, whatever happens; the caller judges the Result (an
    exception that escaped the command is in `result.exception`)."""
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        with _hang_guard(hang_guard):
            return CliRunner().invoke(main, [str(a) for a in args], env=env, input=input, catch_exceptions=True)
    finally:
        os.chdir(old)


def invoke(*args: Any, cwd: Path | str | None = None, env: Mapping[str, str | None] | None = None,
           input: str | None = None) -> Result:
    """`flowctl ARGS...` run by click's CliRunner from `cwd` (the `cli` fixture of
    conftest.py is this function). A traceback in the output fails the test; an exception
    other than the command's exit propagates as itself (so `pytest.raises` can expect it)."""
    result = run(*args, cwd=cwd, env=env, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output, result.output
    return result
