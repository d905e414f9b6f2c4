"""The sandbox (issue #8): gate and `done_when` expressions, notification templates (a
rule's `subject:`, `to:` and `template:`) and company templates (report, proposal, the
`render` action) cannot reach Python internals, cannot read files, and cannot run away
with time or memory; deal values are data, never rendered as templates.

Every injection payload here would, if it escaped, create a canary file or show the
contents of a file or a Python object: the tests check that nothing of the sort happens.
The payloads are the well-known Jinja2 server-side template injection ones (the kind
PayloadsAllTheThings lists), written again here.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from conftest import Project
from flowctl.compiled import CompiledWorkflow
from flowctl.diagnostics import FlowctlError
from flowctl.evaluate import evaluate
from flowctl.expressions import ExpressionBatch
from flowctl.sandbox import MAX_INT_BITS, MAX_OUTPUT, MAX_SEQUENCE, MAX_WIDTH, MAX_WRAPPED, SafeEnvironment
from flowctl.templating import Templates
from flowctl.workflow import load_workflow
from test_bad_inputs import assert_refused, real_process as flowctl  # time and memory are measured on a real process

NOW = "2026-11-23"
CANARY = "/tmp/flowctl-sandbox-canary"

# Signs that a payload reached Python: a class, a function, a module, globals, a file.
LEAKS = re.compile(r"<class |<function |<built-in|<module |<method|<bound |<slot wrapper|<attribute |<cell |"
                   r"mappingproxy|'__name__':|'__builtins__':|'__doc__':|root:x:0:0|_io\\.|<frame |<code ")

# Expression payloads: Jinja2 expressions (no {{ }}) that try every known way out.
PAYLOADS = {
    "str-mro-subclasses": "''.__class__.__mro__[1].__subclasses__()",
    "str-base-subclasses": "''.__class__.__base__.__subclasses__()",
    "tuple-bases": "().__class__.__bases__[0].__subclasses__()",
    "list-base": "[].__class__.__base__.__subclasses__()",
    "dict-base": "{}.__class__.__base__.__subclasses__()",
    "int-subclasses": "(1).__class__.__subclasses__()",
    "str-dict": "''.__class__.__dict__",
    "deal-class": "deal.__class__",
    "deal-init-globals": "deal.__class__.__init__.__globals__",
    "deal-dict": "deal.__dict__",
    "deal-getitem": "deal.__getitem__('id')",
    "deal-method-self": "deal.get.__self__.__class__",
    "deal-method-globals": "deal.items.__globals__",
    "cycler-globals-os": f"cycler.__init__.__globals__.os.popen('touch {CANARY}').read()",
    "joiner-globals-os": f"joiner.__init__.__globals__.os.popen('touch {CANARY}').read()",
    "namespace-globals-os": f"namespace.__init__.__globals__.os.popen('touch {CANARY}').read()",
    "lipsum-globals-os": f"lipsum.__globals__['os'].popen('touch {CANARY}').read()",
    "lipsum-builtins-open": "lipsum.__globals__.__builtins__.open('/etc/passwd').read()",
    "lipsum-builtins-import": f"lipsum.__globals__['__builtins__']['__import__']('os').system('touch {CANARY}')",
    "range-class": "range.__class__.__mro__",
    "dict-global": "dict.__base__.__subclasses__()",
    "self-context": f"self._TemplateReference__context.cycler.__init__.__globals__.os.popen('touch {CANARY}')",
    "self-globals": "self.__init__.__globals__.__builtins__",
    "request-app": f"request.application.__globals__.__builtins__.__import__('os').popen('touch {CANARY}').read()",
    "config-class": f"config.__class__.__init__.__globals__['os'].popen('touch {CANARY}').read()",
    "config-items": "config.items()",
    "attr-filter": "deal|attr('__class__')|attr('__mro__')",
    "attr-filter-hex": "''|attr('\\x5f\\x5fclass\\x5f\\x5f')|attr('\\x5f\\x5fmro\\x5f\\x5f')",
    "attr-filter-join": "deal|attr(['_', '_class_', '_']|join)",
    "format-attribute": "'{0.__class__.__mro__}'.format(deal)",
    "format-globals": "'{0.__init__.__globals__}'.format(cycler)",
    "format-map": "'{x.__class__}'.format_map({'x': deal})",
    "percent-format": "'%s'|format(deal.__class__)",
    "getattr-string": "deal['__class__']",
    "map-attribute": "[deal]|map(attribute='__class__')|list",
    "selectattr": "[deal]|selectattr('__class__')|list",
    "sort-attribute": "[deal, deal]|sort(attribute='__class__.__name__')|list",
    "groupby": "[deal]|groupby('__class__')|list",
    "mutate-update": "deal.update({'id': 'HACKED'})",
    "mutate-pop": "deal.pop('id')",
    "mutate-setdefault": "deal.setdefault('hacked', 1)",
    "mutate-list-append": "deal.tags.append('hacked')",
    "mutate-clear": "deal.jobs.clear()",
    "loop-class": "loop.__class__",
    "undefined-class": "nothing.__class__.__mro__",
    "now-class": "now.__class__.__mro__[1].__subclasses__()",
    "stage-format": "stage.format.__globals__",
    "gen-frame": "(deal.items()|list).__iter__().gi_frame",
}

PASSWD_LEAK = "root:x:0:0"


@pytest.fixture(autouse=True)
def no_canary():
    if os.path.exists(CANARY):
        os.unlink(CANARY)
    yield
    assert not os.path.exists(CANARY), "a payload ran a shell command"


def the_deal() -> dict:
    return {"id": "SBX-1", "name": "Sandbox", "owner": "bob@example.com", "amount": 1000, "created": "2026-01-01",
            "roi": 1.5, "tags": ["a"], "jobs": {"verify": "2026-01-02"}}


def assert_no_leak(text: str) -> None:
    assert not LEAKS.search(text), f"Python internals leaked: {text[:500]}"
    assert PASSWD_LEAK not in text


# --------------------------------------------------------------------------- expressions


@pytest.mark.parametrize("source", [pytest.param(v, id=k) for k, v in PAYLOADS.items()])
def test_expression_payload_cannot_escape(source: str) -> None:
    """Evaluated as a gate would be (validation skipped): false or an error, never an object
    from Python's insides, and the deal is unchanged."""
    deal = the_deal()
    before = json.dumps(deal, sort_keys=True)
    context = {"deal": deal, "now": NOW, "stage": "prospect", "days_in_stage": 3}
    for batch in (ExpressionBatch([source]), ExpressionBatch([source, "deal.roi > 1"])):
        outcome = batch.evaluate(context)[0]
        assert outcome.value is False, (source, outcome)
        assert_no_leak(str(outcome.error or ""))
    assert json.dumps(deal, sort_keys=True) == before, "an expression changed the deal"


