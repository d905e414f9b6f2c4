"""The plugin manager's promise to users: a plugin that raises in a hook is named with
the hook, never with a traceback, and every command that met the failure exits 1 and,
with --format json, lists it in its `diagnostics` (SPEC section 3: exit 1 when plugins
had errors, all reported)."""
from __future__ import annotations

import json
import pickle

import pytest

from flowctl.plugin_manager import PluginFailure

PLUGIN = "fixture_plugins.raising_everywhere"
CSV = "Record ID,Deal Name,Deal Stage,Amount,Deal owner,Create Date,Close Date\n" \
      "H1,Fleet,Appointment,1000,bob@example.com,2026-01-01 09:00,2026-03-01\n"

# command -> its arguments ({w}: the project's workflow, {s}: its store, {deals}, {root})
# and whether it has --format json. Every command that calls hooks is here.
COMMANDS: dict[str, tuple[str, bool]] = {
    "validate": ("-w {w} {deals}", True),
    "run": ("{deals} -w {w} --store {s} --now 2026-01-02", True),
    "status": ("{deals} -w {w} --store {s} --now 2026-01-02", True),
    "explain": ("D1 {deals} -w {w} --store {s} --now 2026-01-02", True),
    "metrics": ("{deals} -w {w} --now 2026-01-02", True),
    "forecast": ("{deals} -w {w} --store {s} --now 2026-01-02", True),
    "backlog": ("{deals} -w {w} --now 2026-01-02", True),
    "report": ("{deals} -w {w} --store {s} --now 2026-01-02 -o {root}/report.html", False),
    "board": ("{deals} -w {w} --store {s} --now 2026-01-02 -o {root}/board.html", False),
    "propose": ("D1 {deals} -w {w} --store {s} -o {root}/proposal.md", False),
    "done": ("D1 meet -w {w} --deals {deals} --at 2026-01-02", False),
    "approve": ("D1 price-approved --role management --by ann@example.com -w {w} --deals {deals}", False),
    "impact": ("{deals} -w {w} --against {w} --now 2026-01-02", True),
    "import": ("{root}/export.csv --map {root}/map.yaml -o {root}/imported -w {w}", True),
    "schema": ("workflow -w {w}", False),
}


def _values(project) -> dict:
    return {"deals": project.deals, "root": project.root, "w": project.workflow,
            "s": f"sqlite:///{project.root / 'state.db'}"}


def _arguments(command: str, project, fmt: str | None) -> list[str]:
    return COMMANDS[command][0].format(**_values(project)).split() + (["--format", fmt] if fmt else [])


def _failures_named(text: str) -> set[str]:
    return {hook for hook in ("channel_types", "actions", "forecast_methods", "metric_kinds", "template_dirs",
                              "report_formats", "run_finished")
            if f"plugin {PLUGIN} failed in flowctl_{hook}: RuntimeError: boom in {hook}" in text}


@pytest.fixture
def failing_project(project):
    project.deal("D1")
    (project.root / "export.csv").write_text(CSV)
    (project.root / "map.yaml").write_text("extends: builtin:hubspot\nstages: {Appointment: prospect}\n")
    return project


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_plugin_failing_in_a_hook_exits_1_and_is_named_on_stderr(cli, failing_project, command):
    result = cli("--plugin", PLUGIN, command, *_arguments(command, failing_project, None))
    assert result.exit_code == 1, result.output
    assert _failures_named(result.stderr), result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", sorted(c for c, (_, has_json) in COMMANDS.items() if has_json))
def test_a_plugin_failing_in_a_hook_is_in_the_json_diagnostics(cli, failing_project, command):
    result = cli("--plugin", PLUGIN, command, *_arguments(command, failing_project, "json"))
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    diagnostics = [d for d in data["diagnostics"] if d["file"] == PLUGIN]
    assert diagnostics and all(d["severity"] == "error" for d in diagnostics)
    assert _failures_named("\n".join(d["message"] for d in diagnostics))
    if "ok" in data:
        assert data["ok"] is False


def test_without_the_failing_plugin_the_same_commands_succeed(cli, failing_project):
    # the test above is about the plugin: each command, as called there, works without it
    for command in sorted(COMMANDS):
        result = cli(command, *_arguments(command, failing_project, None))
        assert result.exit_code == 0, (command, result.output)


STORE_PLUGIN = "fixture_plugins.raising_store_hooks"


STORE_COMMANDS = {**{c: args for c, (args, _) in COMMANDS.items() if "--store" in args},
                  "runs": "-w {w} --store {s}"}  # its only hooks are the store's


@pytest.mark.parametrize("command", sorted(STORE_COMMANDS))
@pytest.mark.parametrize("store", ["given", "default"])
def test_a_store_plugin_failing_exits_1_and_is_named(cli, failing_project, command, store):
    # Whether the command needs the store (run) or does without one it cannot reach
    # (report, forecast): the plugin's bug is an error, not bad input (exit 2).
    cli("run", *_arguments("run", failing_project, None))  # a store there, for `runs` to read
    args = STORE_COMMANDS[command].format(**_values(failing_project)).split()
    if store == "default":
        at = args.index("--store")
        del args[at:at + 2]
    result = cli("--plugin", STORE_PLUGIN, command, *args)
    assert result.exit_code == 1, result.output
    assert f"plugin {STORE_PLUGIN} failed in flowctl_" in result.stderr and "RuntimeError: boom in " in result.stderr
    assert "Traceback" not in result.output


def test_a_failure_crosses_from_a_worker_process_intact():
    failure = PluginFailure("p", "flowctl_open_store", KeyError("boom"))
    again = pickle.loads(pickle.dumps(failure))
    assert (again.plugin, again.hook, str(again)) == ("p", "flowctl_open_store", str(failure))


def test_with_jobs_each_failure_is_reported_once(cli, failing_project):
    # Workers are forked after the registration hooks failed in the parent: they must not
    # report the parent's failures again, once each.
    for i in range(2, 9):
        failing_project.deal(f"D{i}")
    result = cli("--plugin", PLUGIN, "run", *_arguments("run", failing_project, "json"), "--jobs", "3")
    assert result.exit_code == 1, result.output
    messages = [d["message"] for d in json.loads(result.stdout)["diagnostics"] if d["file"] == PLUGIN]
    assert messages and len(messages) == len(set(messages)), messages
