"""`flowctl runs`: the run journal."""
from __future__ import annotations

import click

from ..journal import run_row, seems_dead
from .common import (Context, echo_result, format_option, handle_errors, open_store, pass_context,
                     resolve_workflow_path, store_option, workflow_option)


@click.command()
@workflow_option
@store_option
@click.option("-n", "--last", "last", type=click.IntRange(1), default=None, help="Only the last N runs.")
@format_option
@pass_context
@handle_errors
def runs(ctx: Context, workflow_path: str | None, store_url: str | None, last: int | None, fmt: str) -> None:
    """The run journal, newest first: when each run started and ended, its status (ok, failed,
    crashed, running), deals, events, errors, messages sent, failed and dead."""
    workflow_path = workflow_path or (resolve_workflow_path(None) if store_url is None else "")
    store = open_store(ctx, store_url, workflow_path, must_exist=True)
    journal = []
    if store is not None:
        try:
            journal = store.runs()
        finally:
            store.close()
    journal = journal[:last] if last else journal
    rows = [run_row(r) for r in journal]
    for row, run in zip(rows, journal):
        if row["status"] == "running" and seems_dead(run):  # the next run will record it so
            row["status"] = "crashed"
    if fmt == "json":
        echo_result({"runs": rows})
        return
    if not rows:
        click.echo("no runs recorded yet")
        return
    click.echo(f"{'id':>5}  {'started (UTC)':25}  {'finished (UTC)':25}  {'status':8}  {'deals':>6}  {'events':>6}  "
               f"{'errors':>6}  {'sent':>5}  {'failed':>6}  {'dead':>4}")
    for row in rows:
        click.echo(f"{row['id']:>5}  {row['started_at'] or '':25}  {row['finished_at'] or '-':25}  {row['status']:8}  "
                   + "  ".join(f"{'-' if row[k] is None else row[k]:>{w}}" for k, w in
                               (("deals", 6), ("events", 6), ("errors", 6), ("sent", 5), ("failed", 6), ("dead", 4))))


COMMANDS = (runs,)
