"""Where a deal stands (SPEC section 2), checked on the pure evaluation function."""
from __future__ import annotations

import datetime as dt

import pytest

from conftest import WORKFLOW
from flowctl.compiled import CompiledWorkflow
from flowctl.evaluate import Facts, as_of, evaluate
from flowctl.workflow import load_workflow
from flowctl.yamlio import parse

NOW = dt.date(2026, 3, 1)


@pytest.fixture(scope="module")
def cw(tmp_path_factory):
    path = tmp_path_factory.mktemp("wf") / "workflow.yaml"
    path.write_text(WORKFLOW)
    wf, diagnostics = load_workflow(path)
    assert wf is not None, [d.format() for d in diagnostics]
    return CompiledWorkflow(wf)


def state(cw, text: str, now: dt.date = NOW, facts: Facts | None = None):
    deal = parse("id: D1\namount: 1000\ncreated: 2026-01-01\n" + text, "d.yaml")
    return evaluate(cw, deal, now, facts or Facts())


def test_new_deal_stands_in_first_stage_entered_when_created(cw):
    s = state(cw, "")
    assert (s.stage, s.outcome, s.entered_at) == ("prospect", "open", dt.date(2026, 1, 1))
    assert s.jobs_by_status()["overdue"] == ["verify"]  # due 7d after 2026-01-01


def test_optional_job_does_not_hold_a_deal(cw):
    s = state(cw, "jobs: {verify: 2026-01-05}\n")
    assert s.stage == "qualified"
    assert s.entered_at == dt.date(2026, 1, 5)  # the date of the previous stage's last required job


def test_gate_with_missing_field_fails_with_the_field_named(cw):
    s = state(cw, "jobs: {verify: 2026-01-05, agenda: 2026-01-06}\n")
    gate = s.current_gates[0]
    assert (s.stage, gate.id, gate.ok, gate.missing) == ("qualified", "roi-ok", False, "roi")
    assert "missing field 'roi'" in gate.message


def test_gate_sees_values_and_holds(cw):
    s = state(cw, "roi: 1.5\njobs: {verify: 2026-01-05, agenda: 2026-01-06}\n")
    assert s.stage == "proposed"
    failing = [g for g in s.gates if g.id == "roi-ok"][0]
    assert failing.ok and failing.values == {"deal.roi": 1.5}


def test_approval_by_wrong_role_does_not_open_the_gate(cw):
    base = "roi: 2\njobs: {verify: 2026-01-05, agenda: 2026-01-06}\n"
    s = state(cw, base + "approvals: {price-approved: {by: x, role: sales, at: 2026-02-01}}\n")
    assert s.stage == "proposed"
    s = state(cw, base + "approvals: {price-approved: {by: x, role: management, at: 2026-02-01}}\n")
    assert (s.stage, s.outcome, s.closed_at) == ("closed", "won", dt.date(2026, 2, 1))


def test_won_deal_owes_terminal_jobs_which_never_change_the_outcome(cw):
    s = state(cw, "roi: 2\njobs: {verify: 2026-01-05, agenda: 2026-01-06}\n"
                  "approvals: {price-approved: {by: x, role: management, at: 2026-01-10}}\n")
    assert s.outcome == "won"
    assert s.jobs_by_status()["overdue"] == ["deliver"]  # 30d after the win on 2026-01-10


def test_outcome_won_waives_what_was_skipped_and_lists_it(cw):
    s = state(cw, "outcome: won\nclosed_at: 2026-02-02\n")
    assert (s.stage, s.outcome, s.closed_at) == ("closed", "won", dt.date(2026, 2, 2))
    assert s.waived == ["job verify", "job agenda", "gate roi-ok", "gate price-approved"]


def test_lost_deal_closes_where_it_stood(cw):
    s = state(cw, "outcome: lost\nclosed_at: 2026-01-20\njobs: {verify: 2026-01-05}\n")
    assert (s.stage, s.outcome, s.probability, s.forecast_category) == ("qualified", "lost", 0.0, "omitted")
    assert s.jobs_by_status()["overdue"] == []  # a lost deal owes no more work


def test_history_sets_a_floor_and_waives_the_passed_stages(cw):
    s = state(cw, "history: [{stage: prospect, at: 2026-01-01}, {stage: proposed, at: 2026-02-10}]\n")
    assert (s.stage, s.entered_at, s.entered_from) == ("proposed", dt.date(2026, 2, 10), "history")
    assert "job verify" in s.waived and "gate roi-ok" in s.waived


def test_stage_claim_not_supported_lists_missing_jobs_and_gates(cw):
    s = state(cw, "stage: proposed\njobs: {verify: 2026-01-05}\n")
    assert s.claim == {"stage": "proposed", "supported": False, "derived": "qualified",
                       "missing_jobs": ["agenda"], "failing_gates": ["roi-ok"]}


def test_deal_overrides_probability_and_category(cw):
    s = state(cw, "probability: 0.9\nforecast_category: commit\n")
    assert (s.probability, s.forecast_category, s.weighted_amount) == (0.9, "commit", 900.0)


def test_stuck_and_rotting(cw):
    s = state(cw, "activities: [{at: 2026-01-03, kind: call}]\n", now=dt.date(2026, 1, 12))
    assert s.stuck and s.rotting  # 11 days in a stage of max 10; no activity for 9 > 5 days
    s = state(cw, "activities: [{at: 2026-01-10, kind: call}]\n", now=dt.date(2026, 1, 9))
    assert not s.stuck and not s.rotting


