"""The one way to run the flowctl CLI in-process in tests: click's CliRunner, from a given
folder, under a hang guard, with standard output and standard error kept apart.

`flowctl.testing` exports these (its `flowctl_run` fixture calls them), and flowctl's own
test suite uses them too (tests/conftest.py's `cli` fixture is :func:`invoke_cli`).
"""
from __future__ import annotations

import contextlib
import inspect
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

if TYPE_CHECKING:
    from click.testing import Result

__all__ = ["HANG_GUARD", "Hung", "invoke_cli", "raise_escaped", "run_cli"]

HANG_GUARD = 120.0  # seconds: a command still running then is stopped, and the test fails


class Hung(BaseException):
    """Raised in the command when the hang guard fires; a BaseException, so that no
    `except Exception` in flowctl turns it into a diagnostic."""


@contextlib.contextmanager
def _hang_guard(seconds: float | None) -> Iterator[None]:
    # Signals reach the main thread only; elsewhere (or with None) the command runs unguarded.
    if seconds is None or threading.current_thread() is not threading.main_thread():
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


def run_cli(*args: Any, cwd: Path | str | None = None, env: Mapping[str, str | None] | None = None,
            input: str | None = None, hang_guard: float | None = HANG_GUARD) -> "Result":
    """`flowctl ARGS...` from `cwd`, whatever happens; the caller judges the Result (an
    exception that escaped the command is in `result.exception`). `env` values of None
    unset a variable; `hang_guard` seconds (None: none) stop a command that hangs."""
    from click.testing import CliRunner

    from .cli import main

    # click < 8.2 mixes stderr into the output unless told not to; 8.2 and later keep it apart.
    options: dict[str, Any] = {"mix_stderr": False} if "mix_stderr" in inspect.signature(CliRunner).parameters else {}
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        with _hang_guard(hang_guard):
            return CliRunner(**options).invoke(main, [str(a) for a in args], env=env, input=input,
                                               catch_exceptions=True)
    finally:
        os.chdir(old)


def raise_escaped(result: "Result") -> "Result":
    """Raise the exception that escaped the command (not its exit) as itself, so that
    `pytest.raises` can expect it; else return the result."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def invoke_cli(*args: Any, cwd: Path | str | None = None, env: Mapping[str, str | None] | None = None,
               input: str | None = None) -> "Result":
    """:func:`run_cli`, strict: an escaped exception propagates (:func:`raise_escaped`) and a
    traceback in the output fails the test."""
    result = raise_escaped(run_cli(*args, cwd=cwd, env=env, input=input))
    assert "Traceback" not in result.output, result.output
    return result
