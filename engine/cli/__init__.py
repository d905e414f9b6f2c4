"""The `flowctl` command line: a thin layer over the engine.

Commands load lazily: `flowctl --version` and `flowctl --help` import no command module
(and so neither jsonschema, Jinja2 nor Babel); `flowctl run` imports only `run`'s.

Shell completion (click): add to ~/.bashrc
    eval "$(_FLOWCTL_COMPLETE=bash_source flowctl)"
(zsh: zsh_source, fish: fish_source).
"""
from __future__ import annotations

import importlib

import click
from click.utils import make_default_short_help

from .. import __version__

# command -> (module of engine/cli defining it, the first paragraph of its help, which
# `flowctl --help` lists without importing the module; tests/test_cli.py keeps both true)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("validate", "Check workflow and deal files (told apart by content); every problem as "
                             "FILE:LINE:COL: SEVERITY: MESSAGE [JSON path]."),
    "schema": ("schema", "Print the JSON Schema of workflow or deal files (draft 2020-12, or draft-07 for editors)."),
    "init": ("init", "Scaffold a workflow overlay, example deals and editable templates in DIRECTORY."),
    "run": ("run", "Evaluate every deal, run automated jobs, notify, and record history."),
    "status": ("inspect", "The pipeline by stage (count, amount, weighted amount) and the deals that need attention."),
    "explain": ("inspect", "Why DEAL (an id or a file) is where it is: each job, each gate with the values it saw."),
    "board": ("board", "The pipeline as a board, one self-contained HTML page: a column per stage with its count "
                       "and amount, a card per open deal, won and lost at the end."),
    "done": ("record", "Record that JOB of DEAL is done, in the deal file (every other byte kept)."),
    "approve": ("record", "Record an approval of GATE for DEAL by ROLE, in the deal file (every other byte kept)."),
    "impact": ("impact", "What changing the workflow from --against to -w would do to today's deals: who moves, "
                         "who gets blocked and by which gate or job, and the weighted pipeline."),
    "runs": ("runs", "The run journal, newest first: when each run started and ended, its status (ok, failed, "
                     "crashed, running), deals, events, errors, messages sent, failed and dead."),
    "plugins": ("plugins_cmd", "List every plugin (built-in and installed) with its version and hooks."),
    "metrics": ("analytics", "Pipeline metrics: win rate, conversion, sales cycle, time in stage, weighted pipeline, "
                             "stuck and rotting deals, bottleneck, backlog ratio, quotas, and the workflow's declared "
                             "`metrics:` (with where, group_by and target)."),
    "forecast": ("forecast", "Revenue won within a horizon: `existing` (deals open on the date) + `new` (deals "
                              "not created yet), with P10/P50/P90."),
    "backlog": ("analytics", "Backlog (won orders not completed), backlog ratio (backlog / total sales) and the "
                             "week-by-week projection of the backlog from recent intake against --capacity."),
    "import": ("analytics", "Deal files from a CRM export: one YAML file per CSV row, as the map says."),
    "report": ("report", "The pipeline report as one self-contained file: funnel, conversion, time in stage, "
                         "bottleneck, forecast by month with P10-P90 bands, quota per owner, backlog projection, "
                         "biggest, stuck and rotting deals, metric alerts."),
    "propose": ("report", "The proposal for DEAL (an id or a file), from the same templates and context as the "
                          "`render` action: account, amount in its currency, what is included, owner, validity."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when one is run (or completed), not before."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"{__name__}.{COMMANDS[name][0]}")
        return next(c for c in module.COMMANDS if c.name == name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        with formatter.section("Commands"):
            formatter.write_dl([(name, make_default_short_help(COMMANDS[name][1], limit)) for name in sorted(COMMANDS)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="flowctl")
@click.option("--plugin", "extra_plugins", multiple=True, metavar="MODULE",
              help="Load a local, uninstalled plugin module for this command (repeatable).")
@click.pass_context
def main(ctx: click.Context, extra_plugins: tuple[str, ...]) -> None:
    """flowctl: your sales process as YAML in git, validated like code, run over one small file per deal."""
    from .common import Context
    ctx.obj = Context(extra_plugins)
