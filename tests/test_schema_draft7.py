"""`flowctl schema workflow|deal --draft 7`: the 2020-12 schemas in draft-07, a valid
draft-07 schema that accepts and refuses the same documents."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from flowctl.testing import invoke_cli as invoke
from flowctl.diagnostics import FlowctlError
from flowctl.schema import base_schema, deal_schema
from flowctl.schema_draft7 import DRAFT7, to_draft7
from flowctl.yamlio import parse, read_text

ROOT = Path(__file__).resolve().parents[1]
BAD_DEALS = ROOT / "tests" / "data" / "bad" / "deals"


def documents(*folders: Path) -> list[tuple[str, object]]:
    out = []
    for folder in folders:
        for file in sorted(folder.glob("*.y*ml")) + sorted(folder.glob("*.json")):
            try:
                out.append((file.name, parse(read_text(str(file)), str(file))))
            except FlowctlError:
                continue  # not even YAML: nothing for a schema to say
    return out


def refs(node) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if isinstance(node.get("$ref"), str) else []) + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


@pytest.mark.parametrize("which", ["workflow", "deal"])
def test_the_cli_prints_a_valid_draft7_schema(which):
    result = invoke("schema", which, "--draft", "7")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT7 and "$defs" not in result.stdout and "$id" not in schema
    assert all(r.startswith("#/definitions/") for r in refs(schema))
    default = json.loads(invoke("schema", which).stdout)
    assert default["$schema"].endswith("2020-12/schema")  # validation keeps its own dialect


def test_the_workflow_schema_of_installed_plugins_converts_too():
    schema = json.loads(invoke("schema", "workflow", "--draft", "7").stdout)
    assert {"channel_configs", "action_params"} <= set(schema["definitions"])
    jsonschema.Draft7Validator.check_schema(schema)


@pytest.mark.parametrize("which,folders", [
    ("deal", (BAD_DEALS, ROOT / "workflows" / "init" / "deals", ROOT / "workflows" / "init" / "deals-to-fix")),
    ("workflow", (ROOT / "workflows", ROOT / "workflows" / "init", ROOT / "tests" / "data" / "bad" / "workflows")),
])
def test_both_dialects_accept_and_refuse_the_same_documents(which, folders):
    original = base_schema(which)
    new = jsonschema.Draft7Validator(to_draft7(original))
    old = jsonschema.Draft202012Validator(original)
    docs = documents(*folders)
    assert len(docs) > 10
    verdicts = {name: old.is_valid(doc) for name, doc in docs}
    assert {name: new.is_valid(doc) for name, doc in docs} == verdicts
    assert True in verdicts.values() and False in verdicts.values()


def test_a_deal_schema_with_the_company_fields_converts():
    fields = {"roi": {"type": "number"}, "bant": {"type": "object", "properties": {"budget": {"type": "boolean"}}}}
    schema = to_draft7(deal_schema(fields))
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    assert validator.is_valid({"id": "A", "roi": 1.5, "bant": {"budget": True}})
    assert not validator.is_valid({"id": "A", "roi": "high"})


def test_keywords_new_in_2020_12_are_rewritten_or_left_out():
    schema = to_draft7({
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://x.example/s.json",
        "$defs": {"n": {"type": "number"}},
        "type": "object",
        "properties": {
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"$ref": "#/$defs/n"}], "items": False},
            "label": {"$ref": "#/$defs/n", "description": "beside a $ref"},
            "open": True,
        },
        "dependentRequired": {"a": ["b"]},
        "dependentSchemas": {"c": {"required": ["d"]}},
        "unevaluatedProperties": False,
    })
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["properties"]["pair"] == {"type": "array", "items": [{"type": "string"}, {"$ref": "#/definitions/n"}],
                                            "additionalItems": False}
    assert schema["properties"]["label"] == {"description": "beside a $ref", "allOf": [{"$ref": "#/definitions/n"}]}
    assert schema["dependencies"] == {"a": ["b"], "c": {"required": ["d"]}}
    assert "unevaluatedProperties" not in schema and "$id" not in schema and schema["properties"]["open"] is True
    v = jsonschema.Draft7Validator(schema)
    assert v.is_valid({"pair": ["x", 1]}) and not v.is_valid({"pair": ["x", "y"]}) and not v.is_valid({"pair": ["x", 1, 2]})
    assert not v.is_valid({"a": 1}) and not v.is_valid({"c": 1}) and v.is_valid({"a": 1, "b": 2})
