"""Tests for flowctl.workflow_read: reading a workflow file and the files it `extends:`,
each checked against the schema and for repeated ids, merged into one document."""
from __future__ import annotations

import pytest

from flowctl.diagnostics import FlowctlError
from flowctl.workflow_read import (BUILTIN_PREFIX, Loaded, builtin_names, loaded_main, looks_like_workflow,
                                   merged_document, read_chain, workflow_validator)
from workflow_files import INVALID, problems, write

SEVEN = ["lead-generation", "prospecting", "lead-qualification", "initial-contact", "proposal", "negotiation",
         "follow-up"]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # file names in messages are relative, as validate prints them
    return tmp_path


# ---------------------------------------------------------------------------------------
# extends: the chain of files


def test_cycle_of_two_files(monkeypatch):
    monkeypatch.chdir(INVALID)
    assert problems("wf-extends-cycle.yaml") == [
        "_parts/cycle-b.yaml:3:10: error: extends cycle: wf-extends-cycle.yaml -> _parts/cycle-a.yaml -> "
        "_parts/cycle-b.yaml -> _parts/cycle-a.yaml [$.extends]"]


def test_cycle_of_three_files(tmp_path):
    write(tmp_path, "a.yaml", "flowctl: 1\nextends: b.yaml\n")
    write(tmp_path, "b.yaml", "flowctl: 1\nextends: sub/c.yaml\n")
    write(tmp_path, "sub/c.yaml", "flowctl: 1\nextends: ../a.yaml\n")
    assert problems("a.yaml") == [
        "sub/c.yaml:2:10: error: extends cycle: a.yaml -> b.yaml -> sub/c.yaml -> a.yaml [$.extends]"]


def test_a_file_extending_itself(tmp_path):
    write(tmp_path, "a.yaml", "flowctl: 1\nextends: a.yaml\n")
    assert problems("a.yaml") == ["a.yaml:2:10: error: extends cycle: a.yaml -> a.yaml [$.extends]"]


