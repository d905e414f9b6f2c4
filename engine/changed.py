"""`flowctl run`, reading: the deal files of this run's share, the unchanged ones (same
size, mtime and workflow as the manifest says, no deadline passed) told apart without
being read, the changed ones read and checked by the one reader (`flowctl.pipeline`), in
batches of at most BATCH_SIZE deals. The manifest is looked up BATCH_SIZE files at a
time, so memory does not grow with their number.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Iterable, Iterator

from .deals import DealDoc
from .diagnostics import Diagnostic
from .slim_state import slim_from_summary
from .pipeline import admit, read_checked
from .run_result import RunResult
from .run_setup import BATCH_SIZE, RunSetup
from .severity import errors_of, warnings_of
from .store import FileEntry, Store
from .summary import error_summary


@dataclasses.dataclass
class Changed:
    """Deals to evaluate (each with its warnings), and their files' manifest rows."""

    deals: list[tuple[DealDoc, list[Diagnostic]]]
    files: list[FileEntry]


@dataclasses.dataclass
class Unchanged:
    """Files unchanged since the last run: their deals' last state stands."""

    files: list[FileEntry]


def changed_deals(setup: RunSetup, store: Store, files: Iterable[str], result: RunResult) -> Iterator[Changed | Unchanged]:
    """The batches of this run's share of `files`. Deals and files that cannot be read
    go into `result` as errors here and are not in any batch."""
    chunk = Changed([], [])
    unchanged: list[FileEntry] = []
    pending: list[str] = []
    for file in files:
        if not setup.my_file(file):
            continue  # another process's file (--jobs)
        pending.append(file)
        if len(pending) >= BATCH_SIZE:
            yield from _look_up(setup, store, pending, chunk, unchanged, result)
            pending = []
    yield from _look_up(setup, store, pending, chunk, unchanged, result)
    if chunk.deals or chunk.files:
        yield chunk
    if unchanged:
        yield Unchanged(unchanged)


def _look_up(setup: RunSetup, store: Store, files: list[str], chunk: Changed, unchanged: list[FileEntry],
             result: RunResult) -> Iterator[Changed | Unchanged]:
    """The files of one manifest look-up: full batches are yielded (and emptied) as they fill."""
    if not files:
        return
    manifest = store.files(files)
    for file in files:
        entry = manifest.get(file)
        if setup.shard is not None and entry is not None and not any(setup.mine(i) for i in entry.deal_ids):
            continue  # another machine's deals (known from the last run)
        try:
            st = os.stat(file)
        except OSError as exc:
            _file_error(result, Diagnostic(file, f"cannot read: {exc.strerror}"))
            continue
        if setup.unchanged(entry, st):
            assert entry is not None
            unchanged.append(entry)
            if len(unchanged) >= BATCH_SIZE:
                yield Unchanged(unchanged[:])
                unchanged.clear()
            continue
        _read(setup, file, st, chunk, result)
        if len(chunk.deals) >= BATCH_SIZE:
            yield Changed(chunk.deals[:], chunk.files[:])
            chunk.deals.clear()
            chunk.files.clear()


def _read(setup: RunSetup, file: str, st: os.stat_result, chunk: Changed, result: RunResult) -> None:
    text, docs, problems = read_checked(setup.cw, file)
    if text is not None and setup.file_digests:
        result.file_digests[file] = hashlib.sha256(text.encode()).hexdigest()
    for p in problems:
        _file_error(result, p)
    ok = not problems
    ids = []
    for doc, found in docs:
        deal_id = str(doc.deal.get("id"))
        ids.append(deal_id)
        if not setup.mine(deal_id):
            continue
        item = admit(file, doc, found, result.seen)
        if item.failed:
            ok = False
            _deal_error(result, file, deal_id, item.diagnostics)
            continue
        result.diagnostics.extend(found)
        chunk.deals.append((doc, found))
    if all(setup.mine(i) for i in ids):  # a file with other shards' deals is theirs to record too
        chunk.files.append(FileEntry(file, st.st_size, st.st_mtime_ns, ids, setup.wf.digest, None, ok))


def carry_unchanged(setup: RunSetup, store: Store, run_id: int, files: list[FileEntry], result: RunResult) -> None:
    """Deals of unchanged files: their last state is carried into this run's snapshot by
    the store, without reading or decoding them here."""
    ids = [i for e in files for i in e.deal_ids if setup.mine(i)]
    result.seen.update((i, e.path) for e in files for i in e.deal_ids if setup.mine(i))
    rows = store.carry_forward(run_id, ids)
    store.mark_seen(run_id, [e.path for e in files])
    result.counts["deals"] += len(rows)
    result.counts["unchanged"] += len(rows)
    for row in rows:
        result.totals.add(row.stage, row.outcome, row.amount, row.amount * row.probability if row.outcome == "open" else 0.0)
    if result.keep_deals or setup.watch is not None:
        records = store.deals([r.deal_id for r in rows]).values()
        if result.keep_deals:
            result.deals.extend(r.summary for r in records)
        if setup.watch is not None:
            for record in records:
                setup.watch.add(slim_from_summary(record.summary, setup.wf, setup.now))


def _file_error(result: RunResult, diagnostic: Diagnostic) -> None:
    result.diagnostics.append(diagnostic)
    if result.keep_deals:
        result.deals.append(error_summary(None, diagnostic.file, [diagnostic.format()]))


def _deal_error(result: RunResult, file: str, deal_id: str, found: list[Diagnostic]) -> None:
    result.diagnostics.extend(found)
    if result.keep_deals:
        result.deals.append(error_summary(deal_id, file, [d.format() for d in errors_of(found)], warnings_of(found)))
