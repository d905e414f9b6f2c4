"""`uses: render`: render a template for the deal (a proposal) into a file."""
from __future__ import annotations

from pathlib import PurePosixPath

from flowctl.atomic import write_atomic
from flowctl.filenames import safe_file_name
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


def run(ctx: ActionContext) -> ActionOutcome:
    template = ctx.params["template"]
    # Each deal its own file: ids that differ only in characters a file name cannot hold
    # (`A/B`, `A:B`, `A_B`) get distinct names, and no id reaches outside out_dir; nor does
    # a template in a subfolder of templates/ (`emails/offer.html.j2`).
    part = safe_file_name("-".join(PurePosixPath(template.removesuffix(".j2")).parts))  # emails-offer.html
    name = ctx.params.get("output") or f"{safe_file_name(str(ctx.state.id))}-{part}"
    name = safe_file_name(name) if ctx.params.get("output") else name
    text = ctx.render(template, locale=ctx.params.get("locale"))
    if ctx.dry_run:
        return ActionOutcome(True, {"file": str(ctx.out_dir / name), "dry_run": True})
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    target = ctx.out_dir / name
    size = write_atomic(target, text)
    return ActionOutcome(True, {"file": str(target), "bytes": size})


@hookimpl
def flowctl_actions() -> list[Action]:
    return [Action("render", run, WITH_SCHEMA)]
