"""`validate --format github`: GitHub Actions workflow commands, escaped as GitHub's
toolkit escapes them, on the line and column of each problem."""
from __future__ import annotations

import re

import pytest

from flowctl.testing import invoke_cli as invoke
from flowctl.annotations import annotation, escape_data, workspace_path
from flowctl.diagnostics import Diagnostic

COMMAND = re.compile(r"^::(error|warning)(?: ([^:]*))?::(.*)$")


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command as GitHub's runner reads it: properties split on `,` and `=`,
    then each value and the message unescaped."""
    match = COMMAND.match(line)
    assert match, line
    level, props, message = match.groups()
    unescape = lambda s: s.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")  # noqa: E731
    properties = dict(p.split("=", 1) for p in props.split(",")) if props else {}
    return level, {k: unescape(v) for k, v in properties.items()}, unescape(message)


@pytest.mark.parametrize("text", ["100% sure", "a\nb", "a\r\nb", "%0A literal", "50%%", "%", "\n\n", "a::error::b"])
def test_data_is_one_line_that_unescapes_to_itself(text):
    escaped = escape_data(text)
    assert "\n" not in escaped and "\r" not in escaped
    assert parse(f"::error::{escaped}")[2] == text


@pytest.mark.parametrize("name", ["deals/a,b.yaml", "C:/x.yaml", "a:b,c%d.yaml", "deals/new\nline.yaml", "plain.yaml"])
def test_a_property_keeps_colons_commas_and_percents_of_a_file_name(name):
    line = annotation(Diagnostic(name, "bad", line=2, column=3))
    level, props, message = parse(line)
    assert (level, props, message) == ("error", {"file": name, "line": "2", "col": "3"}, "bad")


@pytest.mark.parametrize("char", ["\x1b", "\x07", "\x00", "\x9b", "\x7f", "\x08"])
def test_control_characters_never_reach_the_log(char):
    line = annotation(Diagnostic(f"deal{char}.yaml", f"name {char}[31mred", line=1, column=1))
    assert char not in line and f"\\x{ord(char):02x}" in line


def test_warnings_positions_and_paths():
    assert annotation(Diagnostic("w.yaml", "unused", ("stages", 0, "x"), "warning", 4, 7)) == \
        "::warning file=w.yaml,line=4,col=7::unused [$.stages[0].x]"
    assert annotation(Diagnostic("w.yaml", "no line")) == "::error file=w.yaml::no line"
    assert annotation(Diagnostic("w.yaml", "no column", line=9)) == "::error file=w.yaml,line=9,col=1::no column"
    assert annotation(Diagnostic("-", "needs a workflow")) == "::error::needs a workflow"


def test_absolute_paths_are_made_relative_to_the_checkout(tmp_path):
    inside = str(tmp_path / "deals" / "a.yaml")
    assert workspace_path(inside, str(tmp_path)) == "deals/a.yaml"
    assert workspace_path("/elsewhere/a.yaml", str(tmp_path)) == "/elsewhere/a.yaml"
    assert workspace_path("deals/a.yaml", str(tmp_path)) == "deals/a.yaml"
    assert workspace_path(inside, "") == inside


def test_validate_annotates_a_bad_deal_and_a_bad_workflow_on_their_lines(project, monkeypatch):
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    project.deal("D1", "jobs:\n  verfy: 2026-01-02\n")
    project.deal("D2", "outcome: maybe\n")
    bad = project.root / "other.yaml"
    bad.write_text("flowctl: 1\nname: other\nstages:\n  - id: a\n    probability: 0.1\n    bogus: 1\n  - {id: z, terminal: true}\n")
    result = invoke("validate", "--format", "github", "-w", project.workflow, project.deals, bad, cwd=project.root)
    assert result.exit_code == 2
    lines = [parse(line) for line in result.stdout.splitlines()]
    by_file = {props["file"].rsplit("/", 1)[-1]: (level, props, message) for level, props, message in lines}
    assert by_file["D1.yaml"][1]["line"] == "6" and "unknown job 'verfy'" in by_file["D1.yaml"][2]
    assert by_file["D1.yaml"][1]["col"] == "3"
    assert by_file["D2.yaml"][1]["line"] == "5" and by_file["D2.yaml"][0] == "error"
    assert by_file["other.yaml"][1]["line"] == "6" and "bogus" in by_file["other.yaml"][2]
    assert "error(s)" in result.stderr  # the tally stays on stderr, out of the annotations


def test_a_valid_repository_prints_no_annotation(project):
    project.deal("D1")
    result = invoke("validate", "--format", "github", "-w", project.workflow, project.deals)
    assert result.exit_code == 0 and result.stdout == ""


def test_a_missing_file_is_an_annotation_too(tmp_path):
    result = invoke("validate", "--format", "github", tmp_path / "gone.yaml")
    assert result.exit_code == 2
    level, props, message = parse(result.stdout.splitlines()[0])
    assert level == "error" and props["file"].endswith("gone.yaml") and message == "no such file"
