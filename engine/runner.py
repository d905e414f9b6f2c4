"""`flowctl run`: the data path, top to bottom (docs/architecture.md tells it with the
module of each step).

journal start -> read and check the changed deals -> per batch: evaluate, act, diff with
the store, queue notifications, record -> alerts -> digests -> forget vanished files ->
deliver -> journal end -> `run_finished`.

A dry run is this same path with `flowctl.dry_run`'s effects: a store that keeps the
writes as the plan, actions listed, the outbox listed. `--jobs N` maps the per-batch
steps over N processes (`flowctl.parallel`) and goes on with the same tail.
"""
from __future__ import annotations

import contextlib
import gc
import os
from typing import Callable, Iterable, Iterator

from .batch_step import record_batch
from .changed import Changed, carry_unchanged, changed_deals
from .deals import find_files
from .diagnostics import Diagnostic
from .journal import close_dead_runs
from .liveness import process_tag
from .metrics import metric_alerts
from .notify import DIGEST_PART, DIGESTED
from .parallel import record_in_parallel
from .run_result import RunResult
from .run_setup import RunSetup
from .store import Batch, Store

Progress = Callable[[list[str]], Iterable[str]]


def run(setup: RunSetup, store: Store | None, paths: list[str], result: RunResult, *,
        progress: Progress | None = None, jobs: int = 1, store_url: str | None = None) -> RunResult:
    """One whole run; the journal ends `ok` or `failed`, never stays `running`."""
    store = setup.effects.store(store)
    close_dead_runs(store)
    run_id = store.start_run(setup.now, setup.wf.path, setup.wf.digest, [], claimer=process_tag())
    try:
        if jobs > 1:
            record_in_parallel(record_deals, setup, store, run_id, paths, result, jobs, store_url)
        else:
            files: Iterable[str] = find_files(paths)
            record_deals(setup, store, run_id, progress(list(files)) if progress else files, result)
        raise_alerts(setup, store, run_id, result)
        combine_digests(setup, store, run_id, result)
        if setup.shard is None:
            forget_vanished(store, run_id, paths, set(result.seen))
        deliver(setup, store, result)
        plugin_failures(setup, result)
        summary = result.summary(setup.effects.dry_run)
        store.finish_run(run_id, "failed" if result.errors else "ok", summary)
        setup.effects.announce(setup.plugins, summary, result.events)
        plugin_failures(setup, result)
    except BaseException as exc:
        with contextlib.suppress(Exception):
            store.finish_run(run_id, "failed", {"error": str(exc) or type(exc).__name__})
        raise
    return result


def record_deals(setup: RunSetup, store: Store, run_id: int, files: Iterable[str], result: RunResult) -> RunResult:
    """Read the changed deals of these files and record them, batch by batch; carry the
    unchanged ones forward. This is what each process does with --jobs."""
    with _fewer_collections():
        for batch in changed_deals(setup, store, files, result):
            if isinstance(batch, Changed):
                record_batch(setup, store, run_id, batch.deals, batch.files, result)
            else:
                carry_unchanged(setup, store, run_id, batch.files, result)
    plugin_failures(setup, result)
    return result


def raise_alerts(setup: RunSetup, store: Store, run_id: int, result: RunResult) -> None:
    """metric_alert events (once a day each) for declared metrics off their target."""
    if setup.watch is None:
        return
    events = metric_alerts(setup.watch.results(), setup.now)
    known = store.known_events(e.key for e in events) if events else set()
    events = [e for e in events if e.key not in known]
    if not events:
        return
    batch = Batch(run_id, events=events)
    for event in events:
        result.event(event)
        batch.outbox.extend(setup.notifier.items_for(event, None, setup.now))
    result.queued(batch.outbox)
    store.write(batch)


def combine_digests(setup: RunSetup, store: Store, run_id: int, result: RunResult) -> None:
    """Combine the waiting digest parts (this run's, and any a crashed run left) into
    one message per recipient, and mark the parts, in one transaction."""
    if not any(r.get("digest") for r in setup.wf.notifications):
        return
    with store.exclusive():
        parts = store.outbox((DIGEST_PART,))
        items = setup.notifier.digests(parts, setup.now)
        store.write(Batch(run_id, outbox=items))
        for part in parts:
            store.mark_outbox(part.key, DIGESTED)
    result.queued(items)


def forget_vanished(store: Store, run_id: int, paths: list[str], seen: set[str]) -> None:
    """Files the store knew under the folders of this run that this run did not see,
    and that are not there any more: forget them, and the deals no file holds."""
    roots = [os.path.join(p, "") if os.path.isdir(p) else p for p in paths]
    gone = [e for e in store.unseen_files(run_id, roots) if not os.path.isfile(e.path)]
    if gone:
        store.forget([e.path for e in gone], [i for e in gone for i in e.deal_ids if i not in seen])


def deliver(setup: RunSetup, store: Store, result: RunResult) -> None:
    """The outbox through each channel (dead messages first made waiting again with --retry-dead)."""
    if setup.retry_dead:
        result.counts["revived"] = store.requeue_dead()
    report = setup.effects.deliver(store, setup.wf, setup.plugins.channel_types())
    result.counts.update(sent=report.sent, delivery_failed=len(report.failed), dead=report.dead,
                         channels=dict(sorted(report.by_channel.items())))
    for failure in report.failed:
        result.warnings.append(f"notification not delivered (kept in the outbox for the next run): {failure}")


def plugin_failures(setup: RunSetup, result: RunResult) -> None:
    """A plugin's failure met so far is an error of the run, named by its plugin."""
    for failure in setup.plugins.take_failures():
        result.diagnostics.append(Diagnostic(failure.plugin, str(failure)))


@contextlib.contextmanager
def _fewer_collections(threshold: int = 10_000) -> Iterator[None]:
    """A run makes millions of short-lived objects, nearly all freed by reference
    counting; with the default threshold (700) the cyclic collector would walk them, and
    everything loaded before the run, over and over (about a tenth of a cold run)."""
    old = gc.get_threshold()
    gc.freeze()  # workflow, plugins, modules: live for the whole run, not worth walking
    gc.set_threshold(max(threshold, old[0]), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()