BASE_WORKFLOW = textwrap.dedent("""\
    flowctl: 1
    name: sandbox
    fields:
      roi: {type: number}
    stages:
      - id: prospect
        jobs:
          - {id: verify, title: Verify}
          - {id: auto, required: false, done_when: "DONE_WHEN"}
      - id: qualified
        gates:
          - {id: roi-ok, when: "WHEN", message: ROI too low}
      - id: closed
        terminal: true
    notifications:
      - {on: stage_entered, channel: console, subject: "SUBJECT"}
    """)


def write_project(root: Path, when: str = "deal.roi >= 1.2", done_when: str = "deal.roi > 100",
                  subject: str = "{{ deal.id }} entered {{ stage_name }}", extra: str = "",
                  deal: str | None = None) -> Path:
    text = (BASE_WORKFLOW.replace('"WHEN"', json.dumps(when)).replace('"DONE_WHEN"', json.dumps(done_when))
            .replace('"SUBJECT"', json.dumps(subject))) + extra
    project = Project(root, text)
    if deal is not None:
        (project.deals / "SBX-1.yaml").write_text(deal)
    else:
        project.deal("SBX-1", """\
            name: Sandbox
            roi: 1.5
            tags: [a]
            jobs:
              verify: 2026-01-02
            """)
    return root


@pytest.mark.parametrize("source", [pytest.param(v, id=k) for k, v in PAYLOADS.items() if not k.startswith("mutate-")])
def test_validate_refuses_expression_payload(source: str, tmp_path: Path) -> None:
    """`validate` says no to an expression that reaches for Python's insides: it can only
    be an attack or a mistake (no deal field starts with `_`)."""
    write_project(tmp_path, when=source)
    result = flowctl("validate", "workflow.yaml", cwd=tmp_path)
    assert_refused(result, 2, ["workflow.yaml"], ["@"])


@pytest.mark.parametrize("key", ["when", "done_when"])
@pytest.mark.parametrize("name", ["cycler-globals-os", "lipsum-builtins-open", "attr-filter", "format-attribute",
                                  "mutate-update", "str-mro-subclasses"])
