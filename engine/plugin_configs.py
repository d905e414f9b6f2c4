"""What plugins declare about their settings in a workflow, checked: a metric kind's keys in
a metric (`MetricKind.config_schema`) and a forecast method's settings under `forecast:`
(`ForecastMethod.config_schema`), by `validate` and every command that loads a workflow.
`flowctl schema workflow` offers editors the same schemas. Built-ins declare theirs the
same way."""
from __future__ import annotations

from typing import Any

from .diagnostics import Diagnostic, did_you_mean
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


def plugin_config_problems(merged: dict, registry: Any) -> list[Diagnostic]:
    kinds = {n: k.config_schema for n, k in registry.metric_kinds().items() if k.config_schema}
    return [*metric_config_problems(merged.get("metrics") or [], kinds),
            *forecast_config_problems(merged, registry.forecast_methods())]


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


def method_options(workflow: Any, name: str, given: dict, defaults: dict | None = None) -> dict:
    """A forecast method's options, the same in every command (`forecast`, `report`, their
    backtests): the command's own defaults, under the workflow's settings for the method
    (`forecast: {NAME: ...}`), under what the command line gave."""
    settings = (workflow.document.get("forecast") or {}).get(name) or {}
    return {**(defaults or {}), **settings, **given}


def forecast_config_problems(merged: dict, methods: dict[str, Any]) -> list[Diagnostic]:
    """`forecast: {METHOD: settings}`: each method must exist, and its settings match the
    schema it declares."""
    settings = merged.get("forecast")
    if not isinstance(settings, dict):
        return []
    file, base = merged.get("__top__", {}).get("forecast", ("?", ("forecast",)))
    out: list[Diagnostic] = []
    for name, config in settings.items():
        method = methods.get(name)
        if method is None:
            out.append(Diagnostic(file, f"no forecast method '{name}' (available: {', '.join(sorted(methods))})"
                                        f"{did_you_mean(str(name), methods)}", base + (name,)))
            out[-1].at_key = True  # type: ignore[attr-defined]
        elif method.config_schema:
            out.extend(SchemaValidator(method.config_schema).diagnostics(config, file, base + (name,)))
    return out
