"""flowctl.run_result: what a run did; its errors counted from its diagnostics."""
from __future__ import annotations

import datetime as dt

from flowctl.diagnostics import Diagnostic
from flowctl.notify import DIGEST_PART, UNRENDERED
from flowctl.run_result import KEPT, RunResult
from flowctl.store import Event, OutboxItem

DAY = dt.date(2026, 1, 2)


def test_errors_are_the_error_diagnostics_of_every_kind():
    result = RunResult()
    result.diagnostics += [Diagnostic("a.yaml", "no id"), Diagnostic("a.yaml", "unknown key", severity="warning"),
                           Diagnostic("b.yaml", "action failed", kind="action_failed"), Diagnostic("plugin x", "boom")]
    assert result.errors == 3 and result.summary(False)["errors"] == 3
    other = RunResult()
    other.diagnostics.append(Diagnostic("c.yaml", "duplicate id"))
    result.merge(other)
    assert result.errors == 4


def test_events_and_claims_beyond_the_kept_are_counted_not_kept():
    few, every = RunResult(keep_deals=False), RunResult(keep_deals=True)
    for i in range(KEPT + 5):
        event = Event(f"k{i}", "stage_entered", f"D{i}", "a", DAY)
        for result in (few, every):
            result.event(event)
            result.claim(f"D{i}", "stage: b")
    assert len(few.events) == len(few.claims) == KEPT and few.events_by_kind == {"stage_entered": KEPT + 5}
    assert len(every.events) == len(every.claims) == KEPT + 5


def test_queued_counts_messages_warns_for_unrendered_and_leaves_digest_parts_to_their_digest():
    result = RunResult()
    items = [OutboxItem("k1", "email", "a@x", "s", "b", {}),
             OutboxItem("k2", "email", "a@x", "s", "b", {}, status=DIGEST_PART),
             OutboxItem("k3", "email", None, "", "", {"events": [{"deal": "D3"}]}, status=UNRENDERED,
                        last_error="no owner")]
    result.queued(items)
    assert result.counts["notifications_queued"] == 1 and [n["key"] for n in result.notifications] == ["k1"]
    assert result.warnings == ["notification not queued for D3: no owner"]


def test_summary_keys_stay_those_the_journal_and_json_show():
    summary = RunResult().summary(True)
    assert set(summary) >= {"dry_run", "deals", "errors", "by_stage", "events", "unchanged", "actions_ok",
                            "actions_failed", "notifications_queued", "sent", "delivery_failed", "warnings"}
