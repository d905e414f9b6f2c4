"""`flowctl init`: scaffold a company overlay, example deals and templates."""
from __future__ import annotations

import datetime as dt
import shutil
from importlib import resources
from pathlib import Path

import click

from ..diagnostics import FlowctlError
from ..workflow import BUILTIN_PREFIX, builtin_names
from .common import Context, handle_errors, pass_context


def _copy_tree(source, target: Path) -> list[Path]:
    written = []
    for entry in source.iterdir():
        if entry.name.startswith(("__", ".")):
            continue
        dest = target / entry.name
        if entry.is_dir():
            dest.mkdir(exist_ok=True)
            written += _copy_tree(entry, dest)
        else:
            dest.write_bytes(entry.read_bytes())
            written.append(dest)
    return written


def _generated(target: Path, base: str, ctx: Context) -> list[Path]:
    """The scaffold for a built-in without a curated example: deals made from its stages."""
    from .. import scaffold
    from ..workflow import load_workflow

    written = [target / "workflow.yaml", target / "README.md"]
    written[0].write_text(scaffold.overlay(base), "utf-8")
    readme = resources.files("flowctl.workflows").joinpath("init", "README.md").read_text("utf-8")
    written[1].write_text(readme, "utf-8")
    workflow, diagnostics = load_workflow(written[0], ctx.plugins)
    if workflow is None:
        raise FlowctlError(diagnostics)
    today = dt.date.today()
    for folder, files in (("deals", scaffold.example_deals(workflow, today)),
                          ("deals-to-fix", {"EX-099.yaml": scaffold.planted_mistake(workflow, today)})):
        (target / folder).mkdir(exist_ok=True)
        for name, text in files.items():
            (target / folder / name).write_text(text, "utf-8")
            written.append(target / folder / name)
    return written


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--from", "base", default=BUILTIN_PREFIX + "six-stage", show_default=True,
              help="Built-in workflow the overlay extends.")
@click.option("--force", is_flag=True, help="Write into a folder that already has a workflow.yaml.")
@pass_context
@handle_errors
def init(ctx: Context, directory: str, base: str, force: bool) -> None:
    """Scaffold a workflow overlay, example deals and editable templates in DIRECTORY."""
    if not base.startswith(BUILTIN_PREFIX) or base[len(BUILTIN_PREFIX):] not in builtin_names():
        raise click.BadParameter(f"{base!r}: choose one of " + ", ".join(BUILTIN_PREFIX + n for n in builtin_names()),
                                 param_hint="--from")
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise click.UsageError(f"{target} is a file, not a folder")
    if (target / "workflow.yaml").exists() and not force:
        raise click.UsageError(f"{target / 'workflow.yaml'} exists already (use --force to overwrite)")
    target.mkdir(parents=True, exist_ok=True)
    if base == BUILTIN_PREFIX + "six-stage":
        written = _copy_tree(resources.files("flowctl.workflows").joinpath("init"), target)
    else:
        written = _generated(target, base, ctx)
    # The built-in templates, copied for editing: files here override the built-ins by name.
    templates = target / "templates"
    templates.mkdir(exist_ok=True)
    for folder in ctx.plugins.template_dirs():
        for entry in sorted(Path(folder).glob("*.j2")):
            dest = templates / entry.name
            if not dest.exists():
                shutil.copyfile(entry, dest)
                written.append(dest)
    click.echo(f"Created {len(written)} files in {target}/:")
    click.echo(f"  workflow.yaml   the company overlay on {base}")
    click.echo("  deals/          example deals, one file each")
    click.echo("  deals-to-fix/   a deal with a planted mistake")
    click.echo("  templates/      report and proposal templates to edit")
    click.echo(f"Next: cd {target} && flowctl validate -w workflow.yaml workflow.yaml deals/ && flowctl run")


COMMANDS = (init,)
