"""The `flowctl` command line: a thin layer over the engine.

Shell completion (click): add to ~/.bashrc
    eval "$(_FLOWCTL_COMPLETE=bash_source flowctl)"
(zsh: zsh_source, fish: fish_source).
"""
from __future__ import annotations

import click

from .. import __version__
from .common import Context

COMMAND_MODULES = ("validate", "schema", "init", "run", "inspect", "record", "impact", "plugins_cmd", "analytics", "report")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="flowctl")
@click.option("--plugin", "extra_plugins", multiple=True, metavar="MODULE",
              help="Load a local, uninstalled plugin module for this command (repeatable).")
@click.pass_context
def main(ctx: click.Context, extra_plugins: tuple[str, ...]) -> None:
    """flowctl: your sales process as YAML in git, validated like code, run over one small file per deal."""
    ctx.obj = Context(extra_plugins)


def _register() -> None:
    import importlib
    for name in COMMAND_MODULES:
        for command in importlib.import_module(f"{__name__}.{name}").COMMANDS:
            main.add_command(command)


_register()
