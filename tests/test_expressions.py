"""Gate and `done_when` expressions (engine/expressions.py): parsed with a message for each
way they can be wrong, checked for the names, deal fields and internals they use, and a
stage's evaluated in one call that means what evaluating each alone means."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowctl.expressions import (NAMES, ExpressionBatch, ExpressionError, Outcome, WrongType, check_expression,
                                 deal_fields_used, internals_used, names_used, parse_expression)

DEAL = {"roi": 1.5, "amount": 1000, "name": "Acme", "bant": {"budget": True}, "tags": ["a", "b"]}
CONTEXT = {"deal": DEAL, "now": "2026-11-23", "stage": "qualify", "days_in_stage": 3}


@pytest.mark.parametrize("source, message", [
    ("{{ deal.roi }}", "write the expression without {{ }}"),
    ("deal.roi > 1 }}", "write the expression without {{ }}"),
    ("{% if x %}", "write the expression without {{ }}"),
    ("deal.name == 'Acme", "a quoted string is not closed"),
    ('deal.name == "Acme', "a quoted string is not closed"),
    ("deal.roi >", "expression does not parse"),
    ("deal.roi > 1 deal.amount", "unexpected 'deal' after the expression"),
    ("deal.roi > 1)", "unexpected ')'"),
    ("(" * 5000 + "1" + ")" * 5000, "expression does not parse"),
    ("", "expression does not parse"),
])
def test_an_expression_that_does_not_parse_says_why(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_expression(source)


@pytest.mark.parametrize("source, unknown", [
    ("amount > 1", "amount"), ("deal.roi > limit", "limit"), ("[x for x in deal.tags]", None),
    ("range(3)|length > 0", "range"), ("deal.roi > 1 and Deal.x", "Deal"),
])
def test_only_the_four_names_may_be_used(source: str, unknown: str | None) -> None:
    try:
        expr = parse_expression(source)
    except ExpressionError:
        assert unknown is None  # not Jinja2 at all
        return
    assert unknown in names_used(expr)
    with pytest.raises(ExpressionError, match=f"unknown name '{unknown}': expressions can use {', '.join(NAMES)}"):
        check_expression(source)


@pytest.mark.parametrize("source, fields", [
    ("deal.roi > 1", [("roi",)]),
    ("deal.bant.budget and deal.bant", [("bant", "budget")]),
    ("deal['bant']['budget'] or deal.amount > 0", [("bant", "budget"), ("amount",)]),
    ("deal.get('roi', 0) > 1", []),  # a method of the mapping, not a field
    ("deal[stage] > 1", []),  # a dynamic key: nothing to check statically
    ("deal.bant[stage].x", [("bant",)]),  # up to the dynamic key
    ("deal.roi > 1 and deal.roi < 5", [("roi",)]),
    ("now > '2026' and days_in_stage > 3", []),
])
def test_the_deal_fields_an_expression_reads(source: str, fields: list) -> None:
    assert deal_fields_used(parse_expression(source)) == fields


@pytest.mark.parametrize("source", [
    "deal.__class__", "deal._private", "deal['__class__']", "deal['_x']", "'__class__' in deal",
    "deal|attr('_x')", "deal.tags|map(attribute='__class__')|list", "deal.tags|map('attr', '_x')|list",
    "deal.tags|selectattr('a._b')|list", "deal.tags|sort(attribute='__len__')", "deal.tags|sum(attribute='_x')",
    "deal.tags|map(*deal.tags)|list", "deal.tags|map(deal.name)|list", "deal.tags|attr(deal.name)",
    "'{}'.format(deal)", "'{x}'.format_map(deal)", "deal.items().gi_frame", "deal.tags|groupby('_x')",
])
def test_every_way_to_reach_python_internals_is_refused_when_checked(source: str) -> None:
    reason = internals_used(source)
    assert reason, source
    with pytest.raises(ExpressionError):
        check_expression(source)


@pytest.mark.parametrize("source", [
    "deal.roi >= 1.2", "deal.tags|map('upper')|list", "deal.tags|sort(attribute='0')", "'_' in deal.name",
    "deal.name|format", "'%s of %s'|format(deal.name, deal.amount) != ''", "deal.tags|map(attribute=0)|list",
])
def test_plain_expressions_are_not_taken_for_internals(source: str) -> None:
    assert internals_used(source) is None
    check_expression(source)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([
    "deal.roi > 1", "deal.amount < 10", "deal.missing > 1", "deal.name|int > 0", "deal.roi", "1 / 0 > 1",
    "deal.tags|length == 2", "deal.bant.budget", "deal.bant.nothing.deeper", "'a' * 10**9 == ''",
]), max_size=6))
def test_a_stage_evaluated_in_one_call_means_each_evaluated_alone(sources: list[str]) -> None:
    together = ExpressionBatch(sources).evaluate(CONTEXT)
    alone = [ExpressionBatch([s]).evaluate(CONTEXT)[0] for s in sources]
    assert together == alone


@pytest.mark.parametrize("source, outcome", [
    ("deal.roi > 1", Outcome(True)),
    ("deal.missing > 1", Outcome(False, "missing field 'missing'", "missing")),
    ("deal.roi", Outcome(False, "gave 1.5, not true or false")),
    ("1 / 0 > 1", Outcome(False, "ZeroDivisionError: division by zero")),
    ("deal.name|int(default=none) > 0", None),
    ("'a' * 10**9 == ''", None),
])
def test_each_failure_is_its_gates_own_outcome(source: str, outcome: Outcome | None) -> None:
    [got] = ExpressionBatch([source]).evaluate(CONTEXT)
    if outcome is not None:
        assert got == outcome
    else:
        assert got.value is False and got.error


@pytest.mark.parametrize("source", ["deal.roi > 1", "deal.roi + 1", "deal.roi|int", "deal.roi in [1]", "-deal.roi",
                                    "+deal.roi", "deal.roi // 2", "7 // deal.roi", "deal.roi|abs", "deal.roi|round",
                                    "deal.roi.x", "deal.roi['x']", "deal.roi|length"])
def test_a_field_of_the_wrong_type_fails_naming_it_whatever_is_done_with_it(source: str) -> None:
    deal: dict[str, Any] = {"roi": WrongType("roi", "high", "roi must be a number, not 'high'")}
    [got] = ExpressionBatch([source]).evaluate({**CONTEXT, "deal": deal})
    assert got.value is False and got.error and ("roi" in got.error), (source, got)
    assert str(deal["roi"]) == "high" and repr(deal["roi"]) == "'high'"
