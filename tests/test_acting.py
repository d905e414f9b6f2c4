"""engine/acting.py: a deal's due automated jobs run, journaled, and moving it on."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from conftest import WORKFLOW
from flowctl.acting import act, idempotency_key
from flowctl.deals import DealDoc
from flowctl.evaluate import Facts, evaluate
from flowctl.hooktypes import Action, ActionOutcome
from flowctl.plugin_manager import Plugins
from flowctl.run_result import RunResult
from flowctl.run_setup import RunSetup
from flowctl.workflow import load_workflow

NOW = dt.date(2026, 1, 5)
AUTOMATED = WORKFLOW.replace("      - {id: meet, required: false}\n", "      - {id: ping, uses: ping}\n")


@pytest.mark.parametrize("deal,job,day,key", [("D1", "ping", NOW, "D1|ping|2026-01-05"),
                                              ("a|b", "j", dt.date(2026, 12, 31), "a|b|j|2026-12-31")])
def test_idempotency_key(deal, job, day, key):
    assert idempotency_key(deal, job, day) == key


class Journal:
    def __init__(self) -> None:
        self.batches: list = []

    def journal(self, batch: object) -> None:
        self.batches.append(batch)


def _run(project, outcome: ActionOutcome):
    project.workflow.write_text(AUTOMATED)
    wf = load_workflow(project.workflow)[0]
    setup = RunSetup.make(wf, str(project.workflow), Plugins(), NOW)
    setup = dataclasses.replace(setup, actions={"ping": Action("ping", lambda ctx: outcome)})
    deal = {"id": "D1", "amount": 1000, "created": dt.date(2026, 1, 1), "jobs": {"verify": dt.date(2026, 1, 2)}}
    doc = DealDoc("d.yaml", deal)
    facts, result, store = Facts(), RunResult(), Journal()
    state = evaluate(setup.cw, deal, NOW, facts, file="d.yaml")
    assert state.stage == "prospect"  # held by the automated job
    return act(setup, store, 1, doc, state, facts, result), result, store, facts  # type: ignore[arg-type]


def test_a_succeeding_action_is_journaled_and_moves_the_deal_on(project):
    (state, queued), result, store, facts = _run(project, ActionOutcome(True, {"sent": 1}))
    assert state.stage == "qualified" and queued == [] and facts.actions_ok == {"ping": NOW}
    assert result.counts["actions_ok"] == 1 and len(store.batches) == 1
    assert result.actions == [{"deal": "D1", "job": "ping", "action": "ping", "ok": True, "attempts": 1,
                               "output": {"sent": 1}, "error": None}]


def test_a_failing_action_is_the_deals_error_and_is_not_tried_again(project):
    (state, _), result, store, _ = _run(project, ActionOutcome(False, error="refused"))
    assert state.stage == "prospect" and result.counts["actions_failed"] == 1
    assert result.failed_jobs == {("D1", "ping")} and "action ping of job ping failed: refused" in state.errors
    assert [d.kind for d in result.diagnostics] == ["action_failed"] and len(store.batches) == 1