def test_run_with_expression_payload_leaks_nothing(name: str, key: str, tmp_path: Path) -> None:
    """End to end: a payload in `when:` or `done_when:` of a workflow loaded without
    checks (the in-process loader) never escapes in a run."""
    source = PAYLOADS[name]
    write_project(tmp_path, **{key: source})
    wf, _ = load_workflow(tmp_path / "workflow.yaml")
    if wf is None:
        return  # refused when loaded: nothing can run it
    cw = CompiledWorkflow(wf)
    deal = the_deal()
    state = evaluate(cw, deal, dt.date(2026, 11, 23))
    for gate in state.gates:
        assert_no_leak(gate.message)
    assert deal == the_deal()


# --------------------------------------------------------------------------- notification templates


def _templates(root: Path, files: dict[str, str] | None = None) -> Templates:
    folder = root / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return Templates([folder])


def _render_string(t: Templates, source: str, **context: Any) -> str:
    try:
        return t.render_string(source, **context)
    except FlowctlError as exc:
        return str(exc)


@pytest.mark.parametrize("source", [pytest.param(v, id=k) for k, v in PAYLOADS.items()])
def test_subject_template_payload_leaks_nothing(source: str, tmp_path: Path) -> None:
    t = _templates(tmp_path)
    deal = the_deal()
    out = _render_string(t, "{{ " + source + " }}", deal=deal, event={"kind": "stage_entered"}, stage_name="x")
    assert_no_leak(out)
    assert deal == the_deal()


@pytest.mark.parametrize("source", [pytest.param(v, id=k) for k, v in PAYLOADS.items()])
def test_company_template_payload_leaks_nothing(source: str, tmp_path: Path) -> None:
    t = _templates(tmp_path, {"proposal.md.j2": "Proposal {{ deal.name }}\n{{ " + source + " }}\n"})
    deal = the_deal()
    try:
        out = t.render("proposal.md.j2", deal=deal, now=NOW)
    except FlowctlError as exc:
        out = str(exc)
    assert_no_leak(out)
    assert deal == the_deal()


STATEMENT_PAYLOADS = {
    "set-and-call": "{% set x = cycler.__init__.__globals__ %}{{ x.os.popen('touch " + CANARY + "').read() }}",
    "for-subclasses": "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{{ c }}{% endfor %}",
    "with-globals": "{% with g = lipsum.__globals__ %}{{ g.os }}{% endwith %}",
    "macro-caller": "{% macro m() %}{{ caller.__globals__ }}{% endmacro %}{% call m() %}x{% endcall %}",
    "self-blocks": "{% block b %}{{ self.__dict__ }}{{ self._TemplateReference__context }}{% endblock %}",
    "loop-object": "{% for x in [1] %}{{ loop.__class__.__init__.__globals__ }}{% endfor %}",
    "namespace-set": "{% set ns = namespace(x=1) %}{% set ns.__class__ = 1 %}{{ ns }}",
    "set-attribute-on-deal": "{% set deal.name = 'HACKED' %}{{ deal.name }}",
    "filter-block": "{% filter attr('__class__') %}x{% endfilter %}",
    "debug-ext": "{% debug %}",
    "do-ext": "{% do deal.update({'name': 'HACKED'}) %}",
}


@pytest.mark.parametrize("source", [pytest.param(v, id=k) for k, v in STATEMENT_PAYLOADS.items()])
def test_company_template_statements_leak_nothing(source: str, tmp_path: Path) -> None:
    t = _templates(tmp_path, {"proposal.md.j2": source})
    deal = the_deal()
    try:
        out = t.render("proposal.md.j2", deal=deal, now=NOW)
    except FlowctlError as exc:
        out = str(exc)
    assert_no_leak(out)
    assert deal == the_deal()


@pytest.mark.parametrize("subject", [
    pytest.param("{{ cycler.__init__.__globals__.os.popen('touch " + CANARY + "').read() }}", id="cycler"),
    pytest.param("{{ lipsum.__globals__.__builtins__.open('/etc/passwd').read() }}", id="open-passwd"),
    pytest.param("{{ '{0.__class__.__mro__}'.format(deal) }}", id="format"),
    pytest.param("{{ deal|attr('__class__') }}", id="attr"),
])
def test_notification_subject_payload_in_a_real_run(subject: str, tmp_path: Path) -> None:
    """End to end: the console channel prints the subject; nothing leaks, nothing runs."""
    write_project(tmp_path, subject=subject)
    result = flowctl("run", "--now", NOW, cwd=tmp_path)
    assert "Traceback" not in result.output, result.describe()
    assert result.returncode in (0, 2), result.describe()
    assert_no_leak(result.output)


