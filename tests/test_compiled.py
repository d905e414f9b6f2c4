"""engine/compiled.py: a workflow compiled once per run: per-stage batches, single job
expressions, the values a gate reads, and the deal validator."""
from __future__ import annotations

import pytest

from conftest import WORKFLOW
from flowctl.compiled import CompiledWorkflow
from flowctl.expressions import WrongType
from flowctl.workflow import load_workflow

FIELDS = WORKFLOW.replace("  roi: {type: number}\n", "  roi: {type: number}\n  met: {type: boolean}\n  contact: {type: object}\n")
DONE_WHEN = FIELDS.replace("      - {id: meet, required: false}\n",
                             '      - {id: meet, required: false, done_when: "deal.met == true"}\n')
NESTED_GATE = FIELDS.replace('when: "deal.roi >= 1.2"', 'when: "deal.roi >= 1.2 and deal.contact.score > 2"')


def _compiled(project, text: str = WORKFLOW) -> CompiledWorkflow:
    project.workflow.write_text(text)
    wf, diagnostics = load_workflow(project.workflow)
    assert wf is not None, [d.format() for d in diagnostics]
    return CompiledWorkflow(wf)


def test_one_batch_per_stage_with_its_done_whens_then_its_gates(project):
    cw = _compiled(project, DONE_WHEN)
    assert list(cw.batches) == ["prospect", "qualified", "proposed", "closed"]
    assert cw.batches["prospect"].sources == ["deal.met == true"]
    assert cw.batches["qualified"].sources == ["deal.roi >= 1.2"]
    assert cw.batches["proposed"].sources == [] and cw.batches["proposed"].evaluate({}) == []


@pytest.mark.parametrize("deal,value", [({"met": True}, True), ({"met": False}, False), ({"met": "yes"}, False)])
def test_single_evaluates_one_jobs_done_when(project, deal, value):
    assert _compiled(project, DONE_WHEN).single("meet", {"deal": deal}).value is value


def test_single_of_a_missing_field_fails_naming_it(project):
    outcome = _compiled(project, DONE_WHEN).single("meet", {"deal": {}})
    assert outcome.value is False and "met" in (outcome.error or "")


def test_single_of_a_job_without_done_when_is_a_key_error(project):
    with pytest.raises(KeyError):
        _compiled(project).single("verify", {"deal": {}})


@pytest.mark.parametrize("deal,values", [
    ({"roi": 2, "contact": {"score": 3}}, {"deal.roi": 2, "deal.contact.score": 3}),
    ({"roi": 2}, {"deal.roi": 2, "deal.contact.score": "<missing>"}),
    ({"roi": 2, "contact": "x"}, {"deal.roi": 2, "deal.contact.score": "<missing>"}),
    ({}, {"deal.roi": "<missing>", "deal.contact.score": "<missing>"}),
    ({"roi": WrongType("roi", "high", "not a number")}, {"deal.roi": "high", "deal.contact.score": "<missing>"}),
])
def test_gate_values_show_what_the_gate_reads(project, deal, values):
    assert _compiled(project, NESTED_GATE).gate_values("roi-ok", deal) == values


def test_gate_values_of_a_gate_without_expression_are_empty(project):
    cw = _compiled(project)
    assert cw.gate_values("price-approved", {"roi": 1}) == {} and cw.gate_values("no-such-gate", {}) == {}


@pytest.mark.parametrize("roi,valid", [(1.5, True), (0, True), ("high", False), ([1], False)])
def test_the_deal_validator_knows_the_workflows_fields(project, roi, valid):
    deal = {"id": "D1", "owner": "bob@example.com", "amount": 1000, "created": "2026-01-01", "roi": roi}
    assert _compiled(project).deal_validator.is_valid(deal) is valid
