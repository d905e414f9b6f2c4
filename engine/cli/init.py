"""`flowctl init`: scaffold a company overlay, example deals and templates."""
from __future__ import annotations

import datetime as dt
import json
import shutil
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import editor
from ..diagnostics import FlowctlError
from ..workflow import BUILTIN_PREFIX, builtin_names
from .common import Context, handle_errors, load_workflow_or_fail, pass_context, warn
from .schema import editor_schema

if TYPE_CHECKING:
    from importlib.abc import Traversable  # importlib.resources.abc from Python 3.11


def _copy_tree(source: Traversable, target: Path) -> list[Path]:
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
    readme = (resources.files("flowctl.workflows") / "init" / "README.md").read_text("utf-8")
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


def _editor_support(ctx: Context, target: Path, written: list[Path]) -> list[Path]:
    """Schemas for editors, the `$schema` line in every YAML file written, and VS Code's
    `yaml.schemas`: completion and checking while typing."""
    workflow = load_workflow_or_fail(ctx, str(target / "workflow.yaml"))
    schemas = {editor.WORKFLOW_SCHEMA: editor_schema(ctx, "workflow", draft="7"),
               editor.DEAL_SCHEMA: editor_schema(ctx, "deal", workflow.fields, draft="7")}
    (target / editor.SCHEMA_DIR).mkdir(exist_ok=True)
    made = []
    for name, document in schemas.items():
        (target / name).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
        made.append(target / name)
    for file in written:
        if file.suffix == ".yaml" and file.parent.name != "templates":
            schema = target / (editor.WORKFLOW_SCHEMA if file == target / "workflow.yaml" else editor.DEAL_SCHEMA)
            file.write_text(editor.with_modeline(file.read_text("utf-8"), file, schema), "utf-8")
    settings = target / ".vscode" / "settings.json"
    text = editor.vscode_settings(settings.read_text("utf-8") if settings.exists() else None)
    if text is None:
        warn(f"{settings} is not plain JSON: add \"yaml.schemas\" to it by hand (see docs/ecosystem.md)")
    else:
        settings.parent.mkdir(exist_ok=True)
        settings.write_text(text, "utf-8")
        made.append(settings)
    return made


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
    written += _editor_support(ctx, target, written)
    click.echo(f"Created {len(written)} files in {target}/:")
    click.echo(f"  workflow.yaml   the company overlay on {base}")
    click.echo("  deals/          example deals, one file each")
    click.echo("  deals-to-fix/   a deal with a planted mistake")
    click.echo("  templates/      report and proposal templates to edit")
    click.echo("  schemas/        draft-07 schemas for editors (.vscode/settings.json maps them)")
    click.echo(f"Next: cd {target} && flowctl validate -w workflow.yaml workflow.yaml deals/ && flowctl run")


COMMANDS = (init,)
