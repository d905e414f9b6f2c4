"""engine/impact.py: what a workflow change would do to today's deals."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from conftest import WORKFLOW
from flowctl.impact import compare, holding
from flowctl.workflow import load_workflow

DAY = dt.date(2026, 1, 10)
GATE = '    gates:\n      - {id: roi-ok, when: "deal.roi >= 1.2", message: ROI too low}\n'
AGENDA = "      - {id: agenda, due: 3d, owner: alice@example.com}\n"
MEET = "      - {id: meet, required: false}\n"


@pytest.fixture
def deals(project):
    project.deal("Q", "jobs: {verify: 2026-01-02}\nroi: 1.0\n")  # qualified, agenda to do
    project.deal("A", "jobs: {verify: 2026-01-02, agenda: 2026-01-03}\nroi: 1.0\n")  # held by the roi gate
    project.deal("W", "outcome: won\nclosed_at: 2026-01-05\nroi: 2\njobs: {verify: 2026-01-02, agenda: 2026-01-03}\n")
    project.deal("L", "outcome: lost\nclosed_at: 2026-01-05\n")
    return project


def _compare(project, new_text: str) -> tuple[dict, list]:
    new_file = project.root / "new.yaml"
    new_file.write_text(new_text)
    old, new = load_workflow(project.workflow)[0], load_workflow(new_file)[0]
    assert old is not None and new is not None
    return compare(old, new, [str(project.deals)], DAY)


def test_the_same_workflow_changes_nothing(deals):
    result, errors = _compare(deals, WORKFLOW)
    assert errors == []
    assert (result["moved"], result["blocked"], result["outcomes"], result["warnings"], result["deals"]) == ([],) * 5
    assert result["unchanged"] == 4
    assert result["weighted_pipeline"] == {"old": 600.0, "new": 600.0, "change": 0.0}  # Q and A: 1000 x 0.3


def test_a_removed_gate_moves_the_deal_it_held_forward(deals):
    result, _ = _compare(deals, WORKFLOW.replace(GATE, ""))
    assert result["moved"] == [{"deal": "A", "from": "qualified", "to": "proposed", "direction": "forward",
                                "outcome": {"from": "open", "to": "open"}}]
    assert [d["changes"] for d in result["deals"]] == [["moves qualified -> proposed (forward)"]]
    assert result["unchanged"] == 3 and result["weighted_pipeline"]["change"] == 300.0


def test_a_new_required_job_newly_blocks_the_deals_in_its_stage(deals):
    result, _ = _compare(deals, WORKFLOW.replace(AGENDA, AGENDA + "      - {id: call}\n"))
    assert sorted(b["deal"] for b in result["blocked"]) == ["A", "Q"]
    assert all(b["stage"] == "qualified" and b["by"] == [{"job": "call", "status": "pending"}] for b in result["blocked"])
    assert {d["deal"]: d["changes"] for d in result["deals"]} == {
        "A": ["newly blocked in qualified by job call"], "Q": ["newly blocked in qualified by job call"]}
    assert result["moved"] == [] and result["unchanged"] == 4


def test_a_new_gate_moves_a_deal_back_and_what_holds_it_is_said(deals):
    gate = '    gates:\n      - {id: budget, when: "deal.amount > 5000", message: Too small}\n'
    result, _ = _compare(deals, WORKFLOW.replace(MEET, MEET + gate))
    moved = {m["deal"]: m for m in result["moved"]}
    assert set(moved) == {"Q", "A"} and all(m["direction"] == "backward" and m["to"] == "prospect"
                                             for m in moved.values())
    assert result["blocked"] == [{"deal": d, "stage": "prospect", "by": [{"gate": "budget", "message": "Too small"}]}
                                 for d in ("A", "Q")]
    assert {d["deal"]: d["changes"] for d in result["deals"]}["A"] == [
        "moves qualified -> prospect (backward)", "newly blocked in prospect by gate budget (Too small)"]


def test_a_job_the_new_workflow_removed_is_a_gained_warning(deals):
    deals.deal("M", "jobs: {meet: 2026-01-02}\n")
    result, _ = _compare(deals, WORKFLOW.replace(MEET, ""))
    warned = {w["deal"]: w for w in result["warnings"]}
    assert set(warned) == {"M"} and warned["M"]["lost"] == [] and len(warned["M"]["gained"]) == 1
    assert "meet" in warned["M"]["gained"][0]
    changes = {d["deal"]: d["changes"] for d in result["deals"]}["M"]
    assert changes == [f"gains a warning: {warned['M']['gained'][0]}"]


def test_a_deal_that_cannot_be_read_is_an_error_not_a_change(deals):
    (deals.deals / "broken.yaml").write_text("id: B\namount: [1\n")
    result, errors = _compare(deals, WORKFLOW)
    assert errors and all(e.severity == "error" for e in errors)
    assert result["unchanged"] == 4 and "B" not in {d["deal"] for d in result["deals"]}


def _job(job_id: str, status: str, required: bool = True) -> SimpleNamespace:
    return SimpleNamespace(id=job_id, status=status, required=required)


@pytest.mark.parametrize("jobs,gates,expected", [
    ([], [], []),
    ([_job("a", "pending"), _job("b", "overdue")], [],
     [{"job": "a", "status": "pending"}, {"job": "b", "status": "overdue"}]),
    ([_job("a", "done"), _job("b", "waived"), _job("c", "skipped"), _job("d", "pending", required=False)], [], []),
    ([], [SimpleNamespace(id="g", ok=False, message="no"), SimpleNamespace(id="h", ok=True, message=None)],
     [{"gate": "g", "message": "no"}]),
])
def test_holding(jobs, gates, expected):
    assert holding(SimpleNamespace(current_jobs=jobs, current_gates=gates)) == expected  # type: ignore[arg-type]
