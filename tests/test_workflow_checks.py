"""Tests for flowctl.workflow_checks: what a merged workflow's schema cannot say (ids across
stages, stage order and probabilities, durations, expressions against the deal schema, the
actions, channels and metric kinds plugins provide, the templates the workflow names)."""
from __future__ import annotations

import json
import shutil

import pytest

from workflow_files import INVALID, TERMINAL, VALID, problems, write


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # file names in messages are relative, as validate prints them
    return tmp_path


def wf(tmp_path, body: str, registry=...) -> list[str]:
    """The problems of a workflow `flowctl: 1\\nname: t\\n` + body."""
    write(tmp_path, "wf.yaml", "flowctl: 1\nname: t\n" + body)
    return problems("wf.yaml") if registry is ... else problems("wf.yaml", registry)


# ---------------------------------------------------------------------------------------
# durations


@pytest.mark.parametrize("due", ["36h", "7d", "2w"])
def test_good_durations_validate(tmp_path, due):
    assert wf(tmp_path, f"stages:\n  - id: a\n    jobs: [{{id: j, due: {due}}}]\n" + TERMINAL) == []


# ---------------------------------------------------------------------------------------
# expressions


@pytest.mark.parametrize("expression", [
    "deal.amount > 1000",
    "deal.roi >= 1.2 and deal.bant.budget",
    "deal['roi'] >= 1.2",
    "deal.orders | length > 0",
    "deal.orders and (deal.orders | rejectattr('completed') | list | length == 0)",
    "deal.expected_close and deal.expected_close <= now",
    "days_in_stage > 30 or stage == 'developed'",
    "deal.jobs['verify-prospect'] is defined",
    "deal.tags and 'priority' in deal.tags",
    "deal.owner.endswith('@example.com')",
    "now[:4] == '2026'",
])
def test_good_expressions(tmp_path, expression):
    shutil.copy(VALID / "workflow.yaml", tmp_path / "base.yaml")
    write(tmp_path, "wf.yaml", (
        "flowctl: 1\nextends: base.yaml\nstages:\n  - id: qualified\n    gates:\n"
        f"      - id: g\n        when: {json.dumps(expression)}\n"))
    assert problems("wf.yaml") == []


def test_get_on_a_deal_is_not_a_field(tmp_path):
    """`deal.get('roi', 0)` reads the field roi with a default: `get` is no deal field."""
    assert wf(tmp_path, "fields: {roi: {type: number}}\nstages:\n  - id: a\n"
                        "    gates: [{id: g, when: \"deal.get('roi', 0) >= 1.2\"}]\n" + TERMINAL) == []


def test_extension_fields_may_be_named(tmp_path):
    """The deal schema allows free `x-`/`x_` fields; an expression may read them."""
    assert wf(tmp_path, "stages:\n  - id: a\n"
                        "    gates: [{id: g, when: \"deal.x_score is defined and deal.x_score > 3\"}]\n" + TERMINAL) == []


def test_a_field_named_twice_is_one_problem(tmp_path):
    assert wf(tmp_path, "stages:\n  - id: a\n"
                        "    gates: [{id: g, when: \"deal.score > 3 and deal.score < 9\"}]\n" + TERMINAL) == [
        "wf.yaml:5:27: error: expression names deal field 'score', which neither the deal schema nor the "
        "workflow's `fields` declares [$.stages[0].gates[0].when]"]


def test_fields_declared_open_accept_any_subfield(tmp_path):
    assert wf(tmp_path, "fields:\n  meta: {type: object, additionalProperties: true, properties: {a: {type: string}}}\n"
                        "  free: {type: object}\nstages:\n  - id: a\n"
                        "    gates: [{id: g, when: \"deal.meta.b and deal.free.anything\"}]\n" + TERMINAL) == []


def test_braces_message_says_to_drop_them(monkeypatch):
    monkeypatch.chdir(INVALID)
    assert any("without {{ }}" in line for line in problems("wf-expression-braces.yaml"))


# ---------------------------------------------------------------------------------------
# channels


def test_a_notify_job_naming_a_channel_the_workflow_does_not_have_is_found_with_the_rest(tmp_path):
    """One pass: the unknown channel of a notify job beside the other problems of the file."""
    lines = wf(tmp_path, (
        "channels:\n  email: {use: console}\n"
        "notifications:\n  - {on: stage_entered, channel: chat, to: ops@example.com}\nstages:\n"
        "  - id: a\n    jobs:\n      - {id: tell, uses: notify, with: {channel: emial, to: legal@example.com}}\n"
        + TERMINAL))
    assert any("no channel 'emial' under channels: (did you mean 'email'?)" in line for line in lines), lines
    assert any("no channel 'chat'" in line and "[$.notifications[0].channel]" in line for line in lines), lines


