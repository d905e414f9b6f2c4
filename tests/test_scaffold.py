"""Tests for flowctl.scaffold: the overlay and example deals `flowctl init --from` writes
for a built-in without a curated example, over every built-in and odd shapes of workflow."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml

from flowctl import scaffold
from flowctl.compiled import CompiledWorkflow
from flowctl.deals import check_deal, split_deals
from flowctl.plugin_manager import Plugins
from flowctl.workflow import builtin_names, load_workflow
from flowctl.workflow_model import build
from flowctl.yamlio import parse

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module", params=builtin_names())
def builtin(request):
    workflow, diagnostics = load_workflow(f"builtin:{request.param}", Plugins(()))
    assert workflow is not None, diagnostics
    return workflow


def problems(workflow, name: str, text: str) -> list[str]:
    cw = CompiledWorkflow(workflow)
    return [f"{d.severity}: {d.message}" for doc in split_deals(yaml.safe_load(text), name) for d in check_deal(cw, doc)]


@pytest.mark.parametrize("base, name", [("builtin:seven-stage", "my-sales"), ("../shared/base.yaml", "acme-west")])
def test_the_overlay_extends_the_base(base, name):
    doc = parse(scaffold.overlay(base, name), "workflow.yaml")  # YAML 1.2, as flowctl reads it: `on` is a key
    assert (doc["flowctl"], doc["extends"], doc["name"], doc["locale"], doc["currency"]) == (1, base, name, "en", "EUR")
    assert doc["notifications"] == [{"on": "job_overdue", "channel": "console"}]


def test_example_deals_stand_in_each_open_stage_and_validate(builtin):
    files = scaffold.example_deals(builtin, TODAY)
    open_stages = builtin.stages[:-1]
    assert list(files) == [f"EX-{i + 1:03d}.yaml" for i in range(len(open_stages))] + ["EX-WON.yaml", "EX-LOST.yaml"]
    for name, text in files.items():
        assert problems(builtin, name, text) == [], (name, text)
    for i, stage in enumerate(open_stages):
        deal = yaml.safe_load(files[f"EX-{i + 1:03d}.yaml"])
        assert [h["stage"] for h in deal.get("history", [])] == ([s.id for s in builtin.stages[:i + 1]] if i else [])
        assert deal["owner"] in scaffold.OWNERS and deal["currency"] == builtin.currency
        assert dt.date.fromisoformat(deal["expected_close"]) > TODAY


def test_won_and_lost_deals_are_closed_before_today(builtin):
    files = scaffold.example_deals(builtin, TODAY)
    won, lost = yaml.safe_load(files["EX-WON.yaml"]), yaml.safe_load(files["EX-LOST.yaml"])
    assert (won["outcome"], lost["outcome"], lost["lost_reason"]) == ("won", "lost", "price")
    assert dt.date.fromisoformat(won["closed_at"]) < TODAY and dt.date.fromisoformat(lost["closed_at"]) < TODAY


def test_the_planted_mistake_is_a_job_id_typo_validate_warns_about(builtin):
    text = scaffold.planted_mistake(builtin, TODAY)
    deal = yaml.safe_load(text)
    [typo] = deal["jobs"]
    assert typo not in builtin.job_by_id
    assert any(line.startswith(f"warning: unknown job '{typo}'") for line in problems(builtin, "EX-099.yaml", text))
    assert text.startswith("# A mistake is planted here: run `flowctl validate --strict")


@pytest.mark.parametrize("job_id, typo", [("verify", "veify"), ("meet", "met"), ("abc", "abcx"), ("a", "ax")])
def test_the_typo_of_a_short_or_long_job_id(job_id, typo):
    workflow = build({"stages": [{"id": "open", "jobs": [{"id": job_id}]}, {"id": "won"}]}, "w.yaml")
    assert yaml.safe_load(scaffold.planted_mistake(workflow, TODAY))["jobs"] == {typo: TODAY}


def test_a_stage_without_required_jobs_gets_a_deal_without_jobs():
    workflow = build({"stages": [{"id": "open", "jobs": [{"id": "j", "required": False}]}, {"id": "next"},
                                 {"id": "won"}]}, "w.yaml")
    files = scaffold.example_deals(workflow, TODAY)
    assert "jobs" not in yaml.safe_load(files["EX-001.yaml"]) and "jobs" not in yaml.safe_load(files["EX-002.yaml"])


def test_a_one_stage_workflow_has_only_the_won_and_lost_examples():
    workflow = build({"stages": [{"id": "won"}]}, "w.yaml")
    assert list(scaffold.example_deals(workflow, TODAY)) == ["EX-WON.yaml", "EX-LOST.yaml"]
