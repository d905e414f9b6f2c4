"""Plugins: loading and listing, broken and misnamed plugins, strict mode, disabling,
local plugins, failures inside hooks, and the example third-party plugin
(examples/flowctl-chat) installed for real. The pytest fixtures flowctl ships for plugin
authors are tests/test_testing.py's; the schema command's, tests/test_cli_schema.py's.

Entry-point plugins are made without installing packages: a folder holding a module and
a `<name>-<version>.dist-info` (METADATA + entry_points.txt) is enough for
importlib.metadata, put on PYTHONPATH of a `flowctl` subprocess.
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typing import Iterator

import flowctl
from flowctl import hookspecs
from flowctl.plugin_manager import DEFAULT_PLUGINS

from conftest import Project
from servers import webhook_server

TESTS = Path(__file__).resolve().parent
EXAMPLE = TESTS.parent / "examples" / "flowctl-chat"

BUILTIN_HOOKS = {
    "sqlite_store": ["flowctl_default_store_url", "flowctl_open_store", "flowctl_store_exists"],
    "postgres_store": ["flowctl_open_store"],
    "console": ["flowctl_channel_types"],
    "smtp": ["flowctl_channel_types"],
    "webhook": ["flowctl_channel_types"],
    "render_action": ["flowctl_actions"],
    "notify_action": ["flowctl_actions"],
    "forecast_weighted": ["flowctl_forecast_methods"],
    "forecast_historical": ["flowctl_forecast_methods"],
    "forecast_montecarlo": ["flowctl_forecast_methods"],
    "forecast_runrate": ["flowctl_forecast_methods"],
    "metric_kinds": ["flowctl_metric_kinds"],
    "builtin_templates": ["flowctl_report_formats", "flowctl_template_dirs"],
}
ALL_HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("flowctl_"))

GOOD = """\
from flowctl import MetricKind, hookimpl


class Count:
    def __init__(self, config, workflow, now):
        self.n = 0

    def add(self, state):
        self.n += 1

    def result(self):
        return self.n, {}


@hookimpl
def flowctl_metric_kinds():
    return [MetricKind("deal_count_fx", Count, "number of deals")]
"""
BROKEN = 'raise RuntimeError("cannot import me: a dependency is missing")\n'
TYPO = """\
from flowctl.hookspecs import hookimpl


@hookimpl
def flowctl_chanel_types():
    return []