# ---------------------------------------------------------------------------------------
# every check, one workflow each

A = "stages:\n  - id: a\n"
CHECKS = [
    ("flowctl: 1\nstages: []\n", "error: the workflow has no stages [$.stages]"),
    ("stages:\n  - {id: a, terminal: true}\n  - {id: b}\n",
     "error: terminal stage 'a' is not the last stage (the last is 'b') [$.stages[0].terminal]"),
    ("stages:\n  - {id: a}\n  - {id: b}\n",
     "warning: no stage is terminal: the last stage 'b' is taken as the terminal one (add terminal: true) [$.stages[1]]"),
    ("stages:\n  - {id: a, probability: 0.5}\n  - {id: b, probability: 0.2}\n" + TERMINAL,
     "warning: probability falls from 0.5 in 'a' to 0.2 in 'b' as deals advance [$.stages[1].probability]"),
    ("stages:\n  - {id: a}\n  - {id: w, terminal: true, gates: [{id: g, when: 'deal.amount > 1'}]}\n",
     "warning: gate 'g' on the terminal stage means nothing: the deal is already won [$.stages[1].gates[0]]"),
    ("stages:\n  - {id: a, gates: [{id: g}]}\n" + TERMINAL,
     "warning: gate 'g' has neither `when` nor `approval`: it would always hold [$.stages[0].gates[0]]"),
    ("stages:\n  - {id: a, jobs: [{id: j}]}\n  - {id: w, terminal: true, jobs: [{id: j}]}\n",
     "error: duplicate job id 'j' (also at wf.yaml $.stages[0].jobs[0]) [$.stages[1].jobs[0].id]"),
    ("stages:\n  - {id: a, gates: [{id: g, approval: x}]}\n  - {id: b, gates: [{id: g, approval: y}]}\n" + TERMINAL,
     "error: duplicate gate id 'g' (also at wf.yaml $.stages[0].gates[0]) [$.stages[1].gates[0].id]"),
    (A + "    jobs: [{id: j, uses: notfy}]\n" + TERMINAL,
     "error: no plugin provides the action 'notfy' (did you mean 'notify'?) [$.stages[0].jobs[0].uses]"),
    (A + "    jobs: [{id: j, uses: notify, with: {channel: nope}}]\n" + TERMINAL,
     "error: no channel 'nope' under channels: [$.stages[0].jobs[0].with]"),
    ("channels:\n  ops: {use: consol}\n" + A + TERMINAL,
     "error: no plugin provides the channel type 'consol' (did you mean 'console'?) [$.channels.ops.use]"),
    ("metrics:\n  - {id: m}\n" + A + TERMINAL, "error: metric 'm' has no `kind` [$.metrics[0]]"),
    ("metrics:\n  - {id: m, kind: cont}\n" + A + TERMINAL,
     "error: unknown metric kind 'cont' (did you mean 'count'?) [$.metrics[0].kind]"),
    ("metrics:\n  - {id: m, kind: count, stage: b}\n" + A + TERMINAL, "error: no stage 'b' [$.metrics[0].stage]"),
    ("metrics:\n  - {id: m, kind: count, from: a, to: x}\n" + A + TERMINAL, "error: no stage 'x' [$.metrics[0].to]"),
    ("metrics:\n  - {id: m, kind: count, where: 'deal.amout > 1'}\n" + A + TERMINAL,
     "error: expression names deal field 'amout', which neither the deal schema nor the workflow's `fields` "
     "declares (did you mean 'amount'?) [$.metrics[0].where]"),
    ("notifications:\n  - {channel: console}\n" + A + TERMINAL, "error: notification rule has no `on` [$.notifications[0]]"),
    ("notifications:\n  - {id: r, on: deal_won}\n" + A + TERMINAL,
     "error: notification rule 'r' has no `channel` [$.notifications[0]]"),
    ("notifications:\n  - {on: deal_won, channel: chat}\n" + A + TERMINAL,
     "error: no channel 'chat' under channels: [$.notifications[0].channel]"),
    (A + "    gates: [{id: g, when: 'foo > 1'}]\n" + TERMINAL,
     "error: unknown name 'foo': expressions can use deal, now, stage, days_in_stage [$.stages[0].gates[0].when]"),
    (A + "    jobs: [{id: j, done_when: 'deal.amount >'}]\n" + TERMINAL,
     "error: expression does not parse: unexpected 'end of template' [$.stages[0].jobs[0].done_when]"),
    ("fields: {bant: {type: object, properties: {need: {type: boolean}}}}\n" + A
     + "    gates: [{id: g, when: 'deal.bant.nede'}]\n" + TERMINAL,
     "error: expression names 'bant.nede', but field 'bant' declares no 'nede' (did you mean 'need'?) "
     "[$.stages[0].gates[0].when]"),
    ("notifications:\n  - {on: deal_won, channel: console, template: nope.j2}\n" + A + TERMINAL,
     "error: no template named 'nope.j2' (looked in "),
    (A + "    jobs: [{id: j, uses: render, with: {template: nope.j2, output: x.md}}]\n" + TERMINAL,
     "error: no template named 'nope.j2' (looked in "),
    ("notifications:\n  - {on: deal_won, channel: console, subject: '{{ deal.name'}\n" + A + TERMINAL,
     "error: `subject` does not parse as a template: "),
    ("notifications:\n  - {on: deal_won, channel: console, subject: '{{ deal.__class__ }}'}\n" + A + TERMINAL,
     "error: `subject` would be refused at run time: it reads '__class__', which the sandbox refuses"),
]


