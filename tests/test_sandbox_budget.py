"""Sandboxed work that is slow without being big stops at its time budget: the gate, job,
metric filter or message fails with a message naming the setting, the rest goes on."""
from __future__ import annotations

import json
import textwrap
import threading
import time
from pathlib import Path

import pytest

from conftest import Project
from flowctl import sandbox_budget
from flowctl.diagnostics import FlowctlError
from flowctl.expressions import ENV, ExpressionBatch
from flowctl.templating import Templates
from flowctl.testing import invoke_cli as invoke

BUDGET = "0.2"  # seconds: every case below needs minutes without a budget
HANG_GUARD = 60.0
LONG = list(range(50_000))
CONTEXT = {"deal": {"name": "x", "tags": [str(i) for i in LONG], "numbers": LONG, "text": "x" * 100_000},
           "now": "2026-11-23", "stage": "prospect", "days_in_stage": 3}

# Each is quadratic or worse in sizes the bounds allow; none builds anything large.
SLOW_EXPRESSIONS = {
    "reject-in-list": "(range(100000)|reject('in', range(100000)|list)|list|length) > 0",
    "select-in-strings": "(range(100000)|map('string')|select('in', range(100000)|map('string')|list)|list) == []",
    "deal-data-against-itself": "(deal.numbers|select('in', deal.numbers)|list|length) > 0",
    "deal-tags-against-itself": "(deal.tags|reject('in', deal.tags|reverse|list)|list|length) > 0",
    "substring-search": "(range(100000)|map('string')|reject('in', deal.text * 1)|list|length) > 0",
    "map-of-costly-filters": "(range(100000)|map('string')|map('replace', '1', '2')|map('int')"
                             "|select('in', range(100000)|list)|list|length) > 0",
    "equalto-against-list": "(deal.numbers|select('in', deal.numbers|map('int')|list)|list) == []",
}

SLOW_TEMPLATES = {
    "nested-empty-loops": "{% set r = range(100000) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}",
    "nested-loops-over-deal-data": "{% for i in deal.numbers %}{% for j in deal.numbers %}{% endfor %}{% endfor %}",
    "exponential-macro": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
    "macro-loop": "{% macro f() %}{% for i in range(100000) %}{% endfor %}{% endmacro %}"
                  "{% for i in range(100000) %}{{ f() }}{% endfor %}",
    "range-in-loop": "{% for i in range(100000) %}{{ range(100000)|list|length > 0 }}{% endfor %}",
    "loop-with-select": "{% for i in deal.numbers %}{{ deal.numbers|select('equalto', i)|list|length }}{% endfor %}",
    "recursive-loop-fan-out": "{% for x in [1, 1] recursive %}{{ loop([1, 1]) if loop.depth < 60 }}{% endfor %}",
    "set-block": "{% set s %}{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
                 "{% endset %}{{ s|length }}",
}


@pytest.fixture(autouse=True)
def small_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWCTL_EXPRESSION_SECONDS", BUDGET)
    monkeypatch.setenv("FLOWCTL_TEMPLATE_SECONDS", BUDGET)


@pytest.mark.parametrize("source", SLOW_EXPRESSIONS.values(), ids=SLOW_EXPRESSIONS.keys())
def test_a_slow_expression_fails_alone_with_a_message(source: str) -> None:
    """The slow one fails naming the setting; the others of its stage keep their value."""
    started = time.monotonic()
    slow, fast_true, fast_false = ExpressionBatch([source, "deal.name == 'x'", "deal.name == 'y'"]).evaluate(CONTEXT)
    assert time.monotonic() - started < HANG_GUARD
    assert slow.value is False and "FLOWCTL_EXPRESSION_SECONDS" in (slow.error or ""), slow
    assert (fast_true.value, fast_true.error) == (True, None)
    assert (fast_false.value, fast_false.error) == (False, None)


@pytest.mark.parametrize("source", SLOW_EXPRESSIONS.values(), ids=SLOW_EXPRESSIONS.keys())
def test_a_slow_expression_alone_fails_the_same(source: str) -> None:
    [outcome] = ExpressionBatch([source]).evaluate(CONTEXT)
    assert outcome.value is False and "took more than 0.2 s" in (outcome.error or ""), outcome