"""


# --------------------------------------------------------------------------- helpers

def flowctl_cli(*args: object, env: dict[str, str] | None = None, pythonpath: tuple[Path, ...] = (),
                cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m flowctl ARGS` in a subprocess: plugins are discovered as a user's would be."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("FLOWCTL_")}
    full.update(env or {})
    paths = [str(p) for p in pythonpath] + ([full["PYTHONPATH"]] if full.get("PYTHONPATH") else [])
    if paths:
        full["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.run([sys.executable, "-m", "flowctl", *[str(a) for a in args]], capture_output=True,
                          text=True, env=full, cwd=cwd, timeout=120)


def plugin_site(root: Path, plugins: dict[str, str], version: str = "1.2.3") -> Path:
    """A folder for PYTHONPATH where each NAME is an installed plugin: a module
    `flowctl_fx_NAME` with the given source and a distribution `flowctl-fx-NAME` whose
    entry point NAME (group flowctl) loads it."""
    site = root / "site"
    site.mkdir(exist_ok=True)
    for name, source in plugins.items():
        module = f"flowctl_fx_{name}"
        (site / f"{module}.py").write_text(source)
        info = site / f"flowctl_fx_{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: flowctl-fx-{name}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[flowctl]\n{name} = {module}\n")
    return site


def listed(stdout: str) -> dict[str, dict]:
    return {p["name"]: p for p in json.loads(stdout)["plugins"]}


def example_version() -> str:
    return tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]["version"]


def _chat_installed_from_example() -> bool:
    for dist in importlib.metadata.distributions(name="flowctl-chat"):
        origin = json.loads(dist.read_text("direct_url.json") or "{}")  # only an installed one has it
        if (origin.get("url", "").rstrip("/") == EXAMPLE.as_uri() and dist.version == example_version()
                and any(ep.group == "flowctl" and ep.name == "chat" for ep in dist.entry_points)):
            return True
    return False


def _can_build_without_isolation() -> bool:
    try:
        setuptools = tuple(int(x) for x in importlib.metadata.version("setuptools").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return setuptools >= (70, 1) or (setuptools >= (64, 0) and importlib.util.find_spec("wheel") is not None)


@pytest.fixture(scope="session")
def chat_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """examples/flowctl-chat, pip-installed for real (not editable) into a folder of its
    own, put on PYTHONPATH for this session: the machine's Python is left as it was, so
    no dangling entry point outlives the test run (and its clone)."""
    site = tmp_path_factory.mktemp("chat-site")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-deps", "--target", str(site), str(EXAMPLE)]
    if _can_build_without_isolation():
        command.insert(-1, "--no-build-isolation")  # fast, and offline
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(f"cannot install {EXAMPLE}:\n{done.stdout}\n{done.stderr}")
    for junk in ("build", "flowctl_chat.egg-info"):  # the build's by-products
        shutil.rmtree(EXAMPLE / junk, ignore_errors=True)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(site)] + ([old] if old else []))
    sys.path.append(str(site))
    importlib.invalidate_caches()
    assert _chat_installed_from_example()
    yield EXAMPLE
    sys.path.remove(str(site))
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


# --------------------------------------------------------------------------- listing

def test_plugins_lists_every_builtin_with_its_version_and_hooks(cli):
    result = cli("plugins", "--format", "json")
    assert result.exit_code == 0, result.output
    plugins = listed(result.stdout)
    assert {m.rsplit(".", 1)[-1] for m in DEFAULT_PLUGINS} == set(BUILTIN_HOOKS)
    for name, hooks in BUILTIN_HOOKS.items():
        assert plugins[name] == {"name": name, "version": flowctl.__version__, "builtin": True, "hooks": hooks}
    text = cli("plugins")
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    for name, hooks in BUILTIN_HOOKS.items():
        assert f"{name} {flowctl.__version__} (built-in): {', '.join(hooks)}" in lines


def test_an_installed_plugin_is_listed_with_its_distribution_version(tmp_path):
    site = plugin_site(tmp_path, {"good": GOOD}, version="2.5.0")
    done = flowctl_cli("plugins", "--format", "json", pythonpath=(site,))
    assert done.returncode == 0, done.stderr
    assert listed(done.stdout)["good"] == {"name": "good", "version": "2.5.0", "builtin": False,
                                           "hooks": ["flowctl_metric_kinds"]}
    assert "good 2.5.0 (installed): flowctl_metric_kinds" in flowctl_cli("plugins", pythonpath=(site,)).stdout


def test_a_plugin_implementing_every_hook_is_listed_with_all_of_them(cli):
    result = cli("--plugin", "fixture_plugins.every_hook", "plugins", "--format", "json")
    assert listed(result.stdout)["fixture_plugins.every_hook"] == {
        "name": "fixture_plugins.every_hook", "version": "local", "builtin": False, "hooks": ALL_HOOKS}


# --------------------------------------------------------------------------- broken plugins

def test_a_broken_plugin_is_named_with_a_warning_and_the_others_still_load(tmp_path, project):
    site = plugin_site(tmp_path, {"broken": BROKEN, "good": GOOD})
    done = flowctl_cli("plugins", "--format", "json", pythonpath=(site,))
    assert done.returncode == 0
    assert ("warning: plugin broken: failed to load: RuntimeError: cannot import me: a dependency is missing"
            in done.stderr)
    data = json.loads(done.stdout)
    assert data["problems"] == [{"name": "broken",
                                 "problem": "failed to load: RuntimeError: cannot import me: a dependency is missing"}]
    assert set(BUILTIN_HOOKS) | {"good"} <= set(listed(done.stdout))
    assert "broken" not in listed(done.stdout)
    # a run is not taken down either, and the good plugin's metric kind is there
    project.workflow.write_text(project.workflow.read_text() + "metrics:\n  - {id: n, kind: deal_count_fx}\n")
    project.deal("D1")
    run = flowctl_cli("run", *project.args("--now", "2026-01-02", "--format", "json"), pythonpath=(site,))
    assert run.returncode == 0, run.stderr
    assert "plugin broken: failed to load" in run.stderr
    assert "Traceback" not in run.stderr
    metrics = flowctl_cli("metrics", "--format", "json", "-w", project.workflow, "--now", "2026-01-02", pythonpath=(site,))
    assert {m["id"]: m.get("value") for m in json.loads(metrics.stdout)["metrics"]}["n"] == 1, metrics.stderr


def test_a_hook_name_with_a_typo_is_reported(cli):
    result = cli("--plugin", "fixture_plugins.typo_hook", "plugins", "--format", "json")
    assert result.exit_code == 0
    problem = ("plugin fixture_plugins.typo_hook: implements unknown hook(s) "
               "flowctl_chanel_types, flowctl_metric_kind")
    assert f"warning: {problem}" in result.stderr
    assert "fixture_plugins.typo_hook" not in listed(result.stdout)


def test_a_typo_in_an_installed_plugin_is_reported(tmp_path):
    site = plugin_site(tmp_path, {"typo": TYPO})
    done = flowctl_cli("plugins", pythonpath=(site,))
    assert done.returncode == 0
    assert "warning: plugin typo: implements unknown hook(s) flowctl_chanel_types" in done.stderr


def test_a_hook_with_wrong_arguments_is_reported(cli):
    result = cli("--plugin", "fixture_plugins.bad_arguments", "plugins", "--format", "json")
    assert result.exit_code == 0
    [problem] = json.loads(result.stdout)["problems"]
    assert problem["name"] == "fixture_plugins.bad_arguments"
    assert "workflow" in problem["problem"]  # the argument the hookspec does not have
    assert "fixture_plugins.bad_arguments" not in listed(result.stdout)


def test_strict_plugins_makes_a_broken_or_misnamed_plugin_an_error(tmp_path, project):
    site = plugin_site(tmp_path, {"broken": BROKEN, "typo": TYPO})
    project.deal("D1")
    for command in (("plugins",), ("run", *project.args("--now", "2026-01-02"))):
        done = flowctl_cli(*command, pythonpath=(site,), env={"FLOWCTL_STRICT_PLUGINS": "1"})
        assert done.returncode == 2, done.stderr
        assert "broken: error: failed to load: RuntimeError: cannot import me" in done.stderr
        assert "typo: error: implements unknown hook(s) flowctl_chanel_types" in done.stderr
        assert "Traceback" not in done.stderr
    assert not (project.root / "state.db").exists()  # the run did not start
    # without problems, strict mode changes nothing; 0 turns it off
    assert flowctl_cli("plugins", env={"FLOWCTL_STRICT_PLUGINS": "1"}).returncode == 0
    assert flowctl_cli("plugins", pythonpath=(site,), env={"FLOWCTL_STRICT_PLUGINS": "0"}).returncode == 0


def test_strict_plugins_in_process(cli, monkeypatch):
    monkeypatch.setenv("FLOWCTL_STRICT_PLUGINS", "1")
    result = cli("--plugin", "fixture_plugins.typo_hook", "plugins")
    assert result.exit_code == 2
    assert "fixture_plugins.typo_hook" in result.stderr and "flowctl_chanel_types" in result.stderr


def test_a_plain_attribute_named_flowctl_something_does_not_crash_loading(cli):
    # Core bug (engine/plugin_manager.py, Plugins._impls_of/_register): every attribute whose
    # name starts with `flowctl_` is taken for a hook function and `.__name__` is read from it,
    # so a module constant like `flowctl_min_version = "0.1"` raises AttributeError.
    result = cli("--plugin", "fixture_plugins.data_attribute", "plugins", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert ("fixture_plugins.data_attribute" in listed(result.stdout)
            or any(p["name"] == "fixture_plugins.data_attribute" for p in data["problems"]))


def test_a_hook_function_without_hookimpl_is_reported_and_the_rest_of_the_plugin_loads(cli):
    result = cli("--plugin", "fixture_plugins.unmarked_hook", "plugins", "--format", "json")
    assert result.exit_code == 0
    assert ("warning: plugin fixture_plugins.unmarked_hook: flowctl_actions not marked with @hookimpl: ignored"
            in result.stderr)
    assert listed(result.stdout)["fixture_plugins.unmarked_hook"]["hooks"] == ["flowctl_metric_kinds"]


def test_a_hook_wrapper_is_refused_by_name_and_actions_still_work(cli, project):
    result = cli("--plugin", "fixture_plugins.wrapper_hook", "plugins", "--format", "json")
    assert result.exit_code == 0
    assert ("plugin fixture_plugins.wrapper_hook: hook wrappers (wrapper=True, hookwrapper=True) are not "
            "supported: flowctl_actions") in result.stderr
    assert "fixture_plugins.wrapper_hook" not in listed(result.stdout)
    project.deal("D1")
    ran = cli("--plugin", "fixture_plugins.wrapper_hook", "run", project.deals, *project.args("--now", "2026-01-02"))
    assert ran.exit_code == 0, ran.output


def test_trace_plugins_writes_each_hook_call_to_stderr(tmp_path):
    done = flowctl_cli("schema", "workflow", env={"FLOWCTL_TRACE_PLUGINS": "1"})
    assert done.returncode == 0, done.stderr
    assert "flowctl_channel_types smtp [hook]" in done.stderr
    assert "flowctl_channel_types smtp -> [smtp] [hook]" in done.stderr
    assert "flowctl_actions render_action -> [render] [hook]" in done.stderr
    quiet = flowctl_cli("schema", "workflow")
    assert "[hook]" not in quiet.stderr


def test_a_store_plugin_owns_the_default_url_and_says_whether_its_store_exists(cli, project, tmp_path, monkeypatch):
    monkeypatch.setenv("ELSEWHERE_DB", str(tmp_path / "elsewhere.db"))
    project.deal("D1")
    looked = cli("--plugin", "fixture_plugins.elsewhere_store", "status", "-w", project.workflow, "--now", "2026-01-02")
    assert looked.exit_code == 0, looked.output
    assert not (tmp_path / "elsewhere.db").exists()  # a look creates no store
    ran = cli("--plugin", "fixture_plugins.elsewhere_store", "run", project.deals, "-w", project.workflow,
              "--now", "2026-01-02")
    assert ran.exit_code == 0, ran.output
    assert (tmp_path / "elsewhere.db").exists() and not (project.root / ".flowctl").exists()
    runs = cli("--plugin", "fixture_plugins.elsewhere_store", "runs", "-w", project.workflow, "--format", "json")
    assert runs.exit_code == 0, runs.output


# --------------------------------------------------------------------------- disabling, local plugins

SMTP_WORKFLOW = """\
channels:
  email: {use: smtp, host: 127.0.0.1, from: ops@example.com}
