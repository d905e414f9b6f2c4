"""The JSON Schemas flowctl ships, and validating documents against them.

Two validators are built from the same schema: a compiled one (jsonschema-rs) answers
"is this valid?" on the happy path, and jsonschema explains a document that is not,
with one positioned diagnostic per problem.
"""
from __future__ import annotations

import copy
import functools
import json
import math
import re
from importlib import resources
from typing import Any, Iterator, Mapping

import jsonschema
import jsonschema_rs

from .diagnostics import Diagnostic, did_you_mean

Problem = tuple[tuple, str, bool]  # (path, message, points at the key rather than the value)


@functools.lru_cache(maxsize=None)
def _shipped(name: str) -> str:
    return (resources.files("flowctl") / "schemas" / f"{name}.schema.json").read_text("utf-8")


def base_schema(name: str) -> dict:
    """A fresh copy of the shipped `workflow` or `deal` schema."""
    return json.loads(_shipped(name))


def deal_schema(fields: dict | None = None) -> dict:
    """The deal schema, with a workflow's own `fields` declared as properties."""
    schema = base_schema("deal")
    for name, sub in (fields or {}).items():
        schema["properties"][name] = copy.deepcopy(sub)
    return schema


@functools.lru_cache(maxsize=256)
def _ecma(pattern: str) -> "re.Pattern[str]":
    """A JSON Schema (ECMA-262) pattern in Python's re: `$` is the very end (not before a
    final newline) and `\\d`, `\\w` are ASCII, as jsonschema-rs reads them."""
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern), re.ASCII)


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not _ecma(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


MAX_NUMBER = 1e300  # beyond, a number is no amount or count but an attack on float()


def _is_number(checker: Any, value: Any) -> bool:
    # JSON has no NaN or infinity, and no number a float cannot hold: refused by both validators.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return -MAX_NUMBER < value < MAX_NUMBER


def _is_integer(checker: Any, value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_NUMBER < value < MAX_NUMBER


def _explainer(schema: dict) -> Any:
    base = jsonschema.validators.validator_for(schema)
    types = base.TYPE_CHECKER.redefine_many({"number": _is_number, "integer": _is_integer})
    cls = jsonschema.validators.extend(base, {"pattern": _pattern}, type_checker=types)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _bounded_numbers(schema: Any) -> Any:
    """Every number in a document is bounded (±1e300), so that both validators refuse
    what float() could not hold, the company's own `fields` included."""
    if isinstance(schema, dict):
        kinds = schema.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if ("number" in kinds or "integer" in kinds):
            schema.setdefault("maximum", MAX_NUMBER)
            schema.setdefault("minimum", -MAX_NUMBER)
        for value in schema.values():
            _bounded_numbers(value)
    elif isinstance(schema, list):
        for value in schema:
            _bounded_numbers(value)
    return schema


def _declares_integer(schema: Any) -> bool:
    if isinstance(schema, dict):
        kinds = schema.get("type")
        if kinds == "integer" or (isinstance(kinds, list) and "integer" in kinds):
            return True
        return any(_declares_integer(v) for v in schema.values())
    return isinstance(schema, list) and any(_declares_integer(v) for v in schema)


def _has_integral_float(value: Any, depth: int = 0) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    if depth > 64:  # deeper than any schema looks: the explainer's own guard answers then
        return True
    if isinstance(value, dict):
        return any(_has_integral_float(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_has_integral_float(v, depth + 1) for v in value)
    return False


class SchemaValidator:
    """Fast yes/no check, and full positioned explanations only when the answer is no.
    Both read the same schema with the same regex and number semantics, and format
    checks on; where they still disagree (a format both read differently), jsonschema
    has the last word."""

    def __init__(self, schema: dict):
        self.schema = schema = _bounded_numbers(copy.deepcopy(schema))
        self._fast = jsonschema_rs.validator_for(schema, validate_formats=True)
        self._slow: Any = None
        self._integers = _declares_integer(schema)

    def is_valid(self, instance: Any) -> bool:
        try:
            # JSON Schema's data model takes 2.0 for an integer, YAML and the explainer do
            # not: with an integral float about, the explainer answers alone.
            if self._fast.is_valid(instance) and not (self._integers and _has_integral_float(instance)):
                return True
        except (ValueError, TypeError, OverflowError):
            pass  # values JSON cannot hold (huge ints, odd types)
        # The explainer has the last word, so the two can never disagree.
        return not any(True for _ in self.problems(instance))

    def problems(self, instance: Any) -> Iterator[Problem]:
        if self._slow is None:
            self._slow = _explainer(self.schema)
        seen: set[tuple] = set()
        try:
            for error in self._slow.iter_errors(instance):
                for problem in _explain(error):
                    if problem[:2] not in seen:  # `required` repeats itself once per missing key
                        seen.add(problem[:2])
                        yield problem
        except RecursionError:
            yield ((), "nesting too deep to check", False)

    def diagnostics(self, instance: Any, file: str, prefix: tuple = ()) -> list[Diagnostic]:
        out = []
        for path, message, at_key in self.problems(instance):
            d = Diagnostic(file, message, prefix + path)
            d.at_key = at_key  # type: ignore[attr-defined]
            out.append(d)
        return out


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _explain(error: jsonschema.ValidationError) -> Iterator[Problem]:
    path = tuple(error.absolute_path)
    v, inst = error.validator, error.instance
    value: Any = error.validator_value  # the schema's value for this keyword (types say it may be unset)
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if v == "additionalProperties" and isinstance(inst, dict):
        known = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        for key in inst:
            if key in known or any(re.search(p, str(key)) for p in patterns):
                continue
            yield (path + (key,), f"unknown key '{key}'{did_you_mean(str(key), known)}", True)
        return
    if v in ("oneOf", "anyOf") and error.context:
        # Explain the branch meant for this kind of value: the one that did not fail
        # on the value's type itself.
        branches: dict[str | int, list[jsonschema.ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.schema_path[0], []).append(sub)
        fitting = [errs for errs in branches.values()
                   if not any(e.validator in ("type", "const") and len(e.absolute_path) == len(path) for e in errs)]
        if len(fitting) == 1:
            for sub in fitting[0]:
                yield from _explain(sub)
            return
        yield (path, f"{_short(inst)} is not valid here: {_describe(schema)}", False)
        return
    if v == "type":
        expected = " or ".join(value) if isinstance(value, list) else value
        yield (path, f"expected {expected}, got {_type_name(inst)} {_short(inst)}", False)
    elif v == "required":
        missing = [k for k in value if isinstance(inst, dict) and k not in inst]
        for k in missing:  # one error per missing key, each naming them all: deduplicated by the caller
            yield (path, f"missing required key '{k}'", False)
    elif v == "enum":
        choices = [c for c in value if c is not None]
        yield (path, f"{_short(inst)} is not one of {', '.join(map(str, choices))}"
               + (did_you_mean(inst, map(str, choices)) if isinstance(inst, str) else ""), False)
    elif v == "const":
        yield (path, f"must be {_short(value)}, not {_short(inst)}", False)
    elif v == "pattern":
        what = schema.get("description") or f"the pattern {value}"
        yield (path, f"{_short(inst)} is not valid: {what}", False)
    elif v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        yield (path, f"{_short(inst)} is out of range ({v} {value})", False)
    elif v == "propertyNames":
        yield (path, f"bad key: {error.message}", True)
    else:
        yield (path, error.message, False)


def _describe(schema: Mapping[str, Any]) -> str:
    return str(schema.get("description") or schema.get("title") or "see flowctl schema")
