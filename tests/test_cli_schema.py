"""engine/cli/schema.py: `flowctl schema workflow|deal`, the JSON Schemas editors read, with
what the plugins declare (channels, actions, metric kinds, forecast methods) and a deal's
workflow fields, in draft 2020-12 or draft-07."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conftest import Project
from flowctl.cli.common import Context
from flowctl.cli.schema import editor_schema


def test_schema_includes_the_config_of_every_channel_and_action(cli):
    from flowctl.plugins import console, notify_action, render_action, smtp, webhook

    schema = json.loads(cli("schema", "workflow").stdout)
    channels = schema["$defs"]["channel_configs"]
    from flowctl.channel_settings import with_core_settings  # every channel also takes rate and max_attempts
    assert {name: channels[name] for name in ("console", "smtp", "webhook")} == {
        "console": with_core_settings(console.CONFIG_SCHEMA), "smtp": with_core_settings(smtp.CONFIG_SCHEMA),
        "webhook": with_core_settings(webhook.CONFIG_SCHEMA)}
    channel = schema["properties"]["channels"]["additionalProperties"]
    assert {"console", "smtp", "webhook"} <= set(channel["properties"]["use"]["enum"])
    assert {"if": {"properties": {"use": {"const": "smtp"}}}, "then": with_core_settings(smtp.CONFIG_SCHEMA)} in channel["allOf"]
    actions = schema["$defs"]["action_params"]
    assert actions["render"] == render_action.WITH_SCHEMA and actions["notify"] == notify_action.WITH_SCHEMA
    job = schema["properties"]["stages"]["items"]["properties"]["jobs"]["items"]
    assert {"render", "notify"} <= set(job["properties"]["uses"]["enum"])
    local = json.loads(cli("--plugin", "fixture_plugins.flaky_action", "schema", "workflow").stdout)
    assert local["$defs"]["action_params"]["flaky"] == {"type": "object"}


@pytest.fixture(scope="module")
def builtin() -> Context:
    return Context(())


def schema_of(cli: Any, *args: str) -> dict:
    result = cli("schema", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("which", ["workflow", "deal"])
@pytest.mark.parametrize("draft,meta", [("2020-12", "https://json-schema.org/draft/2020-12/schema"),
                                        ("7", "http://json-schema.org/draft-07/schema#")])
def test_each_schema_in_each_dialect_is_a_valid_schema(cli: Any, which: str, draft: str, meta: str) -> None:
    document = schema_of(cli, which, "--draft", draft)
    assert document["$schema"] == meta
    jsonschema.validators.validator_for(document).check_schema(document)


def test_the_workflow_schema_accepts_the_test_workflow_and_refuses_a_channel_no_plugin_provides(
        builtin: Context, project: Project) -> None:
    workflow = yaml.safe_load(project.workflow.read_text())
    validator = jsonschema.Draft202012Validator(editor_schema(builtin, "workflow"))
    assert list(validator.iter_errors(workflow)) == []
    assert not validator.is_valid({**workflow, "channels": {"team": {"use": "pager"}}})
    assert not validator.is_valid({**workflow, "channels": {"team": {"use": "smtp", "form": "x@y.z"}}})


def test_forecast_settings_are_those_of_the_registered_methods_only(builtin: Context) -> None:
    settings = editor_schema(builtin, "workflow")["properties"]["forecast"]
    assert settings["additionalProperties"] is False
    assert {"weighted", "historical", "montecarlo", "runrate"} <= set(settings["properties"])
    assert all(p["title"] and p["description"] for p in settings["properties"].values())


def test_job_uses_lists_the_actions_sorted(builtin: Context) -> None:
    job = editor_schema(builtin, "workflow")["properties"]["stages"]["items"]["properties"]["jobs"]["items"]
    uses = job["properties"]["uses"]["enum"]
    assert uses == sorted(uses) and {"notify", "render"} <= set(uses)


def test_the_deal_schema_takes_the_workflows_fields_only_when_asked(cli: Any, project: Project) -> None:
    plain = schema_of(cli, "deal")
    with_fields = schema_of(cli, "deal", "-w", str(project.workflow))
    assert "roi" not in plain["properties"] and "roi" in with_fields["properties"]
    assert schema_of(cli, "workflow", "-w", str(project.workflow)) == schema_of(cli, "workflow")  # -w: deal only


@pytest.mark.parametrize("args,message", [
    (("flow",), "Invalid value for '{workflow|deal}'"), ((), "Missing argument"),
    (("deal", "--draft", "4"), "Invalid value for '--draft'"),
])
def test_a_bad_request_is_a_usage_error(cli: Any, args: tuple[str, ...], message: str) -> None:
    result = cli("schema", *args)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


def test_a_deal_schema_for_a_broken_workflow_names_the_file(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "workflow.yaml").write_text("flowctl: 1\nstages: [\n")
    result = cli("schema", "deal", "-w", str(tmp_path / "workflow.yaml"))
    assert result.exit_code == 2 and f"{tmp_path / 'workflow.yaml'}:" in result.stderr and result.stdout == ""
