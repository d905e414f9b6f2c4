"""`flowctl run --jobs N`: the data path on N processes of one machine.

Each worker process takes the deal files whose path hashes to its number and runs the
ordinary data path with its own store connection, under the parent's run id; the
store's per-batch lock keeps concurrent writers correct. The parent journals the run,
merges the workers' results, forgets vanished files and delivers the outbox.
"""
from __future__ import annotations

import multiprocessing
from typing import Any, Callable

from .metrics import slim_from_summary
from .runner import RunResult, Runner

_JOB: dict[str, Any] = {}  # what forked workers inherit: no pickling of plugins or workflow


def _work(index: int) -> tuple[RunResult, set[str]]:
    job = _JOB
    store = job["plugins"].open_store(job["url"]) if job["url"] else None
    try:
        runner = job["make"](store, part=(index, job["n"]))
        runner.scan(job["paths"])
        return runner.result, runner.seen_ids
    finally:
        if store is not None:
            store.close()


def run_parallel(n: int, make_runner: Callable[..., Runner], parent: Runner, plugins: Any, store_url: str | None,
                 paths: list[str]) -> RunResult:
    """Run on n worker processes; returns the merged result (in the parent's runner)."""
    parent.start()
    _JOB.update(make=lambda store, part: make_runner(store, part=part, run_id=parent.run_id),
                plugins=plugins, url=store_url, n=n, paths=paths)
    try:
        with multiprocessing.get_context("fork").Pool(n) as pool:
            outcomes = pool.map(_work, range(n))
    finally:
        _JOB.clear()
    merged = parent.result
    seen: set[str] = set()
    for result, ids in outcomes:
        _merge(merged, result)
        for deal_id in ids & seen:
            merged.errors += 1
            merged.warnings.append(f"duplicate deal id '{deal_id}' in files handled by two processes")
        seen |= ids
    if parent.watch is not None and parent.store is not None:
        # The workers' metrics cannot be added up: the parent reads every deal's summary back.
        ids = sorted(seen)
        for i in range(0, len(ids), 1000):
            for record in parent.store.deals(ids[i:i + 1000]).values():
                parent.watch.add(slim_from_summary(record.summary, parent.now))
        parent.alerts()
    parent.combine_digests()
    parent.finish(paths, seen)
    return merged


def _merge(into: RunResult, result: RunResult) -> None:
    for name in ("deals", "events", "diagnostics", "actions", "notifications", "transitions", "skipped", "warnings"):
        getattr(into, name).extend(getattr(result, name))
    into.errors += result.errors
    for kind, count in result.events_by_kind.items():
        into.events_by_kind[kind] = into.events_by_kind.get(kind, 0) + count
    for key, value in result.counts.items():
        if isinstance(value, int):
            into.counts[key] = into.counts.get(key, 0) + value
    for stage, row in result.by_stage.items():
        mine = into.by_stage.setdefault(stage, {"count": 0, "amount": 0.0, "weighted": 0.0})
        for key in mine:
            mine[key] += row[key]
    into.file_digests.update(result.file_digests)
