"""Tests for flowctl.report_templates: which templates a workflow's reports see, which
template names are allowed, rendering without tracebacks, and the context a proposal
template receives (the same from `flowctl propose` and the `render` action)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from flowctl.compiled import CompiledWorkflow
from flowctl.diagnostics import FlowctlError
from flowctl.pipeline import evaluate_all
from flowctl.plugin_manager import Plugins
from flowctl.report_templates import check_template_name, make_templates, proposal_context, render
from flowctl.templating import Templates
from flowctl.workflow import load_workflow

NOW = dt.date(2026, 3, 10)


def test_proposal_context_is_what_the_runner_passes(project):
    project.deal("D1", "name: Fleet\njobs: {verify: 2026-03-01}\n")
    workflow, _ = load_workflow(str(project.workflow), Plugins(()))
    [item] = list(evaluate_all(CompiledWorkflow(workflow), [str(project.deals)], NOW))
    ctx = proposal_context(item.doc.deal, item.state, workflow, None, NOW)
    assert set(ctx) == {"deal", "state", "workflow", "locale", "now"}
    assert ctx["locale"] == "en" and ctx["now"] == "2026-03-10" and ctx["state"]["stage"] == "qualified"  # verify done: on to the next
    assert "verify" in ctx["state"]["jobs"]["done"] and ctx["deal"]["name"] == "Fleet" and ctx["workflow"] is workflow


def test_proposal_context_takes_a_summary_a_locale_and_a_date_as_text():
    workflow = SimpleNamespace(locale="de")
    ctx = proposal_context({"id": "D1"}, {"stage": "x"}, workflow, "fr", "2026-03-10")  # type: ignore[arg-type]
    assert (ctx["state"], ctx["locale"], ctx["now"]) == ({"stage": "x"}, "fr", "2026-03-10")
    assert proposal_context({}, {}, workflow, None, NOW)["locale"] == "de"  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["report.html.j2", "sub/report.html.j2", "my report.md.j2", "a..b.j2", "x"])
def test_names_inside_the_template_folders(name):
    assert check_template_name(name) == name


@pytest.mark.parametrize("name", ["", "../x.j2", "../../etc/passwd", "/etc/passwd", "sub/../../x.j2", "..\\x.j2",
                                  "sub\\x.j2", "C:/x.j2", "c:x.j2", "\\\\server\\x", ".."])
def test_names_leaving_the_template_folders_are_refused(name):
    with pytest.raises(FlowctlError) as info:
        check_template_name(name)
    [d] = info.value.diagnostics
    assert d.file == (name or "(empty)")
    assert d.message == (f"template name {name!r} is refused: give a file name inside the templates folders "
                         "(no absolute path, no '..')")


def test_the_templates_of_a_workflow_are_its_own_then_the_plugins(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "plug").mkdir()
    plugins = SimpleNamespace(template_dirs=lambda: [tmp_path / "plug"])
    templates = make_templates(str(tmp_path / "workflow.yaml"), plugins)
    assert templates.folders == [str(tmp_path / "templates"), str(tmp_path / "plug")]
    assert make_templates(None, None).folders == []


@pytest.fixture
def templates(tmp_path):
    for name, text in {"ok.md.j2": "{{ x }}", "syntax.j2": "{% if %}", "boom.j2": "{{ 1 // 0 }}",
                       "self.j2": "{% include 'self.j2' %}"}.items():
        (tmp_path / name).write_text(text, "utf-8")
    (tmp_path / "latin1.j2").write_bytes(b"caf\xe9")
    return Templates([tmp_path])


def test_render(templates):
    assert render(templates, "ok.md.j2", {"x": "hi"}) == "hi"


@pytest.mark.parametrize("name, message", [
    ("missing.j2", "no template named 'missing.j2' in "),
    ("syntax.j2", "template syntax error: "),
    ("boom.j2", "template boom.j2 failed: ZeroDivisionError"),
    ("self.j2", "template self.j2 failed: RecursionError"),
    ("latin1.j2", "template latin1.j2 failed: UnicodeDecodeError: not UTF-8 text (byte 0xe9 at offset 3)"),
    ("../ok.md.j2", "template name '../ok.md.j2' is refused"),
])
def test_whatever_goes_wrong_in_a_template_is_a_message_naming_it(templates, name, message):
    with pytest.raises(FlowctlError) as info:
        render(templates, name, {})
    assert info.value.diagnostics[0].message.startswith(message), info.value.diagnostics[0].message