notifications:
  - {on: job_overdue, channel: email}
"""


def test_disable_plugins_blocks_a_builtin_and_a_workflow_using_it_is_invalid(cli, project, monkeypatch):
    project.workflow.write_text(project.workflow.read_text() + SMTP_WORKFLOW)
    project.deal("D1")
    monkeypatch.setenv("FLOWCTL_DISABLE_PLUGINS", "smtp, forecast_montecarlo")
    plugins = listed(cli("plugins", "--format", "json").stdout)
    assert "smtp" not in plugins and "forecast_montecarlo" not in plugins
    assert {"webhook", "console", "forecast_weighted"} <= set(plugins)
    schema = json.loads(cli("schema", "workflow").stdout)
    assert "smtp" not in schema["$defs"]["channel_configs"]
    result = cli("run", project.deals, *project.args("--now", "2026-01-02"))
    assert result.exit_code == 2
    assert "workflow.yaml:" in result.stderr
    assert "no plugin provides the channel type 'smtp'" in result.stderr
    assert "Traceback" not in result.output
    checked = cli("validate", project.workflow)
    assert checked.exit_code == 2 and "no plugin provides the channel type 'smtp'" in checked.output
    monkeypatch.delenv("FLOWCTL_DISABLE_PLUGINS")
    assert cli("run", project.deals, *project.args("--now", "2026-01-02")).exit_code == 0


def test_disable_plugins_blocks_an_installed_plugin_by_its_entry_point_name(tmp_path):
    site = plugin_site(tmp_path, {"broken": BROKEN, "good": GOOD})
    done = flowctl_cli("plugins", "--format", "json", pythonpath=(site,),
                       env={"FLOWCTL_DISABLE_PLUGINS": "broken,good"})
    assert done.returncode == 0 and "warning" not in done.stderr
    assert not {"broken", "good"} & set(listed(done.stdout))


FLAKY_JOB = "      - {id: auto, uses: flaky}\n"


def test_plugin_option_loads_a_local_plugin_for_one_command(cli, project, monkeypatch, tmp_path):
    project.workflow.write_text(project.workflow.read_text().replace(
        "      - {id: meet, required: false}\n", "      - {id: meet, required: false}\n" + FLAKY_JOB))
    project.deal("D1")
    monkeypatch.setenv("FLAKY_LOG", str(tmp_path / "calls.log"))
    with_it = cli("--plugin", "fixture_plugins.flaky_action", "plugins", "--format", "json")
    assert listed(with_it.stdout)["fixture_plugins.flaky_action"] == {
        "name": "fixture_plugins.flaky_action", "version": "local", "builtin": False, "hooks": ["flowctl_actions"]}
    assert "fixture_plugins.flaky_action" not in listed(cli("plugins", "--format", "json").stdout)
    ran = cli("--plugin", "fixture_plugins.flaky_action", "run", project.deals, *project.args("--now", "2026-01-02"))
    assert ran.exit_code == 0, ran.output
    assert (tmp_path / "calls.log").read_text() == "D1 auto\n"
    without = cli("run", project.deals, *project.args("--now", "2026-01-03"))
    assert without.exit_code == 2
    assert "no plugin provides the action 'flaky'" in without.stderr


def test_a_local_plugin_that_cannot_be_imported_is_named(cli):
    result = cli("--plugin", "fixture_plugins.no_such_module", "plugins")
    assert result.exit_code == 0
    assert "plugin fixture_plugins.no_such_module: failed to load: ModuleNotFoundError" in result.stderr


# --------------------------------------------------------------------------- failures inside hooks

RENDER_WORKFLOW_JOB = "      - {id: proposal, uses: render, with: {template: proposal.md.j2}}\n"


def test_a_plugin_raising_in_a_hook_is_named_and_nothing_else_is_affected(cli, project):
    project.workflow.write_text(project.workflow.read_text().replace(
        "      - {id: meet, required: false}\n", "      - {id: meet, required: false}\n" + RENDER_WORKFLOW_JOB)
        + "notifications:\n  - {on: stage_entered, channel: console}\n")
    project.deal("D1")
    result = cli("--plugin", "fixture_plugins.raising_hooks", "run", project.deals, *project.args("--now", "2026-01-02"))
    assert result.exit_code == 1
    assert "plugin fixture_plugins.raising_hooks failed in flowctl_actions: RuntimeError: boom in actions" in result.stderr
    assert ("plugin fixture_plugins.raising_hooks failed in flowctl_channel_types: ValueError: boom in channel types"
            in result.stderr)
    assert "Traceback" not in result.output
    # the other plugins work as if it were not there: the render action, the console channel, the store
    assert "[console] to bob@example.com: D1 entered prospect" in result.stderr
    assert "1 action(s) ok, 0 failed, 1 notification(s) queued, 1 sent" in result.stdout
    assert (project.root / ".flowctl" / "artifacts" / "D1-proposal.md").exists()
    with sqlite3.connect(project.root / "state.db") as con:
        assert con.execute("SELECT deal_id, stage FROM deals").fetchall() == [("D1", "prospect")]
        assert con.execute("SELECT status FROM outbox").fetchall() == [("sent",)]
        assert con.execute("SELECT job_id, ok FROM actions").fetchall() == [("proposal", 1)]
        assert con.execute("SELECT status FROM runs").fetchall() == [("failed",)]  # SPEC: ok, failed, crashed, running
    again = cli("run", project.deals, *project.args("--now", "2026-01-02", "--format", "json"))
    assert again.exit_code == 0  # without it, the same store carries on: nothing new to do
    assert json.loads(again.stdout)["events"] == []


def test_a_plugin_raising_in_a_hook_is_in_the_json_diagnostics(cli, project):
    project.deal("D1")
    result = cli("--plugin", "fixture_plugins.raising_hooks", "run", project.deals,
                 *project.args("--now", "2026-01-02", "--format", "json"))
    assert result.exit_code == 1
    reported = {(d["file"], d["message"]) for d in json.loads(result.stdout)["diagnostics"]}
    assert ("fixture_plugins.raising_hooks",
            "plugin fixture_plugins.raising_hooks failed in flowctl_actions: RuntimeError: boom in actions") in reported


def test_a_plugin_raising_in_run_finished_is_named_by_its_entry_point_name(tmp_path, project):
    site = plugin_site(tmp_path, {"finisher": (TESTS / "fixture_plugins" / "raising_plugin.py").read_text()})
    project.deal("D1")
    done = flowctl_cli("run", *project.args("--now", "2026-01-02"), pythonpath=(site,))
    assert done.returncode == 1
    assert "plugin finisher failed in flowctl_run_finished: RuntimeError: boom in run_finished" in done.stderr
    with sqlite3.connect(project.root / "state.db") as con:
        assert con.execute("SELECT deal_id FROM deals").fetchall() == [("D1",)]


def test_a_store_plugin_raising_is_named_without_a_traceback(tmp_path, project):
    # Core bug (engine/plugin_manager.py, Plugins.open_store): exceptions other than StoreError
    # from flowctl_open_store are not caught, so a buggy store plugin ends every command with
    # a Python traceback instead of "plugin NAME failed in flowctl_open_store: ...".
    project.deal("D1")
    done = flowctl_cli("--plugin", "fixture_plugins.raising_store", "run", *project.args("--now", "2026-01-02"),
                       pythonpath=(TESTS,))
    assert "Traceback" not in done.stderr
    assert "fixture_plugins.raising_store" in done.stderr and "boom in open_store" in done.stderr
    assert done.returncode in (1, 2)


def test_validate_reports_a_plugin_raising_in_a_hook(cli, project):
    # Core bug (engine/cli/validate.py and other commands but `run`): failures recorded by
    # Plugins._call are never taken, so `validate`/`status` say nothing about the plugin.
    result = cli("--plugin", "fixture_plugins.raising_hooks", "validate", project.workflow)
    assert "plugin fixture_plugins.raising_hooks failed in flowctl_actions: RuntimeError: boom in actions" in result.output


def test_registration_hooks_are_called_once_per_command(cli, project, tmp_path, monkeypatch):
    # hookspecs.py: "Registration hooks are called once per command". Core bug
    # (engine/plugin_manager.py): Plugins.actions()/channel_types() call the hook again on
    # every use (validation, runner, delivery), so a run calls them twice - and a failing
    # plugin is reported twice.
    log = tmp_path / "calls.log"
    monkeypatch.setenv("CALL_LOG", str(log))
    project.workflow.write_text(project.workflow.read_text() + "notifications:\n  - {on: stage_entered, channel: console}\n")
    project.deal("D1")
    result = cli("--plugin", "fixture_plugins.call_counter", "run", project.deals, *project.args("--now", "2026-01-02"))
    assert result.exit_code == 0
    calls = log.read_text().splitlines()
    assert {hook: calls.count(hook) for hook in set(calls)} == {hook: 1 for hook in set(calls)}


# --------------------------------------------------------------------------- the example plugin, installed

CHAT_WORKFLOW = """\
flowctl: 1
name: chat-e2e
extends: builtin:six-stage
channels:
  team: {use: chat, url: "URL/hooks/abc", channel: "#sales", username: flowctl}
