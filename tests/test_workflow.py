"""Tests for flowctl.workflow: load_workflow, which reads the chain (flowctl.workflow_read),
checks it (flowctl.workflow_checks) and builds the model, and says every problem of a file
in one pass, even of a file the schema refuses."""
from __future__ import annotations

import pytest

from flowctl import workflow, workflow_read
from flowctl.model import Workflow
from flowctl.workflow import load_workflow
from workflow_files import PLUGINS, TERMINAL, problems, write


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # file names in messages are relative, as validate prints them
    return tmp_path


def test_schema_problems_do_not_hide_the_other_checks_of_a_workflow(tmp_path):
    """An unknown key in one stage and a bad expression in another are two problems."""
    write(tmp_path, "wf.yaml", (
        "flowctl: 1\n"
        "stages:\n"
        "  - id: a\n"
        "    probabilty: 0.1\n"
        "  - id: b\n"
        "    gates: [{id: g, when: \"deal.amount >\"}]\n"
        "  - id: won\n"
        "    terminal: true\n"))
    assert problems("wf.yaml") == [
        "wf.yaml:4:5: error: unknown key 'probabilty' (did you mean 'probability'?) [$.stages[0].probabilty]",
        "wf.yaml:6:27: error: expression does not parse: unexpected 'end of template' [$.stages[1].gates[0].when]",
    ]


# One pass: every problem of a workflow file at once, even when the schema refuses part of it.
ONE_PASS_BASE = """\
flowctl: 1
name: t
stages:
  - id: a
    probability: 0.2
    jobs:
      - {id: j1, due: 3d}
      - {id: j2, uses: nosuch}
    gates:
      - {id: g, when: "deal.undeclared > 1"}
  - id: b
    probability: 0.5
  - id: c
    terminal: true
notifications:
  - {on: job_overdue, channel: nochannel, subject: "{{ deal.__class__ }}"}
"""
SCHEMA_BREAKS = [("probability: 0.2", "probability: 2"), ("{id: j1, due: 3d}", "{id: j1, due: soon}"),
                 ("  - id: b\n", "  - id: b\n    bogus: 1\n"), ("name: t\n", "name: t\nunknown_top: x\n")]


@pytest.mark.parametrize("old, new", SCHEMA_BREAKS)
def test_validate_reports_every_problem_of_a_file_in_one_pass(tmp_path, old, new):
    def messages(text: str) -> set[str]:
        path = write(tmp_path, "wf.yaml", text)
        return {line.split(": error: ", 1)[1] for line in problems(path) if ": error: " in line}

    semantic = messages(ONE_PASS_BASE)
    assert len(semantic) >= 4, semantic  # action, channel, subject, field: the checks beyond the schema
    broken = messages(ONE_PASS_BASE.replace(old, new, 1))
    assert semantic <= broken, semantic - broken  # fixing the schema's problem reveals nothing new
    assert len(broken) > len(semantic)


def test_a_problem_in_a_part_the_schema_refused_is_said_once(tmp_path):
    """The schema's message about a value stands alone: the checks beyond the schema say
    nothing more of it (here: that the probability falls to -1)."""
    write(tmp_path, "wf.yaml", "flowctl: 1\nstages:\n  - {id: a, probability: 0.5}\n"
                               "  - {id: b, probability: -1}\n" + TERMINAL)
    lines = problems("wf.yaml")
    assert len(lines) == 1 and "[$.stages[1].probability]" in lines[0] and "falls" not in lines[0], lines


def test_a_clean_workflow_loads_into_the_model(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nname: t\nstages:\n  - id: a\n" + TERMINAL)
    loaded, diagnostics = load_workflow("wf.yaml", PLUGINS)
    assert diagnostics == [] and isinstance(loaded, Workflow)
    assert (loaded.name, loaded.path, [s.id for s in loaded.stages]) == ("t", "wf.yaml", ["a", "won"])


@pytest.mark.parametrize("text", [
    "flowctl: 1\nstages: []\n",  # a check's error
    "flowctl: 1\nbogus: 1\nstages:\n  - id: a\n",  # the schema's
    "flowctl: 1\nstages: [\n",  # the parser's
])
def test_a_workflow_with_an_error_is_not_built(tmp_path, text):
    write(tmp_path, "wf.yaml", text)
    loaded, diagnostics = load_workflow("wf.yaml", PLUGINS)
    assert loaded is None and any(d.severity == "error" for d in diagnostics)


def test_diagnostics_come_sorted_by_file_and_position(tmp_path):
    write(tmp_path, "base.yaml", "flowctl: 1\nstages:\n  - {id: a, probability: 0.5}\n  - {id: b, probability: 0.2}\n"
                                 "  - {id: c, gates: [{id: g}]}\n  - {id: d}\n")
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: base.yaml\nstages:\n  - {id: e, gates: [{id: h}]}\n")
    _, diagnostics = load_workflow("wf.yaml", PLUGINS)
    assert len(diagnostics) >= 4
    assert [d.sort_key() for d in diagnostics] == sorted(d.sort_key() for d in diagnostics)
    assert {d.file for d in diagnostics} == {"base.yaml", "wf.yaml"}


def test_the_public_names_stay_importable_from_flowctl_workflow():
    for name in workflow.__all__:
        assert getattr(workflow, name) is not None
    assert workflow.merged_document is workflow_read.merged_document
    assert workflow.BUILTIN_PREFIX == "builtin:"
