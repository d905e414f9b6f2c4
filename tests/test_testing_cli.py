"""engine/testing_cli.py: the one way tests run the CLI in process: from a folder (always
restored), with an environment, input, standard error apart, a hang guard, and an
exception that escaped the command either kept (run_cli) or raised (invoke_cli)."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from flowctl import testing_cli
from flowctl.testing_cli import Hung, invoke_cli, raise_escaped, run_cli


def test_the_command_runs_from_the_given_folder_and_the_folder_is_restored(tmp_path: Path) -> None:
    before = os.getcwd()
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "workflow.yaml").write_text("flowctl: 1\n")
    result = run_cli("runs", cwd=tmp_path / "project")  # finds workflow.yaml in the folder
    assert (result.exit_code, result.stdout) == (0, "no runs recorded yet\n"), result.output
    assert os.getcwd() == before
    assert run_cli("runs", cwd=tmp_path).exit_code == 2  # none there
    assert os.getcwd() == before


def test_the_folder_is_restored_when_the_command_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = os.getcwd()
    monkeypatch.setattr("flowctl.cli.runs.resolve_workflow_path", lambda path: (_ for _ in ()).throw(KeyError("x")))
    with pytest.raises(KeyError):
        invoke_cli("runs", cwd=tmp_path)
    assert os.getcwd() == before


def test_standard_error_is_kept_apart(tmp_path: Path) -> None:
    result = run_cli("runs", "--store", f"sqlite:///{tmp_path / 'missing.db'}", "--last", "0")
    assert result.exit_code == 2 and result.stdout == "" and "--last" in result.stderr
    assert run_cli("runs", "--store", f"sqlite:///{tmp_path / 'missing.db'}", cwd=tmp_path).stdout == (
        "no runs recorded yet\n")


def test_an_environment_value_of_none_unsets_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWCTL_DISABLE_PLUGINS", "smtp")
    listed = run_cli("plugins", env={"FLOWCTL_DISABLE_PLUGINS": None}).stdout
    assert "smtp " in listed
    assert "smtp " not in run_cli("plugins").stdout


@pytest.mark.parametrize("exc", [KeyError("boom"), RuntimeError("boom")])
def test_run_cli_keeps_an_escaped_exception_and_raise_escaped_raises_it(monkeypatch: pytest.MonkeyPatch,
                                                                       exc: Exception) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr("flowctl.cli.plugins_cmd.Context.plugins", property(fail))
    result = run_cli("plugins")
    assert result.exception is exc
    with pytest.raises(type(exc)):
        raise_escaped(result)
    with pytest.raises(type(exc)):
        invoke_cli("plugins")


def test_an_exit_is_no_escaped_exception() -> None:
    result = run_cli("runs", "--last", "0")
    assert isinstance(result.exception, SystemExit) and raise_escaped(result) is result


def test_the_hang_guard_stops_a_command_that_hangs() -> None:
    with pytest.raises(Hung, match="still running after 0s"):
        with testing_cli._hang_guard(0.05):
            time.sleep(30)  # interrupted by the alarm at once
    with testing_cli._hang_guard(5):
        pass  # and a guard that did not fire is disarmed
    time.sleep(0.01)


def test_a_hang_is_no_exception_flowctl_could_turn_into_a_diagnostic() -> None:
    assert not issubclass(Hung, Exception) and issubclass(Hung, BaseException)


def test_off_the_main_thread_the_command_runs_unguarded() -> None:
    outcome: list[object] = []

    def work() -> None:
        with testing_cli._hang_guard(0.01):
            time.sleep(0.05)
            outcome.append("finished")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    assert outcome == ["finished"]
