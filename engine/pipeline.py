"""Reading deals as a stream: find files, read, check, evaluate, one deal at a time.

The one reader: `read_checked` reads and checks a file, `admit` decides whether each of
its deals can be evaluated (no error, an id not met before), and `safely` is the net that
turns an exception no check foresaw into that deal's error. Commands that only look
(status, explain, metrics, forecast, report, board, impact) use `evaluate_all`;
`flowctl run` uses the same three in its own loop (`flowctl.changed`, `flowctl.batch_step`),
which also skips unchanged files.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Callable, Iterable, Iterator, TypeVar

from .compiled import CompiledWorkflow
from .deals import DealDoc, check_deal, find_files, read_deals
from .diagnostics import Diagnostic, FlowctlError
from .asof import as_of
from .evaluate import DealState, Facts, evaluate
from .severity import errors_of, for_evaluation, warnings_of
from .severity import problem as severity_problem
from .store import StoreError
from .yaml_positions import locate_all

T = TypeVar("T")


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

    @property
    def failed(self) -> bool:
        """An error among its diagnostics: the deal cannot be evaluated."""
        return bool(errors_of(self.diagnostics))


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


def admit(file: str, doc: DealDoc, found: list[Diagnostic], seen: dict[str, str]) -> Item:
    """A checked deal as an Item to evaluate, or `failed` with what stops it: its own
    errors, or an id another deal of this reading had already (`seen`: id -> file)."""
    deal_id = str(doc.deal.get("id"))
    if errors_of(found):
        return Item(file, deal_id, None, found, doc)
    if deal_id in seen:
        return Item(file, deal_id, None, [duplicate_id(doc, deal_id)], doc)
    seen[deal_id] = file
    return Item(file, deal_id, None, found, doc)


def safely(doc: DealDoc, step: Callable[[], T]) -> T | Diagnostic:
    """`step()`, or, when it fails in a way no check foresaw, a diagnostic: that deal's
    error, never the command's (issue 12). A store that fails, or input found invalid for
    every deal (a template that does not parse: exit 2), fails the command."""
    try:
        return step()
    except (StoreError, FlowctlError):
        raise
    except Exception as exc:
        return cannot_evaluate(doc, exc)


def evaluate_all(cw: CompiledWorkflow, paths: Iterable[str], now: dt.date, *, when: dt.date | None = None,
                 facts: Callable[[str], Facts] | None = None, left_out: list[str] | None = None) -> Iterator[Item]:
    """Every deal's state on `now` (or as it stood on `when`). A deal with no dated fact
    by `when` did not exist yet: it is skipped, and its id appended to `left_out`."""
    seen: dict[str, str] = {}
    for file in find_files(paths):
        _, docs, problems = read_checked(cw, file)
        if problems:
            yield Item(file, None, None, problems)
        for doc, found in docs:
            item = admit(file, doc, found, seen)
            if item.failed:
                yield item
                continue
            deal, day = doc.deal, now
            if when is not None:
                past = as_of(deal, when)
                if past is None:
                    if left_out is not None:
                        left_out.append(str(item.deal_id))
                    continue
                deal, day = past, when
            got = safely(doc, lambda: evaluate(cw, deal, day, facts(str(item.deal_id)) if facts else Facts(), file=file))
            if isinstance(got, Diagnostic):
                yield Item(file, item.deal_id, None, found + [got], doc)
                continue
            if found:
                got.warnings = warnings_of(found)
            item.state = got
            yield item


def cannot_evaluate(doc: DealDoc, exc: BaseException) -> Diagnostic:
    return Diagnostic(doc.file, f"cannot evaluate this deal: {type(exc).__name__}: {exc}", doc.prefix + ("id",))


def duplicate_id(doc: DealDoc, deal_id: str) -> Diagnostic:
    return severity_problem(doc.file, "duplicate_id", f"duplicate deal id '{deal_id}' (another deal file has it already)",
                            doc.prefix + ("id",))