def test_first_seen_dates_a_stage_without_dated_facts(cw):
    facts = Facts(first_seen={"qualified": dt.date(2026, 2, 1)})
    s = state(cw, "jobs: {verify: true}\n", facts=facts)
    assert (s.stage, s.entered_at, s.entered_from) == ("qualified", dt.date(2026, 2, 1), "first_seen")


def test_automated_job_done_by_recorded_action(cw):
    s = state(cw, "jobs: {verify: 2026-01-05}\nroi: 2\n", facts=Facts(actions_ok={"agenda": dt.date(2026, 1, 9)}))
    assert s.stage == "proposed" and s.entered_at == dt.date(2026, 1, 9)


def test_as_of_keeps_only_facts_dated_up_to_the_date(cw):
    deal = parse("id: D1\ncreated: 2026-01-01\noutcome: won\nclosed_at: 2026-02-20\n"
                 "jobs: {verify: 2026-01-05, agenda: 2026-02-01}\n", "d.yaml")
    past = as_of(deal, dt.date(2026, 1, 20))
    assert past["jobs"] == {"verify": "2026-01-05"} and past["outcome"] == "open"
    assert evaluate(cw, past, dt.date(2026, 1, 20)).stage == "qualified"
    assert as_of(deal, dt.date(2025, 12, 31)) is None  # not created yet


def test_evaluation_is_deterministic(cw):
    text = "roi: 1.3\njobs: {verify: 2026-01-05, agenda: 2026-01-06}\n"
    assert state(cw, text) == state(cw, text)


def test_next_deadline_is_the_earliest_future_reason_to_look_again(cw):
    s = state(cw, "activities: [{at: 2026-01-02}]\n", now=dt.date(2026, 1, 3))
    # verify is due 2026-01-08 (overdue from the 9th), rot after 5 days without activity (the 8th)
    assert s.next_deadline == dt.date(2026, 1, 8)


# --------------------------------------------------------------------------- passed stages' dates, optional jobs


def test_a_won_deal_passes_its_undated_stages_on_its_close_date_and_never_grows(cw):
    """outcome: won waives what it skipped; the stages passed that way take the close date
    (no days in them), so time in stage is the same in December and in March."""
    deal = {"id": "W", "amount": 1000, "created": "2025-08-01", "outcome": "won", "closed_at": "2025-09-15"}
    december = evaluate(cw, deal, dt.date(2025, 12, 1))
    march = evaluate(cw, deal, dt.date(2026, 3, 1))
    assert december.stage_entries == march.stage_entries
    assert december.stage_entries == {"prospect": dt.date(2025, 8, 1), "qualified": dt.date(2025, 9, 15),
                                      "proposed": dt.date(2025, 9, 15), "closed": dt.date(2025, 9, 15)}
    assert december.closed_at == dt.date(2025, 9, 15)


def test_a_stage_passed_by_history_takes_the_date_of_the_next_stage_that_has_one(cw):
    s = state(cw, "history: [{stage: proposed, at: 2026-02-01}]\n")
    assert s.stage == "proposed"
    assert s.stage_entries["qualified"] == dt.date(2026, 2, 1)
    assert s.stage_entries["prospect"] == dt.date(2026, 1, 1)
    dates = [s.stage_entries[st.id] for st in cw.workflow.stages if st.id in s.stage_entries]
    assert dates == sorted(dates)  # never a date after a later stage's


def test_an_entry_date_is_never_after_the_next_stage_s(cw):
    # prospect's own jobs say 2026-02-10, history says qualified was entered 2026-02-01
    s = state(cw, "jobs: {verify: 2026-02-10}\nhistory: [{stage: qualified, at: 2026-02-01}]\n")
    assert s.stage == "qualified"
    assert s.stage_entries["prospect"] <= s.stage_entries["qualified"]


OPTIONAL = """\
flowctl: 1
name: optional
stages:
  - id: a
    jobs:
      - {id: must, due: 3d}
      - {id: nice, required: false, due: 2d}
      - {id: whenever, required: false}
  - id: b
    jobs: [{id: next, due: 30d}]
  - id: won
    terminal: true
"""


@pytest.fixture(scope="module")
def optional_cw(tmp_path_factory):
    path = tmp_path_factory.mktemp("wf") / "workflow.yaml"
    path.write_text(OPTIONAL)
    wf, diagnostics = load_workflow(path)
    assert wf is not None, [d.format() for d in diagnostics]
    return CompiledWorkflow(wf)


def test_an_optional_job_is_overdue_only_with_its_own_due(optional_cw):
    s = state(optional_cw, "", dt.date(2026, 1, 20))
    by_status = s.jobs_by_status()
    assert by_status["overdue"] == ["must", "nice"]
    assert "whenever" in by_status["pending"]


def test_an_optional_job_is_no_longer_pending_once_the_deal_left_its_stage(optional_cw):
    s = state(optional_cw, "jobs: {must: 2026-01-02}\n", dt.date(2026, 1, 20))
    assert s.stage == "b"
    by_status = s.jobs_by_status()
    assert by_status["skipped"] == ["nice", "whenever"]
    assert "nice" not in by_status["pending"] + by_status["overdue"]
