"""engine/cli/common.py: what every command shares, in process: where the workflow, deals and
store come from when not given, how errors end a command (exit code, message, no traceback),
JSON output, and the progress bar that stays off a pipe."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Callable

import click
import pytest
from click.testing import CliRunner

from flowctl.cli import common
from flowctl.diagnostics import Diagnostic, FlowctlError
from flowctl.plugin_manager import PluginFailure
from flowctl.store import StoreError


def ended(fn: Callable[[], Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `fn` run as a command body under handle_errors."""
    with pytest.raises(SystemExit) as exit_:
        common.handle_errors(fn)()
    out = capsys.readouterr()
    return exit_.value.code, out.out, out.err  # type: ignore[return-value]


def raising(exc: BaseException) -> Callable[[], None]:
    def body() -> None:
        raise exc
    return body


# --------------------------------------------------------------------------- handle_errors

def test_a_command_that_returns_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert ended(lambda: click.echo("done"), capsys) == (0, "done\n", "")


def test_bad_input_prints_its_diagnostics_sorted_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    error = FlowctlError([Diagnostic("b.yaml", "second", line=1), Diagnostic("a.yaml", "late", line=9),
                          Diagnostic("a.yaml", "early", line=2, column=5)])
    code, out, err = ended(raising(error), capsys)
    assert (code, out) == (2, "")
    assert err.splitlines() == ["a.yaml:2:5: error: early", "a.yaml:9:1: error: late", "b.yaml:1:1: error: second"]


def test_a_store_error_exits_2_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = ended(raising(StoreError("cannot connect to postgresql://bob:s3cret@db/x: refused")), capsys)
    assert code == 2 and "s3cret" not in err and err.startswith("error: store: cannot connect to postgresql://bob:")


@pytest.mark.parametrize("exit_code,code", [(0, 0), (1, 1), (2, 2), (None, 1), ("text", 1)])
def test_a_commands_own_exit_is_kept(capsys: pytest.CaptureFixture[str], exit_code: Any, code: int) -> None:
    assert ended(raising(SystemExit(exit_code)), capsys)[0] == code


def test_a_plugin_failure_that_stops_the_command_is_named_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    failure = PluginFailure("acme-store", "flowctl_open_store", RuntimeError("no disk"))
    code, _, err = ended(raising(failure), capsys)
    assert (code, err) == (1, "error: plugin acme-store failed in flowctl_open_store: RuntimeError: no disk\n")


