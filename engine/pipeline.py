"""Reading deals as a stream: find files, read, check, evaluate, one deal at a time.

Commands that only look (status, explain, metrics, forecast, report, impact) use
`evaluate_all`; `flowctl run` has its own loop (runner.py) that also skips unchanged files.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Callable, Iterable, Iterator

from .compiled import CompiledWorkflow
from .deals import DealDoc, check_deal, find_files, read_deals
from .diagnostics import Diagnostic, FlowctlError
from .asof import as_of
from .evaluate import DealState, Facts, evaluate
from .severity import errors_of, for_evaluation, warnings_of
from .severity import problem as severity_problem
from .yamlio import locate_all


@dataclasses.dataclass
class Item:
    """One deal read from a file: its state, or the diagnostics that stopped it."""

    file: str
    deal_id: str | None
    state: DealState | None
    diagnostics: list[Diagnostic]
    doc: DealDoc | None = None

    @property
    def ok(self) -> bool:
        return self.state is not None


def read_checked(cw: CompiledWorkflow, file: str) -> tuple[str | None, list[tuple[DealDoc, list[Diagnostic]]], list[Diagnostic]]:
    """(text, [(deal, its diagnostics)], file-level diagnostics) of one deal file. A deal
    with an error-level diagnostic cannot be evaluated; warnings do not stop it."""
    try:
        text, docs = read_deals(file)
    except FlowctlError as exc:
        return None, [], exc.diagnostics
    out = []
    for doc in docs:
        found = check_deal(cw, doc)
        if found:
            locate_all(found, {file: text})
            if not errors_of(found):  # evaluated without what it cannot read (severity.TABLE)
                evaluated = for_evaluation(doc.deal, found, doc.prefix)
                if evaluated is not doc.deal:
                    doc = DealDoc(doc.file, evaluated, doc.index, doc.notes, raw=doc.deal)
        out.append((doc, found))
    return text, out, []


def evaluate_all(cw: CompiledWorkflow, paths: Iterable[str], now: dt.date, *, when: dt.date | None = None,
                 facts: Callable[[str], Facts] | None = None, left_out: list[str] | None = None) -> Iterator[Item]:
    """Every deal's state on `now` (or as it stood on `when`). A deal with no dated fact
    by `when` did not exist yet: it is skipped, and its id appended to `left_out`."""
    seen: set[str] = set()
    for file in find_files(paths):
        _, docs, problems = read_checked(cw, file)
        if problems:
            yield Item(file, None, None, problems)
        for doc, found in docs:
            deal_id = str(doc.deal.get("id"))
            if errors_of(found):
                yield Item(file, deal_id, None, found, doc)
                continue
            if deal_id in seen:
                yield Item(file, deal_id, None, [duplicate_id(doc, deal_id)], doc)
                continue
            seen.add(deal_id)
            deal, day = doc.deal, now
            if when is not None:
                deal, day = as_of(deal, when), when
                if deal is None:
                    if left_out is not None:
                        left_out.append(deal_id)
                    continue
            try:
                state = evaluate(cw, deal, day, facts(deal_id) if facts else Facts(), file=file)
            except (ArithmeticError, ValueError, TypeError, LookupError, AttributeError, RecursionError) as exc:
                # A value no check foresaw: this deal's error, never the command's (issue 12).
                yield Item(file, deal_id, None, found + [cannot_evaluate(doc, exc)], doc)
                continue
            if found:
                state.warnings = warnings_of(found)
            yield Item(file, deal_id, state, found, doc)


def cannot_evaluate(doc: DealDoc, exc: BaseException) -> Diagnostic:
    return Diagnostic(doc.file, f"cannot evaluate this deal: {type(exc).__name__}: {exc}", doc.prefix + ("id",))


def duplicate_id(doc: DealDoc, deal_id: str) -> Diagnostic:
    return severity_problem(doc.file, "duplicate_id", f"duplicate deal id '{deal_id}' (another deal file has it already)",
                            doc.prefix + ("id",))
