"""Filters whose work does not follow from their input's size are bounded: a runaway
expression fails its gate with a message, quickly and in little memory."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.expressions import ENV, ExpressionBatch
from engine.sandbox_limits import MAX_PIECES

CONTEXT = {"deal": {"name": "x", "tags": ["a"] * 1000}, "now": None, "stage": None, "days_in_stage": 0}
RUNAWAYS = {
    "slice": "([1]|slice(300000000)|select|list|length) > 0",
    "slice-fill": "([1]|slice(10**8, 0)|list|length) > 0",
    "batch-fill": "([1]|batch(1000000000, 'x')|list|length) > 0",
    "map-center": "(deal.tags|map('center', 1000000)|list|length) > 0",
    "map-indent": "(deal.tags|map('indent', 1000000, true)|list|length) > 0",
    "map-nested": "(deal.tags|map('center', 30000)|map('center', 30000)|list|length) > 0",
    # one call that cannot be interrupted: bounded by what it is given
    "repeat-many-small-items": "(([range(100000)|list] * 199)|tojson|length) > 0",
    "repeat-a-range": "(([range(100000)] * 100)|map('list')|list|length) > 0",
    "wordwrap-long-text": "((('x' * 100000)|replace('x', 'x ' * 30))|wordwrap(1)|length) > 0",
}


@pytest.mark.parametrize("source", RUNAWAYS.values(), ids=RUNAWAYS.keys())
def test_a_runaway_expression_fails_its_gate_with_a_message(source):
    [outcome] = ExpressionBatch([source]).evaluate(CONTEXT)
    assert outcome.value is False and outcome.error and "too large" in outcome.error


@pytest.mark.parametrize("source", RUNAWAYS.values(), ids=RUNAWAYS.keys())
def test_the_same_in_a_template_fails_the_render(source):
    with pytest.raises(Exception, match="too large"):
        ENV.from_string("{{ " + source + " }}").render(**CONTEXT)


@given(st.lists(st.integers(), max_size=50), st.integers(1, 60), st.sampled_from([None, 0]))
def test_bounded_filters_mean_what_jinja_says(items, n, fill):
    for name in ("slice", "batch"):
        expr = f"items|{name}(n, fill)|list"
        ours = ENV.compile_expression(expr)(items=items, n=n, fill=fill)
        from jinja2.sandbox import ImmutableSandboxedEnvironment
        theirs = ImmutableSandboxedEnvironment().compile_expression(expr)(items=items, n=n, fill=fill)
        assert ours == theirs
    assert ENV.compile_expression("items|map('string')|list")(items=items) == [str(i) for i in items]
    assert MAX_PIECES >= 100_000
