"""`flowctl schema workflow|deal [--draft 7]`: the JSON Schemas, for editors."""
from __future__ import annotations

from typing import Any

import click

from ..plugin_configs import whole_metric_schema
from ..schema import base_schema, deal_schema
from ..schema_draft7 import to_draft7
from .common import Context, echo_json, handle_errors, load_workflow_or_fail, pass_context


@click.command()
@click.argument("which", type=click.Choice(["workflow", "deal"]))
@click.option("-w", "--workflow", "workflow_path", type=click.Path(dir_okay=False),
              help="With `deal`: include this workflow's own `fields`.")
@click.option("--draft", type=click.Choice(["2020-12", "7"]), default="2020-12", show_default=True,
              help="JSON Schema dialect: 7 for editors whose YAML language server reads only draft-07.")
@pass_context
@handle_errors
def schema(ctx: Context, which: str, workflow_path: str | None, draft: str) -> None:
    """Print the JSON Schema of workflow or deal files (draft 2020-12, or draft-07 for editors)."""
    fields = load_workflow_or_fail(ctx, workflow_path).fields if workflow_path and which == "deal" else {}
    echo_json(editor_schema(ctx, which, fields, draft))


def editor_schema(ctx: Context, which: str, fields: dict | None = None, draft: str = "2020-12") -> dict:
    """The schema of `which` (workflow or deal) with what installed plugins declare (or
    the workflow's own deal `fields`), in the dialect asked for."""
    document = deal_schema(fields) if which == "deal" else _workflow_schema(ctx)
    return to_draft7(document) if draft == "7" else document


def _workflow_schema(ctx: Context) -> dict[str, Any]:
    document = base_schema("workflow")
    # Channel and action configurations that installed plugins declare.
    defs = document.setdefault("$defs", {})
    channels = ctx.plugins.channel_types()
    if channels:
        defs["channel_configs"] = {name: c.config_schema for name, c in sorted(channels.items())}
        document["properties"]["channels"]["additionalProperties"] = {
            "title": "Channel", "description": document["properties"]["channels"]["additionalProperties"]["description"],
            "type": "object", "required": ["use"],
            "properties": {"use": {"enum": sorted(channels), "description": "Channel type, from a plugin."}},
            "allOf": [{"if": {"properties": {"use": {"const": name}}}, "then": c.config_schema}
                      for name, c in sorted(channels.items()) if c.config_schema],
        }
    actions = ctx.plugins.actions()
    if actions:
        defs["action_params"] = {name: a.with_schema for name, a in sorted(actions.items())}
        job = document["properties"]["stages"]["items"]["properties"]["jobs"]["items"]
        job["properties"]["uses"]["enum"] = sorted(actions)
        job["allOf"] = [{"if": {"required": ["uses"], "properties": {"uses": {"const": name}}},
                         "then": {"properties": {"with": a.with_schema}}}
                        for name, a in sorted(actions.items()) if a.with_schema]
    kinds = {name: k.config_schema for name, k in sorted(ctx.plugins.metric_kinds().items()) if k.config_schema}
    if kinds:
        defs["metric_configs"] = kinds
        metric = document["properties"]["metrics"]["items"]
        metric["allOf"] = [{"if": {"required": ["kind"], "properties": {"kind": {"const": name}}},
                            "then": whole_metric_schema(schema)} for name, schema in kinds.items()]
    methods = ctx.plugins.forecast_methods()
    if methods:
        settings = document["properties"]["forecast"]
        settings["properties"] = {name: {"title": m.label or name, "description": m.description or name,
                                         **(m.config_schema or {"type": "object"})}
                                  for name, m in sorted(methods.items())}
        settings["additionalProperties"] = False  # a method no plugin provides is an error
    return document


COMMANDS = (schema,)