# --------------------------------------------------------------------------- reading files


FILE_READS = {
    "include-absolute": "{% include '/etc/passwd' %}",
    "include-traversal": "{% include '../../../../../../etc/passwd' %}",
    "include-parent": "{% include '../workflow.yaml' %}",
    "include-backslash": "{% include '..\\\\workflow.yaml' %}",
    "include-list": "{% include ['/etc/passwd', '../workflow.yaml'] %}",
    "import-os": "{% import 'os' as os %}{{ os.system('touch " + CANARY + "') }}",
    "import-absolute": "{% import '/etc/passwd' as p %}",
    "from-import": "{% from '../workflow.yaml' import x %}",
    "extends-traversal": "{% extends '../../x' %}",
    "extends-absolute": "{% extends '/etc/passwd' %}",
    "extends-parent-workflow": "{% extends '../workflow.yaml' %}",
}


@pytest.mark.parametrize("source", [pytest.param(v, id=k) for k, v in FILE_READS.items()])
def test_templates_cannot_read_files(source: str, tmp_path: Path) -> None:
    (tmp_path / "workflow.yaml").write_text("SECRET-WORKFLOW-TEXT\n")
    t = _templates(tmp_path / "company", {"proposal.md.j2": source})
    with pytest.raises(FlowctlError) as info:
        t.render("proposal.md.j2", deal=the_deal(), now=NOW)
    message = str(info.value)
    assert "SECRET-WORKFLOW-TEXT" not in message and PASSWD_LEAK not in message
    assert "proposal.md.j2" in message or "template" in message


@pytest.mark.parametrize("name", ["/etc/passwd", "../workflow.yaml", "../../../../etc/passwd", "templates/../../workflow.yaml"])
def test_template_names_cannot_leave_their_folders(name: str, tmp_path: Path) -> None:
    (tmp_path / "workflow.yaml").write_text("SECRET-WORKFLOW-TEXT\n")
    t = _templates(tmp_path / "company")
    with pytest.raises(FlowctlError) as info:
        t.render(name, deal=the_deal())
    assert "SECRET-WORKFLOW-TEXT" not in str(info.value)


def test_render_job_cannot_name_a_file_outside_the_templates(tmp_path: Path) -> None:
    write_project(tmp_path)
    wf = (tmp_path / "workflow.yaml").read_text().replace(
        "{id: verify, title: Verify}", "{id: verify, title: Verify}\n      - {id: leak, uses: render, with: {template: ../workflow.yaml}}")
    (tmp_path / "workflow.yaml").write_text(wf)
    result = flowctl("run", "--now", NOW, "--format", "json", cwd=tmp_path)
    assert "Traceback" not in result.output, result.describe()
    artifacts = tmp_path / ".flowctl" / "artifacts"
    for f in artifacts.rglob("*") if artifacts.exists() else []:
        assert "flowctl: 1" not in f.read_text(errors="replace"), f"{f} holds the workflow"


# --------------------------------------------------------------------------- time and memory


RUNAWAY_EXPRESSIONS = {
    "huge-range": "range(10**9)|length > 0",
    "huge-string": "('a' * 10**9)|length > 0",
    "huge-list": "([1] * 10**9)|length > 0",
    "chained-powers": "(((9**1000)**1000)**1000) > 1",
    "nested-ranges": "([range(100000)] * 100000)|map('list')|map('length')|sum > 0",
    "center-gigabyte": "(deal.name|center(10**9))|length > 0",
    "format-width": "('%*s'|format(10**9, 'a'))|length > 0",
    "str-format-width": "('{:>1000000000}'.format('a'))|length > 0",
    "indent-multiline": "((('a\\n' * 50000))|indent(100000))|length > 0",
    "join-of-repeats": "(([('a' * 100000)] * 100000)|join)|length > 0",
    "repeat-then-repeat": "((('a' * 100000)|list) * 10)|length > 0",
    "sum-of-lists": "([[1] * 100000] * 100000)|sum(start=[])|length > 0",
}