stages:
  - id: prospect
    jobs:
      - id: announce
        uses: chat_post
        with: {channel: team, text: "New prospect: {{ deal.name }} ({{ deal.amount }} EUR)"}
notifications:
  - {id: stuck, on: deal_stuck, channel: team}
"""


def chat_project(root: Path, url: str) -> Path:
    project = Project(root, CHAT_WORKFLOW.replace("URL", url))
    project.data({"id": "ACME-1", "name": "Fleet {{ 7*7 }}", "owner": "alice@example.com", "amount": 5000,
                  "created": dt.date(2026, 1, 1)})
    return project.workflow


def test_the_installed_chat_plugin_is_listed_with_its_version_and_hooks(chat_plugin):
    done = flowctl_cli("plugins", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert listed(done.stdout)["chat"] == {
        "name": "chat", "version": example_version(), "builtin": False,
        "hooks": ["flowctl_actions", "flowctl_channel_types", "flowctl_template_dirs"]}
    assert f"chat {example_version()} (installed): " in flowctl_cli("plugins").stdout


def test_the_installed_chat_plugin_delivers_through_a_real_server(chat_plugin, tmp_path):
    with webhook_server() as server:
        workflow = chat_project(tmp_path, server.url)
        first = flowctl_cli("run", "-w", workflow, "--now", "2026-01-03", "--format", "json")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["summary"]["actions_ok"] == 1
        stuck = flowctl_cli("run", "-w", workflow, "--now", "2026-01-30", "--format", "json")  # max_days 21
        again = flowctl_cli("run", "-w", workflow, "--now", "2026-01-30", "--format", "json")
    assert stuck.returncode == 0 and again.returncode == 0
    assert json.loads(again.stdout)["summary"]["sent"] == 0
    assert [r.path for r in server.requests] == ["/hooks/abc", "/hooks/abc"]
    posted = [r.json() for r in server.requests]
    assert posted[0] == {"text": "New prospect: Fleet {{ 7*7 }} (5000 EUR)", "channel": "#sales", "username": "flowctl"}
    assert posted[1]["text"].startswith("ACME-1 is stuck in Prospect (29 days)\n")
    assert posted[1]["channel"] == "#sales"
    assert server.requests[1].headers["x-flowctl-key"] == "ACME-1:deal_stuck:prospect:2026-01-01|stuck|team|alice@example.com"


def test_plugin_option_on_an_installed_plugin_uses_the_one_copy(chat_plugin):
    done = flowctl_cli("--plugin", "flowctl_chat", "plugins", "--format", "json", pythonpath=(chat_plugin,))
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    names = [p["name"] for p in json.loads(done.stdout)["plugins"]]
    assert names.count("chat") == 1 and "flowctl_chat" not in names


def test_the_installed_chat_plugin_keeps_messages_while_the_chat_is_down(chat_plugin, tmp_path):
    with webhook_server(status=500) as server:
        workflow = chat_project(tmp_path, server.url)
        down = flowctl_cli("run", "-w", workflow, "--now", "2026-01-03")
        assert down.returncode == 0
        assert "warning: notification not delivered (kept in the outbox for the next run): team to alice@example.com" \
               in down.stderr and "HTTP 500" in down.stderr
        server.status = 200
        flowctl_cli("run", "-w", workflow, "--now", "2026-01-03")
        flowctl_cli("run", "-w", workflow, "--now", "2026-01-03")
    assert len(server.requests) == 2  # refused once, delivered once, never again
    with sqlite3.connect(tmp_path / ".flowctl" / "state.db") as con:
        assert con.execute("SELECT channel, status, attempts FROM outbox").fetchall() == [("team", "sent", 2)]


def test_the_schema_includes_the_chat_plugins_configs_once_installed(chat_plugin):
    import flowctl_chat
    from flowctl.channel_settings import with_core_settings

    done = flowctl_cli("schema", "workflow")
    schema = json.loads(done.stdout)
    assert schema["$defs"]["channel_configs"]["chat"] == with_core_settings(flowctl_chat.CHANNEL_SCHEMA)
    assert schema["$defs"]["action_params"]["chat_post"] == flowctl_chat.WITH_SCHEMA
    assert "chat" in schema["properties"]["channels"]["additionalProperties"]["properties"]["use"]["enum"]


def test_disabling_the_chat_plugin_makes_a_workflow_using_it_invalid(chat_plugin, tmp_path):
    workflow = chat_project(tmp_path, "http://127.0.0.1:9")
    done = flowctl_cli("validate", workflow, env={"FLOWCTL_DISABLE_PLUGINS": "chat"})
    assert done.returncode == 2
    assert "no plugin provides the channel type 'chat'" in done.stdout + done.stderr
    assert "no plugin provides the action 'chat_post'" in done.stdout + done.stderr
