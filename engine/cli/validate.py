"""`flowctl validate`: check workflow and deal files, report every problem."""
from __future__ import annotations

import os
import sys

import click
import yaml

from ..annotations import github_annotations
from ..compiled import CompiledWorkflow
from ..deals import check_deal, find_files, split_deals
from ..diagnostics import Diagnostic, FlowctlError, has_errors
from ..severity import problem as severity_problem
from ..workflow import load_workflow, looks_like_workflow, merged_document
from ..yaml_positions import locate_all
from ..yamlio import parse, read_text
from .common import (DEFAULT_WORKFLOW, EXIT_USAGE, Context, diagnostics_json, echo_json, echo_result, formats_option,
                     handle_errors, pass_context)


@click.command()
@click.argument("files", nargs=-1, type=click.Path())
@click.option("-w", "--workflow", "workflow_path", type=click.Path(dir_okay=False),
              help="Workflow whose schema deal files are checked against.")
@click.option("--show-merged", is_flag=True, help="Print the workflow merged with everything it extends.")
@click.option("--strict", is_flag=True, help="Exit 2 on warnings too (for CI).")
@formats_option("github")
@pass_context
@handle_errors
def validate(ctx: Context, files: tuple[str, ...], workflow_path: str | None, show_merged: bool, strict: bool,
             fmt: str) -> None:
    """Check workflow and deal files (told apart by content); every problem as
    FILE:LINE:COL: SEVERITY: MESSAGE [JSON path]. Exit 2 on errors; with only warnings
    (what the workflow does not know about a deal) exit 0, or 2 with --strict.

    --format github prints GitHub Actions annotations (::error file=F,line=L,col=C::message)."""
    if show_merged:
        path = workflow_path or (files[0] if files else DEFAULT_WORKFLOW)
        document = merged_document(path)
        if fmt == "json":
            echo_json(document)
        else:
            click.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100), nl=False)
        return
    if not files and workflow_path is None:
        raise click.UsageError("give the files to check (workflows and deals), e.g. flowctl validate -w workflow.yaml deals/")
    diagnostics: list[Diagnostic] = []
    workflow = None
    if workflow_path is not None:
        workflow, found = load_workflow(workflow_path, ctx.plugins)
        diagnostics.extend(found)
    deal_docs = []
    seen_ids: dict[str, str] = {}
    checked = {os.path.normpath(workflow_path)} if workflow_path else set()
    for file in find_files(files):
        if os.path.normpath(file) in checked:
            continue
        checked.add(os.path.normpath(file))
        try:
            text = read_text(file)
            notes: list[Diagnostic] = []
            doc = parse(text, file, notes)
        except FlowctlError as exc:
            diagnostics.extend(exc.diagnostics)
            continue
        if looks_like_workflow(doc):
            wf, found = load_workflow(file, ctx.plugins)
            diagnostics.extend(found)
            if workflow is None and workflow_path is None:
                workflow = wf
            continue
        try:
            deal_docs.append((text, split_deals(doc, file, notes, text)))
        except FlowctlError as exc:
            locate_all(exc.diagnostics, {file: text})
            diagnostics.extend(exc.diagnostics)
    if deal_docs and workflow is None and workflow_path is None and os.path.isfile(DEFAULT_WORKFLOW):
        workflow, found = load_workflow(DEFAULT_WORKFLOW, ctx.plugins)
        diagnostics.extend(d for d in found if d.severity == "error")
    if deal_docs:
        if workflow is None:
            if workflow_path is None:
                diagnostics.append(Diagnostic("-", "deal files need a workflow to be checked against: give -w WORKFLOW", severity="error"))
        else:
            cw = CompiledWorkflow(workflow)
            for text, docs in deal_docs:
                found = []
                for doc in docs:
                    found.extend(check_deal(cw, doc))
                    deal_id = str(doc.deal.get("id"))
                    if "id" in doc.deal:
                        where = f"{doc.file}" + (f" deals[{doc.index}]" if doc.index is not None else "")
                        if deal_id in seen_ids:
                            found.append(severity_problem(doc.file, "duplicate_id", f"duplicate deal id '{deal_id}' (also in {seen_ids[deal_id]})",
                                                          doc.prefix + ("id",)))
                        else:
                            seen_ids[deal_id] = where
                locate_all(found, {docs[0].file: text})
                diagnostics.extend(found)
    # A base validated beside its overlays is read once per workflow: report each problem once.
    diagnostics = sorted({(d.file, d.line, d.column, d.severity, d.message): d for d in diagnostics}.values(),
                         key=lambda d: d.sort_key())
    if fmt == "json":
        echo_result(diagnostics_json(diagnostics))
    else:
        for line in github_annotations(diagnostics) if fmt == "github" else (d.format() for d in diagnostics):
            click.echo(line)
        errors = sum(d.severity == "error" for d in diagnostics)
        warnings = len(diagnostics) - errors
        if errors or warnings:
            click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)
        else:
            click.echo(f"ok: {len(checked)} file(s) valid", err=True)
    if has_errors(diagnostics) or (strict and diagnostics):
        sys.exit(EXIT_USAGE)


COMMANDS = (validate,)
