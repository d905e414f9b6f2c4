"""`flowctl run --jobs N`: the run's per-batch steps mapped over N processes of one machine.

Each worker process takes the deal files whose path hashes to its number and records
them (`runner.record_deals`) with its own store connection, under the parent's run id;
the store's per-batch lock keeps concurrent writers correct. The parent merges the
results and goes on with the run's own tail (alerts, digests, forgetting, delivery).
"""
from __future__ import annotations

import dataclasses
import multiprocessing
from typing import Any, Callable, Iterable

from .deals import find_files
from .diagnostics import Diagnostic
from .slim_state import slim_from_summary
from .run_result import RunResult
from .run_setup import RunSetup
from .store import Store

Record = Callable[[RunSetup, Store, int, Iterable[str], RunResult], RunResult]  # runner.record_deals
_JOB: dict[str, Any] = {}  # what forked workers inherit: no pickling of plugins or workflow


def _work(index: int) -> RunResult:
    job = _JOB
    setup: RunSetup = dataclasses.replace(job["setup"], part=(index, job["n"]))
    store = setup.plugins.open_store(job["url"])
    try:
        return job["record"](setup, store, job["run_id"], find_files(job["paths"]), RunResult(keep_deals=job["keep"]))
    finally:
        store.close()


def record_in_parallel(record: Record, setup: RunSetup, store: Store, run_id: int, paths: list[str],
                       result: RunResult, n: int, store_url: str | None) -> None:
    """`record` every deal of `paths` on n worker processes, their results merged into `result`."""
    _JOB.update(record=record, setup=setup, url=store_url, n=n, paths=paths, run_id=run_id, keep=result.keep_deals)
    try:
        with multiprocessing.get_context("fork").Pool(n) as pool:
            outcomes = pool.map(_work, range(n))
    finally:
        _JOB.clear()
    for part in outcomes:
        result.merge(part)
        for deal_id in part.seen.keys() & result.seen.keys():
            result.diagnostics.append(Diagnostic(part.seen[deal_id], f"duplicate deal id '{deal_id}' in files "
                                                 "handled by two processes", ("id",)))
        result.seen.update(part.seen)
    if setup.watch is not None:
        # The workers' metrics cannot be added up: the parent reads every deal's summary back.
        ids = sorted(result.seen)
        for i in range(0, len(ids), 1000):
            for stored in store.deals(ids[i:i + 1000]).values():
                setup.watch.add(slim_from_summary(stored.summary, setup.wf, setup.now))
