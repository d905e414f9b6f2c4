"""engine/cli/plugins_cmd.py: `flowctl plugins`, each plugin with its version and hooks,
built-ins first, as text or JSON with the plugins that failed to load."""
from __future__ import annotations

import json
from typing import Any

import flowctl


def listing(cli: Any, *args: str) -> dict:
    result = cli(*args, "plugins", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_lists_built_ins_first_then_the_others_by_name(cli: Any) -> None:
    data = listing(cli, "--plugin", "fixture_plugins.counting_action", "--plugin", "fixture_plugins.call_counter")
    assert set(data) == {"plugins", "problems"} and data["problems"] == []
    plugins = data["plugins"]
    assert all(set(p) == {"name", "version", "builtin", "hooks"} for p in plugins)
    builtin = [p["builtin"] for p in plugins]
    assert builtin == sorted(builtin, reverse=True)  # built-ins first
    assert [p["name"] for p in plugins if p["builtin"]] == sorted(p["name"] for p in plugins if p["builtin"])
    others = [p["name"] for p in plugins if not p["builtin"]]  # and any installed ones (the example's, say)
    assert others == sorted(others) and {"fixture_plugins.call_counter", "fixture_plugins.counting_action"} <= set(others)
    assert all(p["hooks"] == sorted(p["hooks"]) and p["hooks"] for p in plugins)


def test_a_local_plugin_is_versioned_local(cli: Any) -> None:
    plugins = {p["name"]: p for p in listing(cli, "--plugin", "fixture_plugins.counting_action")["plugins"]}
    assert plugins["fixture_plugins.counting_action"]["version"] == "local"
    assert {p["version"] for p in plugins.values() if p["builtin"]} == {flowctl.__version__}


def test_a_plugin_that_failed_to_load_is_a_problem_in_json_and_a_warning(cli: Any) -> None:
    result = cli("--plugin", "fixture_plugins.no_such_module", "plugins", "--format", "json")
    assert result.exit_code == 0  # the listing itself is fine: it shows what loaded
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem["name"] == "fixture_plugins.no_such_module" and "ModuleNotFoundError" in problem["problem"]
    assert result.stderr.startswith("warning: plugin fixture_plugins.no_such_module: failed to load")


def test_text_is_one_line_per_plugin(cli: Any) -> None:
    plugins = listing(cli, "--plugin", "fixture_plugins.counting_action")["plugins"]
    result = cli("--plugin", "fixture_plugins.counting_action", "plugins")
    assert result.stdout.splitlines() == [
        f"{p['name']} {p['version']} ({'built-in' if p['builtin'] else 'installed'}): {', '.join(p['hooks'])}"
        for p in plugins]


def test_a_disabled_plugin_is_not_listed(cli: Any) -> None:
    names = {p["name"] for p in listing(cli)["plugins"]}
    assert "smtp" in names
    result = cli("plugins", "--format", "json", env={"FLOWCTL_DISABLE_PLUGINS": "smtp"})
    assert "smtp" not in {p["name"] for p in json.loads(result.stdout)["plugins"]}
