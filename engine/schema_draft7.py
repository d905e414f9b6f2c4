"""flowctl's JSON Schemas (draft 2020-12) rewritten as draft-07, for editors whose YAML
language server reads only draft-07 (`flowctl schema workflow|deal --draft 7`).

Validation keeps using the 2020-12 schemas; this is the same schema in the older
dialect: `$defs` -> `definitions` (and every `#/$defs/` reference), `prefixItems` +
`items` -> `items` (a list) + `additionalItems`, `dependentRequired` and
`dependentSchemas` -> `dependencies`, a `$ref` beside other keywords (ignored there in
draft-07) -> `allOf: [{$ref}]`. Keywords draft-07 has no counterpart for
(`unevaluatedProperties`, `$anchor`, `minContains`, …) are left out: the editor checks a
little less than `flowctl validate` does, never more. `$id` is dropped, so that an
editor resolves references in the file it loaded rather than on the network.
"""
from __future__ import annotations

from typing import Any

DRAFT7 = "http://json-schema.org/draft-07/schema#"
DROPPED = frozenset({"$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary", "$comment",
                     "unevaluatedProperties", "unevaluatedItems", "minContains", "maxContains",
                     "contentSchema", "dependentRequired", "dependentSchemas", "prefixItems", "$defs"})
# Keywords whose value is a map of name -> schema, or a list of schemas; elsewhere a
# dict is a schema (or data: enum, const, default, examples are copied as they are).
SCHEMA_MAPS = ("properties", "patternProperties", "definitions")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
DATA = ("enum", "const", "default", "examples", "required")


def to_draft7(schema: dict) -> dict:
    out = _schema(schema)
    out["$schema"] = DRAFT7
    return out


def _ref(ref: str) -> str:
    return ref.replace("#/$defs/", "#/definitions/", 1) if ref.startswith("#/$defs/") else ref


def _schema(node: Any) -> Any:
    if not isinstance(node, dict):
        return node  # true / false schemas
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROPPED:
            continue
        if key in SCHEMA_MAPS:
            out[key] = {name: _schema(sub) for name, sub in value.items()}
        elif key in SCHEMA_LISTS:
            out[key] = [_schema(sub) for sub in value]
        elif key in DATA:
            out[key] = value
        elif key == "$ref":
            out[key] = _ref(value)
        elif isinstance(value, dict):
            out[key] = _schema(value)  # items, additionalProperties, not, if/then/else, contains, …
        else:
            out[key] = value
    if "$defs" in node:
        out["definitions"] = {**{n: _schema(s) for n, s in node["$defs"].items()}, **out.get("definitions", {})}
    if "prefixItems" in node:
        out["items"] = [_schema(s) for s in node["prefixItems"]]
        if "items" in node:
            out["additionalItems"] = _schema(node["items"])
    dependencies = {**{k: list(v) for k, v in node.get("dependentRequired", {}).items()},
                    **{k: _schema(v) for k, v in node.get("dependentSchemas", {}).items()}}
    if dependencies:
        out["dependencies"] = {**out.get("dependencies", {}), **dependencies}
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}, *out.get("allOf", [])]
    return out