def test_any_other_exception_escapes_as_a_bug(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(KeyError):  # a traceback: flowctl's own bug, not the user's input
        common.handle_errors(raising(KeyError("x")))()


# --------------------------------------------------------------------------- defaults

def test_the_workflow_is_the_one_given_else_workflow_yaml_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert common.resolve_workflow_path("elsewhere/wf.yaml") == "elsewhere/wf.yaml"  # not checked here
    with pytest.raises(click.UsageError, match=r"^no workflow: give -w WORKFLOW \(there is no workflow.yaml here\)$"):
        common.resolve_workflow_path(None)
    (tmp_path / "workflow.yaml").mkdir()  # a folder is no workflow file
    with pytest.raises(click.UsageError):
        common.resolve_workflow_path(None)
    (tmp_path / "workflow.yaml").rmdir()
    (tmp_path / "workflow.yaml").write_text("flowctl: 1\n")
    assert common.resolve_workflow_path(None) == "workflow.yaml"


def test_the_deals_are_the_deals_folder_beside_the_workflow(tmp_path: Path) -> None:
    workflow = tmp_path / "acme" / "workflow.yaml"
    with pytest.raises(click.UsageError, match=f"no deal files given, and no deals/ folder beside {workflow}$"):
        common.default_deals(str(workflow))
    (tmp_path / "acme" / "deals").mkdir(parents=True)
    assert common.default_deals(str(workflow)) == [str(tmp_path / "acme" / "deals")]


@pytest.mark.parametrize("now,day", [(dt.datetime(2026, 11, 2, 23, 59), dt.date(2026, 11, 2)),
                                     (dt.datetime(2024, 2, 29), dt.date(2024, 2, 29))])
def test_today_is_now_s_day(now: dt.datetime, day: dt.date) -> None:
    assert common.today(now) == day


def test_today_without_now_is_the_calendars() -> None:
    before = dt.date.today()
    assert before <= common.today(None) <= dt.date.today()


class NoStorePlugins:
    """Plugins whose store hooks answer nothing, as when every store plugin is disabled."""

    def default_store_url(self, folder: Path) -> None:
        return None

    def store_exists(self, url: str) -> bool:
        return True

    def open_store(self, url: str) -> None:
        return None


def no_store_context() -> common.Context:
    ctx = common.Context(())
    ctx._plugins = NoStorePlugins()  # type: ignore[assignment]
    return ctx


def test_without_a_store_plugin_the_store_must_be_given_and_taken() -> None:
    with pytest.raises(click.UsageError, match="no store plugin gives a default store: pass --store URL"):
        common.open_store(no_store_context(), None, "workflow.yaml")
    with pytest.raises(click.UsageError, match=r"no plugin handles the store URL 'mysql://bob:\*\*\*@db/x'"):
        common.open_store(no_store_context(), "mysql://bob:s3cret@db/x", "workflow.yaml")


def test_the_default_store_is_beside_the_workflow_and_looking_creates_none(tmp_path: Path) -> None:
    ctx = common.Context(())
    workflow = str(tmp_path / "workflow.yaml")
    assert common.default_store_url(ctx, workflow) == f"sqlite:///{tmp_path}/.flowctl/state.db"
    assert common.open_store(ctx, None, workflow, must_exist=True) is None
    assert list(tmp_path.iterdir()) == []
    common.open_store(ctx, None, workflow).close()
    store = common.open_store(ctx, None, workflow, must_exist=True)
    assert store is not None
    store.close()


def test_an_unreachable_history_store_is_a_warning_not_an_error(capsys: pytest.CaptureFixture[str],
                                                                tmp_path: Path) -> None:
    assert common.optional_store(common.Context(()), "sqlite://bad", str(tmp_path / "workflow.yaml")) is None
    err = capsys.readouterr().err
    assert err.startswith("warning: store sqlite://bad not reachable (bad SQLite store URL")
    assert err.rstrip().endswith("using the deals' own history only")


# --------------------------------------------------------------------------- output

def test_json_output_is_indented_utf8_with_dates_and_sets(capsys: pytest.CaptureFixture[str]) -> None:
    common.echo_json({"on": dt.date(2026, 11, 2), "at": dt.datetime(2026, 11, 2, 8), "tags": {"b", "a"}, "ü": None})
    out = capsys.readouterr().out
    assert json.loads(out) == {"on": "2026-11-02", "at": "2026-11-02T08:00:00", "tags": ["a", "b"], "ü": None}
    assert out.startswith('{\n  "on"') and "ü" in out


def test_json_output_refuses_what_it_cannot_show() -> None:
    with pytest.raises(TypeError, match="not JSON-able: object"):
        common.echo_json({"x": object()})


def test_echo_result_outside_a_command_is_json_as_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    common.echo_result({"ok": True, "n": 1})
    assert json.loads(capsys.readouterr().out) == {"ok": True, "n": 1}


@pytest.mark.parametrize("severities,ok", [([], True), (["warning"], True), (["warning", "error"], False)])
def test_diagnostics_json_is_ok_without_errors(severities: list[str], ok: bool) -> None:
    found = [Diagnostic("f.yaml", "m", severity=s) for s in severities]
    assert common.diagnostics_json(found) == {"ok": ok, "diagnostics": [d.to_json() for d in found]}


def test_the_format_option_offers_text_json_and_the_commands_own() -> None:
    @click.command()
    @common.formats_option("github")
    def show(fmt: str) -> None:
        click.echo(fmt)

    runner = CliRunner()
    assert [runner.invoke(show, args).output for args in ([], ["--format", "json"], ["--format", "github"])] == [
        "text\n", "json\n", "github\n"]
    assert runner.invoke(show, ["--format", "xml"]).exit_code == 2


@pytest.mark.parametrize("length", [None, 0, 199, 200, 10_000])
def test_no_progress_bar_on_a_pipe(length: int | None) -> None:
    items = list(range(5))
    with common.progress(items, length, "deals") as bar:  # pytest's stderr is no terminal
        assert list(bar) == items
    assert list(common.progress_over(items, "deals")) == items
