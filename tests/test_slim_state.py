"""A deal's figures as aggregations keep them: one definition shared with DealState, and
the same figures whether the deal was just evaluated or read back from the store."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from conftest import WORKFLOW
from flowctl.compiled import CompiledWorkflow
from flowctl.evaluate import DealState, Facts, evaluate
from flowctl.slim_state import SlimState, slim, slim_from_summary
from flowctl.summary import state_summary
from flowctl.workflow import load_workflow
from flowctl.yamlio import parse

NOW = dt.date(2026, 3, 1)
SHARED = [f.name for f in dataclasses.fields(SlimState)]

# A deal of each kind: open in each stage, stuck and rotting or not, won by its facts or by its outcome, lost.
DEALS = {
    "new": "",
    "stuck, touched lately": "activities: [{at: 2026-02-28, kind: call}]\n",
    "qualified": "jobs: {verify: 2026-01-05}\nregion: north\n",
    "proposed": "roi: 2\njobs: {verify: 2026-01-05, agenda: 2026-01-06}\n",
    "won by its facts": "roi: 2\njobs: {verify: 2026-01-05, agenda: 2026-01-06}\n"
                        "approvals: {price-approved: {by: m, role: management, at: 2026-02-01}}\n",
    "won by its outcome": "outcome: won\nclosed_at: 2026-02-10\n",
    "lost": "outcome: lost\nclosed_at: 2026-02-11\nprobability: 0.9\n",
    "history and a claim": "stage: proposed\nhistory: [{stage: qualified, at: 2026-01-20}]\n"
                           "expected_close: 2026-04-01\n",
}


@pytest.fixture(scope="module")
def cw(tmp_path_factory: pytest.TempPathFactory) -> CompiledWorkflow:
    path = tmp_path_factory.mktemp("wf") / "workflow.yaml"
    path.write_text(WORKFLOW)
    wf, diagnostics = load_workflow(path)
    assert wf is not None, [d.format() for d in diagnostics]
    return CompiledWorkflow(wf)


def evaluated(cw: CompiledWorkflow, body: str) -> DealState:
    deal = parse("id: D1\namount: 1000\ncreated: 2026-01-01\nowner: bob\n" + body, "d.yaml")
    return evaluate(cw, deal, NOW, Facts(), file="d.yaml")


def test_a_deal_state_is_a_slim_state_whose_fields_come_first_in_the_same_order() -> None:
    assert issubclass(DealState, SlimState)
    assert [f.name for f in dataclasses.fields(DealState)][:len(SHARED)] == SHARED


@pytest.mark.parametrize("body", DEALS.values(), ids=DEALS.keys())
def test_slim_keeps_the_shared_figures_and_only_the_fields_asked_for(cw: CompiledWorkflow, body: str) -> None:
    state = evaluated(cw, body)
    kept = slim(state, ("region", "amount", "absent"))
    assert type(kept) is SlimState
    assert [getattr(kept, n) for n in SHARED if n != "deal"] == [getattr(state, n) for n in SHARED if n != "deal"]
    assert kept.deal == {k: state.deal[k] for k in ("region", "amount") if k in state.deal}
    assert kept.weighted_amount == state.weighted_amount
    assert kept.stage_entries is not state.stage_entries  # the slim copy outlives the state unchanged
    assert slim(kept, ()) is kept


@pytest.mark.parametrize("body", DEALS.values(), ids=DEALS.keys())
def test_a_deal_read_back_from_its_summary_has_the_figures_its_evaluation_gave(cw: CompiledWorkflow, body: str) -> None:
    state = evaluated(cw, body)
    back = slim_from_summary(state_summary(state), cw.workflow, NOW)
    assert [getattr(back, n) for n in SHARED if n != "deal"] == [getattr(state, n) for n in SHARED if n != "deal"]
    assert back.deal == {k: v for k, v in state.deal.items() if isinstance(v, (str, int, float, bool, type(None)))}


D1, D2, D3 = dt.date(2026, 1, 5), dt.date(2026, 2, 1), dt.date(2026, 3, 9)


@pytest.mark.parametrize("created,entries,started", [
    (D2, {"a": D1, "b": D3}, D2),  # created wins, even after a stage entry
    (None, {"a": D3, "b": D1}, D1),  # else the first entry, whatever the order
    (None, {"a": D2}, D2),
    (None, {}, None),  # undated
])
def test_a_deal_started_when_created_else_at_its_first_stage_entry(created, entries, started):
    s = SlimState("D", "a", 0, "open", 1.0, 0.5, "pipeline", None, created, None, None, None, 0, False, False,
                  entries, {})
    assert s.started == started