@pytest.mark.parametrize("source", [pytest.param(v, id=k) for k, v in RUNAWAY_EXPRESSIONS.items()])
def test_runaway_expression_is_stopped(source: str, tmp_path: Path) -> None:
    """A gate whose expression would take for ever or eat the memory: stopped quickly, the
    gate does not hold, and the run says why."""
    write_project(tmp_path, when=source)
    result = flowctl("run", "--now", NOW, "--format", "json", "--store", f"sqlite:///{tmp_path / 's.db'}", cwd=tmp_path)
    assert not result.killed, result.describe()
    assert "Traceback" not in result.output, result.describe()
    assert result.cpu_seconds < 5, result.describe()  # CPU, not wall-clock: a loaded machine passes too
    assert result.max_rss_mb < 300, result.describe()
    if result.returncode == 2:  # refused as a workflow error: fine, if it says where
        assert "workflow.yaml" in result.output, result.describe()
        return
    assert result.returncode in (0, 1), result.describe()
    deal = json.loads(result.stdout)["deals"][0]
    gate = next(g for g in deal["gates"] if g["id"] == "roi-ok")
    assert gate["ok"] is False, result.describe()
    assert gate["message"] != "ROI too low", "the gate's message does not say what went wrong"


RUNAWAY_TEMPLATES = {
    "huge-range": "{% for x in range(10**9) %}{{ x }}{% endfor %}",
    "huge-string": "{{ 'a' * 10**9 }}",
    "huge-list": "{{ [1] * 10**9 }}",
    "chained-powers": "{{ (((9**1000)**1000)**1000) > 1 }}",
    "nested-loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "loop-output": "{% for i in range(100000) %}{{ 'a' * 100000 }}{% endfor %}",
    "recursive-macro": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "mutual-recursion": "{% macro a(n) %}{{ b(n) }}{% endmacro %}{% macro b(n) %}{{ a(n) }}{% endmacro %}{{ a(0) }}",
    "recursive-loop": "{% for x in [[1]] recursive %}{{ loop([x]) }}{% endfor %}",
    "center-gigabyte": "{{ deal.name|center(10**9) }}",
    "lipsum-huge": "{{ lipsum(10**6) }}",
    "wordwrap-huge": "{{ ('a ' * 100000)|wordwrap(1) * 1000 }}",
    "self-include": "{% include 'proposal.md.j2' %}",
}


def _notification_template_project(root: Path, template: str) -> Path:
    write_project(root)
    wf = (root / "workflow.yaml").read_text().replace(
        'subject: "{{ deal.id }} entered {{ stage_name }}"}', 'template: proposal.md.j2}')
    (root / "workflow.yaml").write_text(wf)
    (root / "templates").mkdir()
    (root / "templates" / "proposal.md.j2").write_text(template)
    return root


@pytest.mark.parametrize("template", [pytest.param(v, id=k) for k, v in RUNAWAY_TEMPLATES.items()])
def test_runaway_notification_template_is_stopped(template: str, tmp_path: Path) -> None:
    """A rule's body template that would run away: the run stops it quickly; that message
    alone fails (a warning naming the template; the outbox keeps why), the deal is
    recorded and no deal file changes."""
    root = _notification_template_project(tmp_path / "p", template)
    before = (root / "deals" / "SBX-1.yaml").read_bytes()
    result = flowctl("run", "--now", NOW, "--store", f"sqlite:///{tmp_path / 's.db'}", cwd=root)
    assert_refused(result, 0, ["proposal.md.j2"], ["warning: notification not queued for SBX-1"])
    assert (root / "deals" / "SBX-1.yaml").read_bytes() == before
    con = sqlite3.connect(tmp_path / "s.db")
    rows = con.execute("SELECT status, last_error FROM outbox").fetchall()
    con.close()
    assert [r[0] for r in rows] == ["unrendered"] and "proposal.md.j2" in rows[0][1]


@pytest.mark.parametrize("template", [pytest.param(v, id=k) for k, v in RUNAWAY_TEMPLATES.items()])
def test_runaway_render_template_is_stopped(template: str, tmp_path: Path) -> None:
    """The same in a company proposal template of a `render` job: the action fails with a
    clear error, the run finishes (exit 1)."""
    write_project(tmp_path)
    wf = (tmp_path / "workflow.yaml").read_text().replace(
        "{id: verify, title: Verify}", "{id: verify, title: Verify}\n      - {id: proposal, uses: render, with: {template: proposal.md.j2}}")
    (tmp_path / "workflow.yaml").write_text(wf)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "proposal.md.j2").write_text(template)
    result = flowctl("run", "--now", NOW, "--format", "json", cwd=tmp_path)
    assert_refused(result, 1, ["proposal.md.j2"])


