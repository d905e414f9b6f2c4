"""`flowctl done` and `flowctl approve`: record work in the deal file, byte-preserving."""
from __future__ import annotations

import datetime as dt
import getpass
import os
from typing import Any, Callable

import click

from ..dealedit import AlreadyRecorded, DealEditError, record_approval, record_job_done
from ..deals import find_files, read_deals
from ..diagnostics import Diagnostic, FlowctlError, did_you_mean
from ..model import Workflow
from .common import Context, default_deals, handle_errors, load_workflow_or_fail, pass_context, resolve_workflow_path


def locate_deal(deal: str, paths: list[str]) -> tuple[str, str]:
    """(file, deal id) of DEAL, given as an id or as a file with one deal."""
    if os.path.isfile(deal):
        _, docs = read_deals(deal)
        if len(docs) != 1:
            raise click.UsageError(f"{deal} holds {len(docs)} deals: name the deal by its id")
        return deal, str(docs[0].deal.get("id"))
    ids = []
    unreadable: list[Diagnostic] = []
    for file in find_files(paths):
        try:
            _, docs = read_deals(file)
        except FlowctlError as exc:
            unreadable.extend(exc.diagnostics)  # the deal may be in it: say why it could not be read
            continue
        for doc in docs:
            if str(doc.deal.get("id")) == deal:
                return file, deal
            ids.append(str(doc.deal.get("id")))
    if unreadable:
        raise FlowctlError(unreadable + [Diagnostic(deal, f"no deal with id '{deal}' in the files that could be read"
                                                        f"{did_you_mean(deal, ids)}")])
    raise FlowctlError(Diagnostic(deal, f"no deal with id '{deal}' in {', '.join(paths)}{did_you_mean(deal, ids)}"))


def refuse_what_run_refuses(wf: Workflow, file: str, deal_id: str) -> None:
    """`done` and `approve` edit only deals that `run` accepts: the same loader and the
    same checks, so an edit never lands in a file whose deal run would not record."""
    from ..compiled import CompiledWorkflow
    from ..pipeline import read_checked

    _, docs, problems = read_checked(CompiledWorkflow(wf), file)
    found = problems + [d for doc, diags in docs if str(doc.deal.get("id")) == deal_id for d in diags]
    errors = [d for d in found if d.severity == "error"]
    if errors:
        raise FlowctlError([Diagnostic(d.file, f"run refuses this deal, so nothing was recorded: {d.message}", d.path,
                                       line=d.line, column=d.column) for d in errors])


def _date(value: dt.datetime | None) -> dt.date:
    return value.date() if value else dt.date.today()


def _edit(fn: Callable[..., bool], *args: Any, **kwargs: Any) -> bool:
    try:
        return fn(*args, **kwargs)
    except AlreadyRecorded:
        return False
    except DealEditError as exc:
        raise FlowctlError(Diagnostic(str(args[0]), str(exc)))


@click.command()
@click.argument("deal")
@click.argument("job")
@click.option("-w", "--workflow", "workflow_path", type=click.Path(dir_okay=False), help="Workflow file.")
@click.option("--deals", "deal_paths", multiple=True, type=click.Path(), help="Where to look for the deal (default deals/).")
@click.option("--at", type=click.DateTime(formats=["%Y-%m-%d"]), help="When it was done (default today).")
@click.option("--by", help="Who did it.")
@click.option("--note", help="A note to keep with it.")
@pass_context
@handle_errors
def done(ctx: Context, deal: str, job: str, workflow_path: str | None, deal_paths: tuple[str, ...],
         at: dt.datetime | None, by: str | None, note: str | None) -> None:
    """Record that JOB of DEAL is done, in the deal file (every other byte kept)."""
    workflow_path = resolve_workflow_path(workflow_path)
    wf = load_workflow_or_fail(ctx, workflow_path)
    if job not in wf.job_by_id:
        raise click.BadParameter(f"no job '{job}' in {workflow_path}{did_you_mean(job, wf.job_by_id)}", param_hint="JOB")
    file, deal_id = locate_deal(deal, list(deal_paths) or ([] if os.path.isfile(deal) else default_deals(workflow_path)))
    refuse_what_run_refuses(wf, file, deal_id)
    if _edit(record_job_done, file, deal_id, job, at=_date(at), by=by, note=note):
        click.echo(f"{file}: recorded {job} done on {_date(at)}" + (f" by {by}" if by else ""))
    else:
        click.echo(f"{file}: {job} was already recorded; nothing changed")


@click.command()
@click.argument("deal")
@click.argument("gate")
@click.option("--role", required=True, help="The role approving (must be the gate's `approval:` role).")
@click.option("--by", default=None, help="Who approves (default: the current user).")
@click.option("-w", "--workflow", "workflow_path", type=click.Path(dir_okay=False), help="Workflow file.")
@click.option("--deals", "deal_paths", multiple=True, type=click.Path(), help="Where to look for the deal (default deals/).")
@click.option("--at", type=click.DateTime(formats=["%Y-%m-%d"]), help="When it was approved (default today).")
@pass_context
@handle_errors
def approve(ctx: Context, deal: str, gate: str, role: str, by: str | None, workflow_path: str | None,
            deal_paths: tuple[str, ...], at: dt.datetime | None) -> None:
    """Record an approval of GATE for DEAL by ROLE, in the deal file (every other byte kept)."""
    workflow_path = resolve_workflow_path(workflow_path)
    wf = load_workflow_or_fail(ctx, workflow_path)
    g = wf.gate_by_id.get(gate)
    if g is None:
        raise click.BadParameter(f"no gate '{gate}' in {workflow_path}{did_you_mean(gate, wf.gate_by_id)}", param_hint="GATE")
    if g.approval is None:
        raise click.BadParameter(f"gate '{gate}' takes no approval (it has no `approval:` role)", param_hint="GATE")
    if role != g.approval:
        raise click.BadParameter(f"gate '{gate}' needs an approval by '{g.approval}', not '{role}'", param_hint="--role")
    who = by or os.environ.get("FLOWCTL_USER") or getpass.getuser()
    file, deal_id = locate_deal(deal, list(deal_paths) or ([] if os.path.isfile(deal) else default_deals(workflow_path)))
    refuse_what_run_refuses(wf, file, deal_id)
    if _edit(record_approval, file, deal_id, gate, role=role, by=who, at=_date(at)):
        click.echo(f"{file}: recorded approval of {gate} by {who} ({role}) on {_date(at)}")
    else:
        click.echo(f"{file}: {gate} was already approved by {role}; nothing changed")


COMMANDS = (done, approve)
