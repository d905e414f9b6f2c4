"""Editors: `flowctl init` writes the `$schema` line and VS Code's `yaml.schemas`, and the
real YAML language server (npm `yaml-language-server`, what VS Code's YAML extension
runs) completes and checks flowctl's files with them.

The server comes from .tools/node/ (scripts/ensure-yaml-language-server, run by
scripts/test). In CI (CI set) a missing server is installed, and fails the tests if it
cannot be; elsewhere they skip.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path
from typing import Iterator

import jsonschema
import pytest

from flowctl.testing import invoke_cli as invoke
from flowctl.editor import MODELINE, vscode_settings, with_modeline
from lsp import Server

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / ".tools" / "node" / "node_modules" / ".bin" / "yaml-language-server"
SETTINGS = {"yaml": {"validate": True, "completion": True, "hover": True, "schemaStore": {"enable": False}}}


@pytest.fixture(scope="module")
def yaml_server() -> Path:
    if not SERVER.exists() and os.environ.get("CI"):
        subprocess.run([str(ROOT / "scripts" / "ensure-yaml-language-server")], check=False, timeout=600,
                       stdout=subprocess.DEVNULL)
    if not SERVER.exists():
        message = "yaml-language-server is not installed: run scripts/ensure-yaml-language-server"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SERVER


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("editor") / "demo"
    assert invoke("init", folder).exit_code == 0
    return folder


# ---------------------------------------------------------------------------------
# what init writes
# ---------------------------------------------------------------------------------

def test_every_yaml_file_names_a_draft7_schema_that_exists(demo):
    files = [demo / "workflow.yaml", *sorted((demo / "deals").glob("*.yaml")), *sorted((demo / "deals-to-fix").glob("*.yaml"))]
    assert len(files) == 12
    for file in files:
        first = file.read_text("utf-8").splitlines()[0]
        assert first.startswith(MODELINE), file
        schema = (file.parent / first[len(MODELINE):]).resolve()
        assert schema.name == ("workflow.schema.json" if file.name == "workflow.yaml" else "deal.schema.json")
        jsonschema.Draft7Validator.check_schema(json.loads(schema.read_text("utf-8")))


def test_the_deal_schema_knows_the_company_fields(demo):
    schema = json.loads((demo / "schemas" / "deal.schema.json").read_text("utf-8"))
    assert schema["properties"]["roi"] == {"type": "number"}


def test_vscode_maps_the_schemas_to_the_files(demo):
    settings = json.loads((demo / ".vscode" / "settings.json").read_text("utf-8"))
    assert settings["yaml.schemas"] == {"./schemas/workflow.schema.json": ["workflow.yaml"],
                                        "./schemas/deal.schema.json": ["deals/**/*.yaml", "deals-to-fix/**/*.yaml"]}


def test_the_scaffold_with_its_schema_lines_still_validates(demo):
    result = invoke("validate", "-w", demo / "workflow.yaml", demo / "workflow.yaml", demo / "deals")
    assert result.exit_code == 0, result.output


def test_init_again_keeps_one_schema_line_and_other_settings(tmp_path):
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode" / "settings.json").write_text('{"editor.tabSize": 2, "yaml.schemas": {"x.json": ["x.yaml"]}}')
    assert invoke("init", tmp_path).exit_code == 0
    assert invoke("init", "--force", tmp_path).exit_code == 0
    assert (tmp_path / "workflow.yaml").read_text("utf-8").count(MODELINE) == 1
    settings = json.loads((tmp_path / ".vscode" / "settings.json").read_text("utf-8"))
    assert settings["editor.tabSize"] == 2 and settings["yaml.schemas"]["x.json"] == ["x.yaml"]
    assert "./schemas/deal.schema.json" in settings["yaml.schemas"]


def test_settings_with_comments_are_left_alone_with_a_warning(tmp_path):
    (tmp_path / ".vscode").mkdir()
    jsonc = '{\n  // my settings\n  "editor.tabSize": 2\n}\n'
    (tmp_path / ".vscode" / "settings.json").write_text(jsonc)
    result = invoke("init", tmp_path)
    assert result.exit_code == 0 and "not plain JSON" in result.output
    assert (tmp_path / ".vscode" / "settings.json").read_text() == jsonc


def test_init_from_seven_stage_has_the_schema_lines_too(tmp_path):
    assert invoke("init", "--from", "builtin:seven-stage", tmp_path).exit_code == 0
    assert (tmp_path / "deals" / "EX-001.yaml").read_text("utf-8").startswith(MODELINE + "../schemas/deal.schema.json\n")


@pytest.mark.parametrize("text,expected", [
    ("id: A\n", MODELINE + "../s.json\nid: A\n"),
    (MODELINE + "old.json\nid: A\n", MODELINE + "../s.json\nid: A\n"),
    ("", MODELINE + "../s.json\n"),
    ("# a comment\r\nid: A\r\n", MODELINE + "../s.json\n# a comment\r\nid: A\r\n"),
])
def test_with_modeline(text, expected, tmp_path):
    assert with_modeline(text, tmp_path / "deals" / "a.yaml", tmp_path / "s.json") == expected


@pytest.mark.parametrize("existing", ["[1, 2]", '"text"', "{broken", "// only a comment"])
def test_settings_that_are_not_a_json_object_are_not_rewritten(existing):
    assert vscode_settings(existing) is None


def test_settings_from_nothing():
    assert set(json.loads(vscode_settings(None))["yaml.schemas"]) == {"./schemas/workflow.schema.json",
                                                                    "./schemas/deal.schema.json"}
    assert json.loads(vscode_settings("  \n"))["yaml.schemas"]


# ---------------------------------------------------------------------------------
# the real YAML language server
# ---------------------------------------------------------------------------------

def _stage_line(text: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if line.startswith("  - id: "))


def _insert_after(text: str, index: int, new: str) -> str:
    lines = text.splitlines()
    return "\n".join(lines[:index + 1] + [new] + lines[index + 1:]) + "\n"


@contextlib.contextmanager
def _workflow_with(yaml_server: Path, demo: Path, line: str) -> Iterator[tuple[Server, Path, str, int]]:
    """The server, with the demo's workflow open and `line` added under its first stage."""
    workflow = demo / "workflow.yaml"
    text = workflow.read_text("utf-8")
    stage = _stage_line(text)
    with Server([str(yaml_server), "--stdio"], demo) as server:
        server.initialize(SETTINGS)
        server.open(workflow, _insert_after(text, stage, line))
        yield server, workflow, text, stage