# --------------------------------------------------------------------------- deal values are data


TEMPLATE_VALUES = ["{{ 7*7 }}", "{% for x in range(10**9) %}x{% endfor %}", "{{ cycler.__init__.__globals__ }}",
                   "{# hidden #}", "{% include '/etc/passwd' %}"]


def _literal_deal(value: str) -> str:
    v = json.dumps(value)
    return textwrap.dedent(f"""\
        id: SBX-1
        name: {v}
        account: {v}
        owner: {json.dumps(value + '@example.com')}
        amount: 1000
        created: 2026-01-01
        roi: 0.5
        notes: {v}
        jobs:
          verify: {{at: 2026-01-02, by: {v}, note: {v}}}
        """)


@pytest.mark.parametrize("value", TEMPLATE_VALUES)
def test_deal_values_are_never_rendered_in_notifications(value: str, tmp_path: Path) -> None:
    extra = "  - {on: gate_blocked, channel: console, to: '{{ deal.owner }}', subject: '{{ deal.name }} / {{ deal.notes }}'}\n"
    write_project(tmp_path, deal=_literal_deal(value), extra=extra)
    result = flowctl("run", "--now", NOW, "--store", f"sqlite:///{tmp_path / 's.db'}", cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    assert result.cpu_seconds < 5, result.describe()  # CPU, not wall-clock: a loaded machine passes too
    assert f"{value} / {value}" in result.output, result.describe()  # the subject, literally
    assert f"to {value}@example.com" in result.output, result.describe()  # the owner, literally
    assert "49" not in result.output.replace("2026", "")
    con = sqlite3.connect(tmp_path / "s.db")
    subjects = [r[0] for r in con.execute("select subject from outbox")]
    con.close()
    assert f"{value} / {value}" in subjects


@pytest.mark.parametrize("value", TEMPLATE_VALUES)
def test_deal_values_are_never_rendered_in_proposals(value: str, tmp_path: Path) -> None:
    write_project(tmp_path, deal=_literal_deal(value))
    wf = (tmp_path / "workflow.yaml").read_text().replace(
        "{id: verify, title: Verify}",
        "{id: verify, title: Verify}\n      - {id: md, uses: render, with: {template: proposal.md.j2}}"
        "\n      - {id: html, uses: render, with: {template: proposal.html.j2}}")
    (tmp_path / "workflow.yaml").write_text(wf)
    result = flowctl("run", "--now", NOW, "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    artifacts = {p.suffix: p.read_text() for p in (tmp_path / ".flowctl" / "artifacts").iterdir()}
    assert value in artifacts[".md"]
    from markupsafe import escape
    assert str(escape(value)) in artifacts[".html"]
    assert "49" not in artifacts[".md"].replace("2026", "")


def test_html_output_escapes_deal_values(tmp_path: Path) -> None:
    value = "<script>alert(1)</script>"
    write_project(tmp_path, deal=_literal_deal(value))
    wf = (tmp_path / "workflow.yaml").read_text().replace(
        "{id: verify, title: Verify}", "{id: verify, title: Verify}\n      - {id: html, uses: render, with: {template: proposal.html.j2}}")
    (tmp_path / "workflow.yaml").write_text(wf)
    result = flowctl("run", "--now", NOW, cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    (page,) = (tmp_path / ".flowctl" / "artifacts").iterdir()
    text = page.read_text()
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


@pytest.mark.parametrize("value", TEMPLATE_VALUES)
def test_job_note_from_done_is_kept_literally(value: str, tmp_path: Path) -> None:
    write_project(tmp_path)
    result = flowctl("done", "SBX-1", "auto", "--note", value, "--by", value, "--at", "2026-02-01", cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    import yaml
    doc = yaml.safe_load((tmp_path / "deals" / "SBX-1.yaml").read_text())
    assert doc["jobs"]["auto"] == {"at": dt.date(2026, 2, 1), "by": value, "note": value}
    explain = flowctl("explain", "SBX-1", "--now", NOW, "--format", "json", cwd=tmp_path)
    assert explain.returncode == 0, explain.describe()
    assert "Traceback" not in explain.output


@pytest.mark.parametrize("value", TEMPLATE_VALUES)
def test_imported_csv_cells_are_kept_literally(value: str, tmp_path: Path) -> None:
    import csv
    import yaml
    with (tmp_path / "export.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Id", "Name", "Owner", "Amount", "Created", "Product"])
        w.writerow(["CSV-1", value, value, "100", "2026-01-02", value])
    (tmp_path / "map.yaml").write_text("columns: {id: Id, name: Name, owner: Owner, amount: Amount, created: Created,"
                                       " product: Product}\n")
    result = flowctl("import", "export.csv", "--map", "map.yaml", "-o", "deals", cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    doc = yaml.safe_load((tmp_path / "deals" / "CSV-1.yaml").read_text())
    assert doc["name"] == doc["owner"] == doc["product"] == value
    write_project(tmp_path / "p")
    shutil.copy(tmp_path / "deals" / "CSV-1.yaml", tmp_path / "p" / "deals")
    run = flowctl("run", "--now", NOW, "--format", "json", "--store", f"sqlite:///{tmp_path / 's.db'}", cwd=tmp_path / "p")
    assert run.returncode in (0, 1), run.describe()
    assert run.cpu_seconds < 5, run.describe()
    deals = {d["id"]: d for d in json.loads(run.stdout)["deals"]}
    assert "CSV-1" in deals, run.describe()


def test_import_map_name_template_cannot_reach_python_internals(tmp_path: Path) -> None:
    """The map's `name:` is a str.format template: it must not give CSV values' attributes."""
    (tmp_path / "export.csv").write_text("Id,Name\nCSV-1,Acme\n")
    (tmp_path / "map.yaml").write_text("columns: {id: Id}\nname: '{Name.__class__.__mro__} {Name.upper}'\n")
    result = flowctl("import", "export.csv", "--map", "map.yaml", "-o", "deals", cwd=tmp_path)
    assert "Traceback" not in result.output, result.describe()
    for f in (tmp_path / "deals").glob("*.yaml") if (tmp_path / "deals").exists() else []:
        assert_no_leak(f.read_text())
    assert result.returncode == 2, result.describe()


@pytest.mark.parametrize("link", ["proposal.md.j2", "parts/header.j2"])
def test_symlinks_out_of_the_template_folder_are_refused(link: str, tmp_path: Path) -> None:
    (tmp_path / "workflow.yaml").write_text("SECRET-WORKFLOW-TEXT\n")
    t = _templates(tmp_path / "company", {"inside.md.j2": "fine"})
    folder = tmp_path / "company" / "templates"
    (folder / link).parent.mkdir(parents=True, exist_ok=True)
    (folder / link).symlink_to(tmp_path / "workflow.yaml")
    (folder / "uses.md.j2").write_text("{% include 'parts/header.j2' %}")
    (folder / "inner.md.j2").symlink_to(folder / "inside.md.j2")  # a link that stays inside is fine
    for name in (link, "uses.md.j2") if link.startswith("parts/") else (link,):
        with pytest.raises(FlowctlError) as info:
            t.render(name, deal=the_deal(), now=NOW)
        assert "SECRET-WORKFLOW-TEXT" not in str(info.value) and "outside the template folders" in str(info.value)
    assert t.render("inner.md.j2", deal=the_deal(), now=NOW) == "fine"


# --------------------------------------------------------------------------- each bounded operation, in process

SANDBOX = SafeEnvironment()
PLAIN = ImmutableSandboxedEnvironment()  # Jinja2's own sandbox: what each operation means
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)

# Under their limits, the bounded operators, filters and methods give what Jinja2 gives.
SAME_AS_JINJA = [
    "a * n", "items * n", "n * m", "m ** k", "2.5 ** k", "'%s|%3d|%-*s' % (a, n, w, a)", "'%(x)s%(x)s' % {'x': a}",
    "a|center(w)", "a|indent(w, true)", "a|indent(a)", "a|wordwrap(w + 1)", "a|truncate(w + 3, leeway=0)",
    "items|join(a)", "items|map('string')|join(',')", "[n, m]|sum", "[items, items]|sum(start=[])",
    "a|replace('a', a)", "a|replace(a, 'xy', n)", "'%s-%s'|format(a, n)", "'%*s'|format(w, a)",
    "a.ljust(w)", "a.zfill(w)", "a.center(w, '*')", "a.join(items)", "a.replace('a', 'bc')", "a.expandtabs(w)",
    "'{:>{w}}|{}'.format(a, n, w=w)", "'{x}{x}'.format_map({'x': a})", "(n).to_bytes(w + 1, 'big')",
    "lipsum(n % 3 + 1, false, 5, 10)|length > 0",
]


@settings(max_examples=60, deadline=None)
@given(a=TEXT, items=st.lists(TEXT, max_size=5), n=st.integers(0, 50), m=st.integers(-10**6, 10**6),
       k=st.integers(0, 20), w=st.integers(0, 100))
def test_bounded_operations_mean_what_jinja_says_under_their_limits(a: str, items: list, n: int, m: int, k: int,
                                                                     w: int) -> None:
    values = dict(a=a, items=items, n=n, m=m, k=k, w=w)
    for source in SAME_AS_JINJA:
        assert SANDBOX.compile_expression(source)(**values) == PLAIN.compile_expression(source)(**values), source


# Just past each limit, the operation is refused before it is done: a SecurityError that says so.
OVER_LIMITS = {
    "repeat-text": f"'ab' * {MAX_SEQUENCE // 2 + 1}",
    "repeat-list-reversed": f"{MAX_SEQUENCE + 1} * [1]",
    "repeat-heavy-items": f"[{'x' * 1000!r}] * {MAX_OUTPUT // 1000}",
    "multiply-integers": f"(2 ** {MAX_INT_BITS // 100 - 100}) ** 100 * (2 ** {MAX_INT_BITS // 100 - 100}) ** 100",
    "power-bits": "(7 ** 1000) ** 100",
    "power-exponent": "2 ** 1001",
    "power-negative-exponent": "2.0 ** -1001",
    "percent-width": f"'%{MAX_WIDTH + 1}s' % 'a'",
    "percent-star": f"'%*s' % ({MAX_WIDTH + 1}, 'a')",
    "percent-precision": f"'%.{MAX_WIDTH + 1}f' % 1.5",
    "percent-named-many": f"('%(x)s' * 1000) % {{'x': 'y' * {MAX_OUTPUT // 999}}}",
    "percent-bytes": f"'%{MAX_WIDTH + 1}s'.encode() % 'a'.encode()",
    "str-format-width": f"'{{:>{MAX_WIDTH + 1}}}'.format('a')",
    "str-format-output": f"('{{0}}' * 1000).format('y' * {MAX_OUTPUT // 999})",
    "format-map-width": f"'{{x:{MAX_WIDTH + 1}}}'.format_map({{'x': 1}})",
    "center": f"'x'|center({MAX_WIDTH + 1})",
    "indent-width": f"'x'|indent({MAX_WIDTH + 1})",
    "indent-output": f"('a\\n' * {MAX_SEQUENCE // 2})|indent({MAX_OUTPUT // MAX_SEQUENCE * 2 + 1}, true)",
    "wordwrap-width": f"'x'|wordwrap({MAX_WIDTH + 1})",
    "wordwrap-input": f"('x ' * {MAX_WRAPPED // 2 + 1})|wordwrap",
    "truncate-length": f"'x'|truncate({MAX_WIDTH + 1})",
    "truncate-leeway": f"'x'|truncate(10, leeway={MAX_WIDTH + 1})",
    "join-filter": f"['y' * {MAX_OUTPUT // 2 + 1}, 'z' * {MAX_OUTPUT // 2 + 1}]|join",
    "join-filter-separator": f"range({MAX_SEQUENCE})|map('string')|join('-' * 201)",
    "sum-of-lists": f"([[1] * 1000] * {MAX_SEQUENCE // 1000 + 1})|sum(start=[])",
    "replace-filter": f"('a' * {MAX_WIDTH})|replace('a', 'b' * 21)",
    "format-filter": f"'%{MAX_WIDTH + 1}s'|format('a')",
    "format-filter-star": f"'%*s'|format({MAX_WIDTH + 1}, 'a')",
    "lipsum-count": f"lipsum({MAX_WIDTH + 1})",
    "lipsum-output": f"lipsum(10000, max=200)",
    "method-argument": f"'x'.ljust({MAX_WIDTH + 1})",
    "method-zfill": f"'x'.zfill({MAX_WIDTH + 1})",
    "method-to-bytes": f"(1).to_bytes({MAX_WIDTH + 1}, 'big')",
    "method-join": f"('-' * 201).join(range({MAX_SEQUENCE})|map('string'))",
    "method-replace": f"('a' * {MAX_WIDTH}).replace('a', 'b' * 21)",
    "method-expandtabs": f"('\\t' * {MAX_WIDTH}).expandtabs(21)",
}


@pytest.mark.parametrize("source", [pytest.param(v, id=k) for k, v in OVER_LIMITS.items()])
def test_each_bounded_operation_refuses_past_its_limit(source: str) -> None:
    with pytest.raises(SecurityError, match="too large"):
        SANDBOX.compile_expression(source)()