@pytest.mark.parametrize("source", SLOW_TEMPLATES.values(), ids=SLOW_TEMPLATES.keys())
def test_a_slow_template_fails_its_render_with_a_message(source: str, tmp_path: Path) -> None:
    (tmp_path / "t.txt.j2").write_text(source)
    templates = Templates([tmp_path])
    for render in (lambda: templates.render("t.txt.j2", **CONTEXT), lambda: templates.render_string(source, **CONTEXT)):
        started = time.monotonic()
        with pytest.raises(FlowctlError, match="FLOWCTL_TEMPLATE_SECONDS"):
            render()
        assert time.monotonic() - started < HANG_GUARD


@pytest.mark.parametrize("source", SLOW_TEMPLATES.values(), ids=SLOW_TEMPLATES.keys())
def test_a_slow_template_is_stopped_outside_the_main_thread(source: str, tmp_path: Path) -> None:
    """No SIGALRM there: the sandbox's own steps stop it."""
    (tmp_path / "t.txt.j2").write_text(source)
    templates = Templates([tmp_path])
    errors: list[BaseException] = []

    def render() -> None:
        try:
            templates.render("t.txt.j2", **CONTEXT)
        except BaseException as exc:  # noqa: BLE001 (handed to the test's thread)
            errors.append(exc)

    worker = threading.Thread(target=render)
    worker.start()
    worker.join(HANG_GUARD)
    assert not worker.is_alive(), "the render ran past the hang guard"
    assert len(errors) == 1 and "FLOWCTL_TEMPLATE_SECONDS" in str(errors[0])


GROWING = {
    "set-block": "{% set s %}{% for i in range(100000) %}{{ 'a' * 100000 }}{% endfor %}{% endset %}{{ s|length }}",
    "macro-output": "{% macro m() %}{% for i in range(100000) %}{{ 'a' * 100000 }}{% endfor %}{% endmacro %}{{ m()|length }}",
    "filter-block": "{% filter length %}{% for i in range(100000) %}{{ 'a' * 100000 }}{% endfor %}{% endfilter %}",
}


