"""Running the CLI in-process, as the tests of several commands do."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from flowctl.cli import main


def invoke(*args: Any, cwd: Path | str | None = None) -> Result:
    """`flowctl ARGS...` run by click's CliRunner from `cwd`. A traceback in the output,
    or an exception other than the command's exit, fails the test."""
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)
    finally:
        os.chdir(old)
    assert "Traceback" not in result.output, result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"flowctl {' '.join(map(str, args))} raised {result.exception!r}") from result.exception
    return result
