"""A metric kind's own settings, checked against the JSON Schema its plugin declares
(`MetricKind.config_schema`), by `validate` and every command that loads a workflow, and
offered to editors by `flowctl schema workflow`. Built-in kinds declare theirs the same way."""
from __future__ import annotations

from typing import Any

from .diagnostics import Diagnostic
from .extends import where
from .schema import SchemaValidator

# What every metric takes, whatever its kind: the core reads these, the kind's schema
# need not (and cannot refuse them).
CORE_KEYS = ("id", "kind", "where", "group_by", "target", "title", "remove")


def whole_metric_schema(config_schema: dict) -> dict:
    """A kind's config schema, also accepting the keys every metric takes."""
    if not isinstance(config_schema.get("properties", {}), dict):
        return config_schema
    return {**config_schema, "properties": {**{key: True for key in CORE_KEYS}, **config_schema.get("properties", {})}}


def metric_config_problems(metrics: list[Any], schemas: dict[str, dict]) -> list[Diagnostic]:
    """Each metric whose kind declares a schema, checked against it; a problem is placed at
    the key it is about, in the file (base or overlay) that set that key."""
    validators: dict[str, SchemaValidator] = {}
    out: list[Diagnostic] = []
    for metric in metrics:
        if not isinstance(metric, dict) or not schemas.get(metric.get("kind")):  # type: ignore[arg-type]
            continue
        kind = metric["kind"]
        validator = validators.get(kind) or validators.setdefault(kind, SchemaValidator(whole_metric_schema(schemas[kind])))
        config = {k: v for k, v in metric.items() if not k.startswith("__")}
        file, base = where(metric)
        for d in validator.diagnostics(config, file, base):
            key = d.path[len(base)] if len(d.path) > len(base) else None
            if isinstance(key, str) and key in metric.get("__fields__", {}):
                d.file, at = metric["__fields__"][key]
                d.path = at + d.path[len(base) + 1:]
            out.append(d)
    return out
