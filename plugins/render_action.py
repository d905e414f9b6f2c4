"""`uses: render`: render a template for the deal (a proposal) into a file."""
from __future__ import annotations

import re

from flowctl.hooktypes import Action, ActionContext, ActionOutcome
from flowctl.hookspecs import hookimpl

WITH_SCHEMA = {
    "type": "object",
    "title": "render",
    "description": "Render a template for the deal into a file under .flowctl/artifacts/.",
    "properties": {
        "template": {"type": "string", "description": "Template name, e.g. proposal.html.j2."},
        "output": {"type": "string", "description": "File name (default: <deal id>-<template without .j2>)."},
        "locale": {"type": "string", "description": "Language (default: the workflow's locale)."},
    },
    "required": ["template"],
    "additionalProperties": False,
}


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "out"


def run(ctx: ActionContext) -> ActionOutcome:
    template = ctx.params["template"]
    name = _safe_name(ctx.params.get("output") or f"{ctx.state.id}-{template.removesuffix('.j2')}")
    text = ctx.render(template, locale=ctx.params.get("locale"))
    if ctx.dry_run:
        return ActionOutcome(True, {"file": str(ctx.out_dir / name), "dry_run": True})
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    target = ctx.out_dir / name
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(text, "utf-8")
    tmp.replace(target)
    return ActionOutcome(True, {"file": str(target), "bytes": len(text.encode())})


@hookimpl
def flowctl_actions() -> list[Action]:
    return [Action("render", run, WITH_SCHEMA)]
