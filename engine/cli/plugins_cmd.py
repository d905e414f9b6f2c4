"""`flowctl plugins`: installed plugins, their versions and hooks."""
from __future__ import annotations

import click

from .common import Context, echo_json, format_option, handle_errors, pass_context


@click.command()
@format_option
@pass_context
@handle_errors
def plugins(ctx: Context, fmt: str) -> None:
    """List every plugin (built-in and installed) with its version and hooks."""
    described = ctx.plugins.describe()
    problems = [{"name": p.plugin, "problem": p.message} for p in ctx.plugins.problems]
    if fmt == "json":
        echo_json({"plugins": described, "problems": problems})
        return
    for p in described:
        kind = "built-in" if p["builtin"] else "installed"
        click.echo(f"{p['name']} {p['version']} ({kind}): {', '.join(p['hooks'])}")


COMMANDS = (plugins,)