@pytest.mark.parametrize("source", GROWING.values(), ids=GROWING.keys())
def test_output_built_out_of_the_stream_is_stopped_by_the_memory_budget(
        source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Text built inside a block is not streamed, so the output cap cannot see it: the
    memory budget stops it long before the time budget would."""
    monkeypatch.setenv("FLOWCTL_TEMPLATE_SECONDS", str(HANG_GUARD))
    monkeypatch.setattr(sandbox_budget, "MEMORY_MB", 64)
    with pytest.raises(FlowctlError, match="used more than 64 MB"):
        Templates([]).render_string(source, **CONTEXT)


def test_loops_mean_what_jinja_says() -> None:
    """Every `{% for %}` goes through the budget; loop variables, else and recursion are
    Jinja2's own."""
    source = ("{% for x in items %}{{ loop.index }}/{{ loop.length }}{{ '!' if loop.last }}"
              "{{ loop.cycle('a', 'b') }}{% else %}none{% endfor %}|"
              "{% for k, v in mapping|dictsort %}{{ k }}={{ v }};{% endfor %}|"
              "{% for x in tree recursive %}({{ x.n }}{{ loop(x.kids) if x.kids }}){% endfor %}|"
              "{% for x in [] %}x{% else %}empty{% endfor %}")
    tree = [{"n": 1, "kids": [{"n": 2, "kids": []}]}, {"n": 3, "kids": []}]
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    for items in ([], [1], [1, 2, 3], "ab"):
        context = {"items": items, "mapping": {"b": 2, "a": 1}, "tree": tree}
        assert (ENV.from_string(source).render(**context)
                == ImmutableSandboxedEnvironment().from_string(source).render(**context))


def test_the_budget_of_one_deal_does_not_reach_the_next() -> None:
    batch = ExpressionBatch([SLOW_EXPRESSIONS["reject-in-list"], "deal.name == 'x'"])
    batch.evaluate(CONTEXT)
    assert ExpressionBatch(["deal.name == 'x'"]).evaluate(CONTEXT)[0].value is True
    assert ENV.from_string("{% for i in range(3) %}{{ i }}{% endfor %}").render() == "012"


def test_a_budget_inside_another_ends_no_later() -> None:
    with sandbox_budget.budget(0.05, "template"):
        with sandbox_budget.budget(100, "expression"):
            time.sleep(0.06)
            with pytest.raises(sandbox_budget.OverBudget, match="FLOWCTL_TEMPLATE_SECONDS"):
                sandbox_budget.check()
        with pytest.raises(sandbox_budget.OverBudget):
            sandbox_budget.check()
    sandbox_budget.check()  # none armed: no limit


def test_another_threads_budget_does_not_stop_this_one() -> None:
    armed, release = threading.Event(), threading.Event()

    def other() -> None:
        with sandbox_budget.budget(0.01, "template"):
            armed.set()
            release.wait(HANG_GUARD)

    worker = threading.Thread(target=other)
    worker.start()
    armed.wait(HANG_GUARD)
    time.sleep(0.02)
    try:
        sandbox_budget.check()  # past the other thread's deadline, not past any of ours
        assert ExpressionBatch(["deal.name == 'x'"]).evaluate(CONTEXT)[0].value is True
    finally:
        release.set()
        worker.join(HANG_GUARD)


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("2.5", 2.5), ("x", 1.0), ("nan", 1.0), ("", 1.0)])
def test_the_budget_is_read_from_its_setting(value: str, seconds: float, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWCTL_EXPRESSION_SECONDS", value)
    assert sandbox_budget.seconds("expression") == seconds


def test_a_budget_of_zero_is_no_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWCTL_EXPRESSION_SECONDS", "0")
    with sandbox_budget.budget(sandbox_budget.seconds("expression"), "expression"):
        time.sleep(0.01)
        sandbox_budget.check()


# --------------------------------------------------------------------------- through the commands

WORKFLOW = textwrap.dedent("""\
    flowctl: 1
    name: budget
    fields:
      numbers: {type: array, items: {type: integer}}
    stages:
      - id: prospect
        jobs:
          - {id: auto, required: false, done_when: "DONE_WHEN"}
        gates:
          - {id: slow, when: "WHEN", message: Too slow}
          - {id: named, when: "deal.name == 'Budget'", message: Named}
      - id: closed
        terminal: true
    metrics:
      - {id: slow-count, kind: count, where: "WHERE"}
      - {id: fast-count, kind: count, where: "deal.name == 'Budget'"}
    """)


def _project(root: Path, when: str = "true", done_when: str = "false", where: str = "true") -> Path:
    project = Project(root, WORKFLOW.replace('"WHEN"', json.dumps(when)).replace('"DONE_WHEN"', json.dumps(done_when))
                      .replace('"WHERE"', json.dumps(where)))
    numbers = ", ".join(str(i) for i in range(30_000))
    for i in (1, 2):
        project.deal(f"B-{i}", f"name: Budget\nnumbers: [{numbers}]\n")
    return root


SLOW_ON_DEAL_DATA = "(deal.numbers|reject('in', deal.numbers)|list) == []"


def test_a_slow_gate_fails_for_each_deal_and_says_why(tmp_path: Path) -> None:
    root = _project(tmp_path, when=SLOW_ON_DEAL_DATA)
    result = invoke("status", "deals", "-w", "workflow.yaml", "--now", "2026-11-23", "--format", "json", cwd=root)
    deals = json.loads(result.output)["deals"]
    assert len(deals) == 2
    for deal in deals:
        gates = {g["id"]: g for g in deal["gates"]}
        assert gates["slow"]["ok"] is False and "FLOWCTL_EXPRESSION_SECONDS" in gates["slow"]["message"]
        assert gates["named"]["ok"] is True


def test_a_slow_done_when_leaves_the_job_undone(tmp_path: Path) -> None:
    root = _project(tmp_path, when="false", done_when=SLOW_ON_DEAL_DATA)
    result = invoke("status", "deals", "-w", "workflow.yaml", "--now", "2026-11-23", "--format", "json", cwd=root)
    deals = json.loads(result.output)["deals"]
    assert len(deals) == 2
    for deal in deals:
        assert deal["stage"] == "prospect" and "auto" in deal["jobs"]["pending"]


def test_a_slow_metric_filter_leaves_the_deals_out_and_counts_them(tmp_path: Path) -> None:
    root = _project(tmp_path, where=SLOW_ON_DEAL_DATA)
    result = invoke("metrics", "deals", "-w", "workflow.yaml", "--now", "2026-11-23", "--format", "json", cwd=root)
    metrics = {m["id"]: m for m in json.loads(result.output)["metrics"]}
    assert metrics["slow-count"]["value"] == 0 and metrics["slow-count"]["where_errors"] == 2
    assert metrics["fast-count"]["value"] == 2