@pytest.mark.parametrize("body, message", CHECKS, ids=[f"check{i}" for i in range(len(CHECKS))])
def test_each_check_says_what_is_wrong_and_where(tmp_path, body, message):
    write(tmp_path, "wf.yaml", body if body.startswith("flowctl") else "flowctl: 1\nname: t\n" + body)
    lines = problems("wf.yaml")
    assert len(lines) == 1, lines
    file_and_place, _, rest = lines[0].partition(": ")
    assert file_and_place.startswith("wf.yaml:") and rest.startswith(message), lines[0]


def test_without_a_registry_the_plugins_checks_are_left_out(tmp_path):
    """Loading without the plugins' view (a bare library call) names no action, channel type
    or metric kind as unknown and reads no template."""
    body = ("channels:\n  ops: {use: consol}\nmetrics:\n  - {id: m, kind: cont}\n"
            "notifications:\n  - {on: deal_won, channel: console, template: nope.j2}\n"
            + A + "    jobs: [{id: j, uses: sendd}]\n" + TERMINAL)
    assert wf(tmp_path, body, registry=None) == []
    assert len(wf(tmp_path, body)) == 4


def test_a_warning_leaves_the_workflow_usable(tmp_path):
    from flowctl.workflow import load_workflow
    write(tmp_path, "wf.yaml", "flowctl: 1\nstages:\n  - {id: a}\n  - {id: b}\n")
    workflow, diagnostics = load_workflow("wf.yaml")
    assert workflow is not None and [d.severity for d in diagnostics] == ["warning"]


@pytest.mark.parametrize("expression, refused", [
    ("deal.__class__", "attribute '__class__'"),
    ("deal._private > 1", "attribute '_private'"),
    ("deal['__dict__']", "item '__dict__'"),
    ("deal.bant.__class__", "attribute '__class__'"),
])
def test_an_expression_reaching_internals_is_one_problem(tmp_path, expression, refused):
    lines = wf(tmp_path, "fields: {bant: {type: object, properties: {need: {type: boolean}}}}\n" + A
               + f"    gates: [{{id: g, when: {json.dumps(expression)}}}]\n" + TERMINAL)
    assert len(lines) == 1 and f"error: {refused} is refused" in lines[0], lines


def test_an_internal_does_not_hide_an_unknown_field_beside_it(tmp_path):
    lines = wf(tmp_path, A + "    gates: [{id: g, when: 'deal.__class__ and deal.scroe > 1'}]\n" + TERMINAL)
    assert len(lines) == 2 and "is refused" in lines[0] and "deal field 'scroe'" in lines[1], lines


def test_a_template_that_links_out_of_its_folder_is_said_so(tmp_path, tmp_path_factory):
    """Not "includes a template that does not exist": the template named is the link."""
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text("secret")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "link.txt.j2").symlink_to(outside)
    [line] = wf(tmp_path, "notifications:\n  - {on: deal_won, channel: console, template: link.txt.j2}\n" + A + TERMINAL)
    assert line.startswith("wf.yaml:4:48: error: no template named 'link.txt.j2' (looked in ")
    assert line.endswith("): it is a link to a file outside the template folders [$.notifications[0].template]")
