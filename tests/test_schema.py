"""Tests for flowctl.schema: the shipped schemas, and SchemaValidator's answer (fast) and
explanations (one positioned problem per mistake, in words a user can act on)."""
from __future__ import annotations

import math

import pytest

from flowctl.schema import MAX_NUMBER, SchemaValidator, _ecma, _short, _type_name, base_schema, deal_schema

DEAL_LIKE = {
    "type": "object", "additionalProperties": False, "required": ["id", "name"],
    "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "amount": {"type": "number"},
        "kind": {"enum": ["new", "upsell", None]},
        "code": {"type": "string", "pattern": "^[A-Z]+$", "description": "upper-case letters"},
        "n": {"type": "integer", "minimum": 1}, "v": {"const": 1},
        "x": {"oneOf": [{"type": "string"},
                        {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False}]},
    },
}
VALIDATOR = SchemaValidator(DEAL_LIKE)
OK = {"id": "A", "name": "n"}


@pytest.mark.parametrize("name", ["workflow", "deal"])
def test_base_schema_is_a_fresh_copy_each_time(name):
    first = base_schema(name)
    assert first["$schema"].startswith("https://json-schema.org/draft/2020-12")
    first["properties"].clear()
    assert base_schema(name)["properties"]


@pytest.mark.parametrize("fields", [None, {}, {"roi": {"type": "number"}, "region": {"enum": ["north", "south"]}}])
def test_deal_schema_declares_the_workflows_fields(fields):
    schema = deal_schema(fields)
    for name, sub in (fields or {}).items():
        assert schema["properties"][name] == sub and schema["properties"][name] is not sub
    assert "id" in schema["properties"]


@pytest.mark.parametrize("instance", [
    OK, {**OK, "amount": 1.5}, {**OK, "amount": -MAX_NUMBER / 10}, {**OK, "kind": None}, {**OK, "code": "AB"},
    {**OK, "n": 1}, {**OK, "v": 1}, {**OK, "x": "s"}, {**OK, "x": {"a": 3}},
])
def test_valid_documents_have_no_problems(instance):
    assert VALIDATOR.is_valid(instance) and list(VALIDATOR.problems(instance)) == []


@pytest.mark.parametrize("instance, problems", [
    ({}, [((), "missing required key 'id'", False), ((), "missing required key 'name'", False)]),
    ({**OK, "amout": 1}, [(("amout",), "unknown key 'amout' (did you mean 'amount'?)", True)]),
    ({**OK, "id": 1}, [(("id",), "expected string, got number 1", False)]),
    ({**OK, "kind": "nwe"}, [(("kind",), "'nwe' is not one of new, upsell (did you mean 'new'?)", False)]),
    ({**OK, "code": "AB\n"}, [(("code",), "'AB\\n' is not valid: upper-case letters", False)]),  # $ is the very end
    ({**OK, "code": "ÄB"}, [(("code",), "'ÄB' is not valid: upper-case letters", False)]),
    ({**OK, "n": 0}, [(("n",), "0 is out of range (minimum 1)", False)]),
    ({**OK, "v": 2}, [(("v",), "must be 1, not 2", False)]),
    ({**OK, "x": {"b": 1}}, [(("x", "b"), "unknown key 'b'", True)]),  # the branch meant for a mapping
    ({**OK, "x": {"a": "s"}}, [(("x", "a"), "expected integer, got string 's'", False)]),
    ({**OK, "x": 5}, [(("x",), "5 is not valid here: see flowctl schema", False)]),
    ({**OK, "amount": True}, [(("amount",), "expected number, got boolean true", False)]),
    ({**OK, "amount": math.nan}, [(("amount",), "expected number, got number NaN", False)]),
    ({**OK, "amount": math.inf}, [(("amount",), "expected number, got number Infinity", False)]),
    ([], [((), "expected object, got list []", False)]),
    (None, [((), "expected object, got null null", False)]),
])
def test_each_mistake_is_one_problem_in_words(instance, problems):
    assert not VALIDATOR.is_valid(instance)
    assert list(VALIDATOR.problems(instance)) == problems


@pytest.mark.parametrize("number", [10 ** 400, -10 ** 400, 2 * MAX_NUMBER, 1e308])
def test_numbers_beyond_the_bound_are_refused_by_both(number):
    instance = {**OK, "amount": number}
    assert not VALIDATOR.is_valid(instance)
    [(path, message, _)] = VALIDATOR.problems(instance)
    assert path == ("amount",)


@pytest.mark.parametrize("instance", [
    {**OK, "n": 2.0}, {**OK, "n": -0.0}, {**OK, "n": 1e20}, {**OK, "x": {"a": 3.0}},
    {**OK, "n": 2.5}, {**OK, "n": 2}, {**OK, "amount": 2.0}, {**OK, "amount": 2.0, "n": 3.0},
])
def test_an_integral_float_gets_one_answer_from_both_validators(instance):
    # 2.0 is an integer to JSON Schema (the fast validator) but a float to YAML and the explainer
    assert VALIDATOR.is_valid(instance) == (list(VALIDATOR.problems(instance)) == [])


def test_an_integral_float_is_refused_where_an_integer_is_declared():
    assert not VALIDATOR.is_valid({**OK, "n": 2.0})
    assert VALIDATOR.is_valid({**OK, "amount": 2.0})


def test_nesting_too_deep_to_check_is_a_problem_not_a_crash():
    deep: list = []
    current = deep
    for _ in range(5000):
        current.append([])
        current = current[-1]
    validator = SchemaValidator({"type": "array", "items": {"$ref": "#"}})
    assert ((), "nesting too deep to check", False) in list(validator.problems(deep))


def test_diagnostics_carry_the_file_the_prefix_and_whether_they_point_at_the_key():
    [unknown, wrong] = VALIDATOR.diagnostics({**OK, "amout": 1, "n": "x"}, "d.yaml", ("deals", 3))
    assert (unknown.file, unknown.path, unknown.at_key) == ("d.yaml", ("deals", 3, "amout"), True)
    assert (wrong.path, wrong.at_key, wrong.message) == (("deals", 3, "n"), False, "expected integer, got string 'x'")


def test_the_validator_does_not_change_the_schema_it_is_given():
    schema = {"type": "object", "properties": {"n": {"type": "number"}}}
    SchemaValidator(schema)
    assert schema == {"type": "object", "properties": {"n": {"type": "number"}}}


@pytest.mark.parametrize("pattern, text, matches", [
    ("^a$", "a", True), ("^a$", "a\n", False), ("\\d", "٣", False), ("\\d", "3", True),
    ("\\w+", "é", False), ("a\\$", "a$", True), ("^x", "yx", False),
])
def test_ecma_patterns_read_as_jsonschema_rs_reads_them(pattern, text, matches):
    assert bool(_ecma(pattern).search(text)) is matches


@pytest.mark.parametrize("value, name", [
    (None, "null"), (True, "boolean"), (1, "number"), (1.5, "number"), ("s", "string"), ([], "list"), ({}, "mapping"),
    (b"x", "bytes"),
])
def test_type_name(value, name):
    assert _type_name(value) == name


@pytest.mark.parametrize("value, text", [
    ("s", "'s'"), (1, "1"), (None, "null"), ({"a": [1]}, '{"a": [1]}'), ("x" * 100, "'" + "x" * 56 + "..."),
    ("é", "'é'"),
])
def test_short_values_in_messages(value, text):
    assert _short(value) == text
