"""`flowctl board -o board.html [--as-of DATE]`: the pipeline as one self-contained page."""
from __future__ import annotations

import datetime as dt
import sys

import click

from ..board import MAX_CARDS, BoardBuilder
from ..compiled import CompiledWorkflow
from ..pipeline import evaluate_all
from ..report_templates import check_template_name, make_templates, render
from .common import (EXIT_ERRORS, EXIT_OK, Context, as_of_option, default_deals, handle_errors, load_workflow_or_fail,
                     now_option, pass_context, resolve_workflow_path, store_option, today, workflow_option)
from .inspect import _facts_from_store, state_day
from .report import _locale, _locale_option, _size, _write


@click.command()
@click.argument("deals", nargs=-1, type=click.Path())
@workflow_option
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="The HTML file to write the board to.")
@_locale_option
@click.option("--max-cards", type=click.IntRange(1, 100_000), default=MAX_CARDS, show_default=True,
              help="Cards shown per column (the biggest deals first; the others are counted).")
@click.option("--template", "template_name", default="board.html.j2", show_default=True, metavar="NAME",
              help="Render this template instead.")
@now_option
@as_of_option
@store_option
@pass_context
@handle_errors
def board(ctx: Context, deals: tuple[str, ...], workflow_path: str | None, output: str, locale: str | None,
          max_cards: int, template_name: str, now: dt.datetime | None, as_of: dt.datetime | None,
          store_url: str | None) -> None:
    """The pipeline as a board, one self-contained HTML page: a column per stage with its count
    and amount, a card per open deal, won and lost at the end.

    Each card shows the deal's name, owner, amount, days in its stage and what blocks it
    (gates that fail, required jobs not done); stuck and rotting deals are marked. The page
    filters by owner without a server (inline script; `board.html#owner=ADDRESS` opens it
    filtered). The counts and amounts are `flowctl status`'s."""
    workflow_path = resolve_workflow_path(workflow_path)
    wf = load_workflow_or_fail(ctx, workflow_path)
    loc = _locale(locale, wf)
    name = check_template_name(template_name)
    templates = make_templates(workflow_path, ctx.plugins)
    day = today(now)
    when = as_of.date() if as_of else None
    builder = BoardBuilder(wf, state_day(day, as_of), loc, templates.catalogs.words(loc), max_cards)
    errors = []
    left_out: list[str] = []  # no dated fact by --as-of: they did not exist yet
    store, facts = _facts_from_store(ctx, store_url, workflow_path)
    try:
        for item in evaluate_all(CompiledWorkflow(wf), list(deals) or default_deals(workflow_path), day, when=when,
                                 facts=facts, left_out=left_out):
            if item.state is None:
                errors.extend(item.diagnostics)
            else:
                builder.add(item.state)
    finally:
        if store is not None:
            store.close()
    context = builder.build({"now": day.isoformat(), "as_of": when.isoformat() if when else None,
                             "skipped": len({d.file for d in errors}), "template": name})
    size = _write(output, render(templates, name, context))
    for d in errors:
        click.echo(d.format(), err=True)
    click.echo(f"wrote {output} ({_size(size)}): {context['open']['count']} open deal(s) in "
               f"{sum(c['kind'] == 'stage' for c in context['columns'])} stage(s) as of {context['meta']['day']}, "
               f"locale {loc}" + (f"; {len(left_out)} deal(s) left out (no dated fact by then)" if left_out else ""))
    sys.exit(EXIT_ERRORS if errors else EXIT_OK)


COMMANDS = (board,)
