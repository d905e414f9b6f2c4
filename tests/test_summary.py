"""engine/summary.py: the JSON form of a deal's state, of a deal that could not be evaluated,
and an unsupported stage claim in words."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from flowctl.compiled import CompiledWorkflow
from flowctl.evaluate import evaluate
from flowctl.summary import claim_text, error_summary, state_summary
from flowctl.workflow import load_workflow

NOW = dt.date(2026, 1, 20)
KEYS = {"id", "file", "stage", "outcome", "entered_at", "jobs", "gates", "errors", "warnings", "name", "account",
        "owner", "amount", "currency", "probability", "weighted_amount", "forecast_category", "days_in_stage",
        "stuck", "rotting", "last_touched", "created", "closed_at", "expected_close", "stage_entries", "waived",
        "claim", "next_deadline", "fields"}


@pytest.fixture
def cw(project):
    return CompiledWorkflow(load_workflow(project.workflow)[0])


def _state(cw, **deal):
    return evaluate(cw, {"id": "D1", "amount": 1000, "created": dt.date(2026, 1, 1), **deal}, NOW, file="d.yaml")


@pytest.mark.parametrize("deal", [
    {},
    {"jobs": {"verify": dt.date(2026, 1, 2)}, "roi": 1.0, "name": "Big", "account": "ACME", "currency": "USD"},
    {"outcome": "lost", "closed_at": dt.date(2026, 1, 3)},
])
def test_the_summary_has_every_key_and_is_json(cw, deal):
    state = _state(cw, **deal)
    summary = state_summary(state)
    assert set(summary) == KEYS
    assert json.loads(json.dumps(summary)) == summary  # dates are ISO text
    assert (summary["id"], summary["file"], summary["stage"]) == ("D1", "d.yaml", state.stage)
    assert summary["entered_at"] == state.entered_at.isoformat() and summary["created"] == "2026-01-01"
    assert set(summary["jobs"]) == {"done", "pending", "overdue", "waived", "skipped"}
    for key in ("name", "account", "currency"):
        assert summary[key] == deal.get(key)


def test_the_summary_of_a_fresh_deal(cw):
    summary = state_summary(_state(cw))
    assert summary["jobs"]["overdue"] == ["verify"] and summary["closed_at"] is None
    assert summary["stage_entries"] == {"prospect": "2026-01-01"} and summary["errors"] == []


def test_given_errors_replace_the_states_own(cw):
    state = _state(cw)
    assert state_summary(state, ["bad"])["errors"] == ["bad"]
    assert state_summary(state, [])["errors"] == list(state.errors)


def test_gates_are_listed_with_their_result(cw):
    summary = state_summary(_state(cw, jobs={"verify": dt.date(2026, 1, 2)}, roi=1.0))
    assert summary["gates"] == [{"id": "roi-ok", "ok": False, "message": "ROI too low"}]


def test_fields_keep_only_top_level_scalars(cw):
    summary = state_summary(_state(cw, product="X", seats=3, ratio=0.5, vip=True, note=None,
                                   tags=["a"], contact={"name": "x"}))
    fields = summary["fields"]
    assert {k: fields[k] for k in ("product", "seats", "ratio", "vip", "note")} == \
        {"product": "X", "seats": 3, "ratio": 0.5, "vip": True, "note": None}
    assert "tags" not in fields and "contact" not in fields and "created" not in fields  # a date is not a scalar


@pytest.mark.parametrize("warnings,expected", [(None, []), (["w"], ["w"])])
def test_error_summary(warnings, expected):
    summary = error_summary("D9", "bad.yaml", ["cannot parse"], warnings)
    assert summary == {"id": "D9", "file": "bad.yaml", "stage": None, "outcome": None, "entered_at": None,
                       "jobs": {"done": [], "pending": [], "overdue": []}, "gates": [], "errors": ["cannot parse"],
                       "warnings": expected, "evaluated": False}
    assert error_summary(None, "x.yaml", [])["id"] is None


@pytest.mark.parametrize("claim,text", [
    (None, None), ({}, None),
    ({"stage": "proposed", "derived": "prospect", "supported": True}, None),
    ({"stage": "proposed", "derived": "prospect"}, None),  # supported unless said otherwise
    ({"stage": "proposed", "derived": "prospect", "supported": False}, "claims proposed; the facts say prospect"),
    ({"stage": "proposed", "derived": "prospect", "supported": False, "missing_jobs": ["verify", "agenda"]},
     "claims proposed; the facts say prospect: missing jobs verify, agenda"),
    ({"stage": "proposed", "derived": "qualified", "supported": False, "failing_gates": ["roi-ok"]},
     "claims proposed; the facts say qualified: failing gates roi-ok"),
    ({"stage": "closed", "derived": "prospect", "supported": False, "missing_jobs": ["verify"],
      "failing_gates": ["roi-ok", "price-approved"]},
     "claims closed; the facts say prospect: missing jobs verify; failing gates roi-ok, price-approved"),
    ({"stage": "proposed", "derived": "prospect", "supported": False, "missing_jobs": [], "failing_gates": []},
     "claims proposed; the facts say prospect"),
])
def test_claim_text(claim, text):
    assert claim_text(claim) == text


def test_an_unsupported_claim_is_in_the_summary(cw):
    state = _state(cw, stage="proposed")
    assert state_summary(state)["claim"] == state.claim
    assert claim_text(state.claim) is not None and claim_text(state.claim).startswith("claims proposed; the facts say ")