def test_the_language_server_completes_a_stages_keys(yaml_server, demo):
    with _workflow_with(yaml_server, demo, "    ") as (server, workflow, _, stage):
        labels = {item["label"] for item in server.completion(workflow, stage + 1, 4)}
    assert {"probability", "max_days", "rot_days", "gates", "forecast_category", "name"} <= labels
    assert "bogus" not in labels and "amount" not in labels  # a stage's keys, not a deal's


def test_the_language_server_reports_an_unknown_key_in_a_workflow(yaml_server, demo):
    with _workflow_with(yaml_server, demo, "    max_dayz: 5") as (server, workflow, text, stage):
        found = server.diagnostics(workflow)
        server.change(workflow, text, 2)
        clean = server.diagnostics(workflow)
    assert [(d["range"]["start"]["line"], d["range"]["start"]["character"]) for d in found] == [(stage + 1, 4)]
    assert "max_dayz" in found[0]["message"] and "not allowed" in found[0]["message"]
    assert clean == []


def test_the_language_server_checks_a_deal_through_vscodes_settings(yaml_server, demo):
    """No `$schema` line: the schema comes from `yaml.schemas`, as VS Code sends it."""
    deal = demo / "deals" / "ACME-2026-001.yaml"
    body = "\n".join(deal.read_text("utf-8").splitlines()[1:]) + "\n"
    settings = json.loads((demo / ".vscode" / "settings.json").read_text("utf-8"))
    config = {"yaml": {**SETTINGS["yaml"], "schemas": settings["yaml.schemas"]}}
    with Server([str(yaml_server), "--stdio"], demo) as server:
        server.initialize(config)
        server.open(deal, body.replace("amount: 85000", "amount: lots") + "roi: high\n")
        found = server.diagnostics(deal)
    lines = body.splitlines()
    amount = next(i for i, line in enumerate(lines) if line.startswith("amount:"))
    assert {d["range"]["start"]["line"] for d in found} == {amount, len(lines)}
    assert all("number" in d["message"].lower() for d in found)
