"""The run journal: every run starts `running` and ends `ok`, `failed` (it finished with
errors, or stopped on one), or `crashed` (its process died: found by a later run)."""
from __future__ import annotations

import datetime as dt

from .liveness import claimer_alive
from .store import Store

# A run of another host cannot be checked by pid: it counts as crashed this long after it
# started (no run takes a day; one that does is marked crashed and still records its work).
RUN_LEASE = dt.timedelta(hours=24)


def close_dead_runs(store: Store, now: dt.datetime | None = None) -> list[int]:
    """Mark `crashed` the runs still `running` whose process is gone; returns their ids."""
    closed = []
    for run in store.runs(("running",)):
        if seems_dead(run, now):
            store.finish_run(run["id"], "crashed", run.get("summary") or {})
            closed.append(run["id"])
    return closed


def seems_dead(run: dict, now: dt.datetime | None = None) -> bool:
    """A `running` run whose process is gone (on this host, by its pid), or (another
    host's, where the pid tells nothing) older than the lease."""
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        started = dt.datetime.fromisoformat(run["started"])
    except (TypeError, ValueError):
        return False
    if started.tzinfo is None:
        started = started.replace(tzinfo=dt.timezone.utc)
    alive = claimer_alive(run.get("claimed_by"))
    return not alive if alive is not None else now - started > RUN_LEASE


def run_row(run: dict) -> dict:
    """One run as `flowctl runs --format json` shows it."""
    summary = run.get("summary") or {}
    events = summary.get("events")
    return {"id": run["id"], "started_at": run["started"], "finished_at": run.get("finished"),
            "status": run["status"], "now": run["now"].isoformat() if run.get("now") else None,
            "workflow": run.get("workflow"), "deals": summary.get("deals"),
            "events": sum(events.values()) if isinstance(events, dict) else events,
            "errors": summary.get("errors"), "sent": summary.get("sent"),
            "failed": summary.get("delivery_failed"), "dead": summary.get("dead"),
            **({"error": summary["error"]} if summary.get("error") else {})}
