"""engine/template_checks.py and what `validate` says with it: templates the sandbox will
refuse for every deal are errors, constant asks over a bounded filter's limit warnings --
before any deal is rendered."""
from __future__ import annotations

import pytest
from jinja2 import Environment

from flowctl.testing import invoke_cli as invoke
from conftest import WORKFLOW, Project
from flowctl import template_checks
from flowctl.expressions import parse_expression

ENV = Environment()


@pytest.mark.parametrize("source", ["{{ deal.__class__ }}", "{{ deal['__init__'] }}", "{{ deal._private }}",
                                    "{% for x in deal._items %}{{ x }}{% endfor %}", "{{ (deal|first).__dict__ }}"])
def test_internals_are_refused(source):
    assert "the sandbox refuses" in template_checks.refused(ENV.parse(source))


@pytest.mark.parametrize("source", ["{{ deal.name }}", "{{ deal['amount'] }}", "{{ deal.items()|list }}",
                                    "{{ '%s'|format(deal.id) }}", "{{ deal.tags|slice(3)|list }}"])
def test_ordinary_templates_pass(source):
    tree = ENV.parse(source)
    assert template_checks.refused(tree) is None and template_checks.runaway(tree) is None


@pytest.mark.parametrize("source, what", [("{{ [1]|slice(300000000)|list }}", "`slice`"),
                                          ("{{ deal.tags|batch(200000)|list }}", "`batch`"),
                                          ("{{ 'x'|center(100000000) }}", "`center`"),
                                          ("{% for i in range(10000000) %}{% endfor %}", "`range`")])
def test_constant_asks_over_a_limit_are_seen(source, what):
    assert what in template_checks.runaway(ENV.parse(source))


def test_expressions_too():
    assert "`slice`" in template_checks.runaway(parse_expression("([1]|slice(300000000)|select|list|length) > 0"))
    assert template_checks.runaway(parse_expression("deal.amount > 100000000")) is None  # a number is not an ask


def _validate(tmp_path, extra: str, template: str | None = None):
    project = Project(tmp_path, WORKFLOW + extra)
    if template is not None:
        (tmp_path / "templates").mkdir()
        (tmp_path / "templates" / "late.txt.j2").write_text(template)
    return invoke("validate", "-w", project.workflow, project.workflow)


def test_validate_names_a_notification_template_the_sandbox_will_refuse(tmp_path):
    result = _validate(tmp_path, "notifications:\n  - {on: job_overdue, channel: console, template: late.txt.j2}\n",
                       "Hello {{ deal.__class__.__mro__ }}\n")
    assert result.exit_code == 2
    assert "template 'late.txt.j2' would be refused at run time: it reads '__" in result.output


def test_validate_names_an_inline_subject_and_warns_on_a_runaway_one(tmp_path):
    refused = _validate(tmp_path, "notifications:\n  - {on: job_overdue, channel: console, "
                                  "subject: \"{{ deal._secret }}\"}\n")
    assert refused.exit_code == 2 and "`subject` would be refused at run time" in refused.output
    (tmp_path / "b").mkdir()
    runaway = _validate(tmp_path / "b", "notifications:\n  - {on: job_overdue, channel: console, "
                                        "to: \"{{ [1]|slice(300000000)|first }}\"}\n")
    assert runaway.exit_code == 0 and "warning: `to`: `slice` is asked for 300,000,000" in runaway.output


def test_validate_warns_on_a_runaway_gate_expression(tmp_path):
    project = Project(tmp_path, WORKFLOW.replace('"deal.roi >= 1.2"', '"([1]|slice(300000000)|select|list|length) > 0"'))
    result = invoke("validate", "-w", project.workflow, project.workflow)
    assert result.exit_code == 0, result.output
    assert "warning: `slice` is asked for 300,000,000, over the sandbox's limit of 100,000" in result.output