def test_builtin_extends(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: builtin:seven-stage\nname: mine\n")
    doc = merged_document(tmp_path / "wf.yaml")
    assert [s["id"] for s in doc["stages"]] == SEVEN and doc["name"] == "mine"


def test_a_folder_named_by_extends(tmp_path):
    (tmp_path / "base").mkdir()
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: base\n")
    assert problems("wf.yaml") == [
        "wf.yaml:2:10: error: extends: 'base' is a folder, not a workflow file (looked at base) [$.extends]"]


@pytest.mark.parametrize("target", ["deal.yaml", "secrets.yaml", "list.yaml", "scalar.yaml"])
def test_extends_reaches_only_workflow_files_and_shows_nothing_of_others(tmp_path, target):
    (tmp_path / "deal.yaml").write_text("id: D1\nname: Secret customer\namount: 98765431\n")
    (tmp_path / "secrets.yaml").write_text("password: hunter2\ntoken: s3cr3t\n")
    (tmp_path / "list.yaml").write_text("- hunter2\n")
    (tmp_path / "scalar.yaml").write_text("hunter2\n")
    (tmp_path / "workflow.yaml").write_text(f"flowctl: 1\nname: x\nextends: {target}\n")
    output = "\n".join(problems(tmp_path / "workflow.yaml"))
    assert f"extends: '{target}' is not a workflow" in output or "must be a mapping" in output
    assert not any(secret in output for secret in ("hunter2", "s3cr3t", "Secret customer", "98765431"))


@pytest.mark.parametrize("ref, message", [
    ("nope.yaml", "extends: no such file 'nope.yaml' (looked for nope.yaml)"),
    ("sub/../nope.yaml", "extends: no such file 'sub/../nope.yaml' (looked for nope.yaml)"),
    ("builtin:nine-stage", "no built-in workflow 'builtin:nine-stage' (did you mean 'builtin:six-stage'?)"),
    ("builtin:../six-stage", "no built-in workflow 'builtin:../six-stage'"),
    ("builtin:", "no built-in workflow 'builtin:'"),
])
def test_an_extends_that_names_nothing_readable_is_placed_at_the_extends(tmp_path, ref, message):
    write(tmp_path, "wf.yaml", f"flowctl: 1\nextends: '{ref}'\n")
    [line] = problems("wf.yaml")
    assert line.startswith("wf.yaml:2:10: error: " + message) and line.endswith("[$.extends]")


def test_a_problem_of_the_base_is_placed_in_the_base(tmp_path):
    write(tmp_path, "base.yaml", "flowctl: 1\nstages:\n  - id: a\n    probabilty: 0.1\n  - id: won\n")
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: base.yaml\n")
    assert problems("wf.yaml") == [
        "base.yaml:4:5: error: unknown key 'probabilty' (did you mean 'probability'?) [$.stages[0].probabilty]"]


# ---------------------------------------------------------------------------------------
# one file


@pytest.mark.parametrize("text, message", [
    ("- a\n- b\n", "wf.yaml:1:1: error: a workflow file must be a mapping (flowctl: 1, name, stages, …)"),
    ("just text\n", "wf.yaml:1:1: error: a workflow file must be a mapping (flowctl: 1, name, stages, …)"),
    ("flowctl: 1\nstages: [\n", "wf.yaml:3:1: error: YAML syntax error"),
])
def test_a_file_that_is_not_a_workflow_mapping(tmp_path, text, message):
    write(tmp_path, "wf.yaml", text)
    [line] = problems("wf.yaml")
    assert line.startswith(message)


def test_a_missing_workflow_file():
    assert problems("nope.yaml") == ["nope.yaml: error: no such file"]


@pytest.mark.parametrize("kind", ["stage", "job", "gate"])
def test_ids_repeated_in_one_file_are_found_even_when_the_schema_refuses_it(tmp_path, kind):
    """The schema's problem (an unknown key) does not hide a repeated id beside it."""
    items = {"stage": "stages:\n  - {id: a, bogus: 1}\n  - {id: a}\n",
             "job": "stages:\n  - {id: a, bogus: 1, jobs: [{id: j}, {id: j}]}\n",
             "gate": "stages:\n  - {id: a, bogus: 1, gates: [{id: g, when: 'deal.amount > 1'}, {id: g, when: 'true'}]}\n"}
    write(tmp_path, "wf.yaml", "flowctl: 1\n" + items[kind])
    lines = problems("wf.yaml")
    assert any("unknown key 'bogus'" in line for line in lines), lines
    assert any(f"duplicate {kind} id" in line for line in lines), lines


def test_a_bad_expression_is_found_even_when_the_schema_refuses_the_file(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nstages:\n  - {id: a, bogus: 1, gates: [{id: g, when: 'deal.amount >'}]}\n")
    lines = problems("wf.yaml")
    assert any("expression does not parse" in line and "[$.stages[0].gates[0].when]" in line for line in lines), lines


# ---------------------------------------------------------------------------------------
# the functions


def test_builtin_names():
    names = builtin_names()
    assert names == sorted(names) and {"six-stage", "seven-stage"} <= set(names)
    assert all(not n.endswith(".yaml") and "/" not in n for n in names)
    assert BUILTIN_PREFIX == "builtin:"


@pytest.mark.parametrize("doc, workflow", [
    ({"flowctl": 1}, True), ({"stages": []}, True), ({"extends": "x.yaml"}, True),
    ({"id": "A"}, False), ({}, False), ([], False), ("flowctl", False), (None, False),
    ({"deals": [{"id": "A"}]}, False),
])
def test_looks_like_workflow(doc, workflow):
    assert looks_like_workflow(doc) is workflow


def test_read_chain_merges_and_annotates(tmp_path):
    write(tmp_path, "base.yaml", "flowctl: 1\nname: base\nstages:\n  - id: a\n  - id: won\n    terminal: true\n")
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: base.yaml\nname: mine\n")
    loaded = Loaded()
    merged = read_chain("wf.yaml", loaded)
    assert loaded.diagnostics == [] and set(loaded.texts) == {"wf.yaml", "base.yaml"}
    assert merged is not None and merged["name"] == "mine" and merged["stages"][0]["__src__"][0] == "base.yaml"
    assert loaded_main(loaded) == "wf.yaml"


def test_read_chain_of_a_refused_lone_file_keeps_it_for_the_checks_beyond_the_schema(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nbogus: 1\nstages:\n  - id: a\n")
    loaded = Loaded()
    assert read_chain("wf.yaml", loaded) is None
    assert loaded.refused is not None and loaded.refused["stages"][0]["id"] == "a"
    write(tmp_path, "over.yaml", "flowctl: 1\nextends: wf.yaml\n")
    loaded = Loaded()
    assert read_chain("over.yaml", loaded) is None and loaded.refused is None  # only a lone file's


def test_loaded_main_before_anything_was_read():
    assert loaded_main(Loaded()) == "?"


def test_loaded_error_records_a_positioned_diagnostic():
    loaded = Loaded()
    loaded.error(("wf.yaml", ("stages", 0)), "boom", "warning", at_key=True)
    [d] = loaded.diagnostics
    assert (d.file, d.path, d.message, d.severity, d.at_key) == ("wf.yaml", ("stages", 0), "boom", "warning", True)


def test_workflow_validator_takes_extra_definitions():
    plain = workflow_validator()
    extra = workflow_validator({"x-thing": {"type": "string"}})
    assert "x-thing" in extra.schema["$defs"] and "x-thing" not in plain.schema.get("$defs", {})


def test_merged_document_strips_annotations(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nstages:\n  - id: a\n    jobs: [{id: j}]\n  - id: won\n    terminal: true\n")
    doc = merged_document("wf.yaml")
    assert "__top__" not in doc and "__src__" not in doc["stages"][0] and "__src__" not in doc["stages"][0]["jobs"][0]


def test_merged_document_of_a_broken_chain_raises_positioned_diagnostics(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: nope.yaml\n")
    with pytest.raises(FlowctlError) as info:
        merged_document("wf.yaml")
    [d] = info.value.diagnostics
    assert (d.file, d.line, d.column) == ("wf.yaml", 2, 10) and "no such file 'nope.yaml'" in d.message
