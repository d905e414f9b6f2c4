"""Tests for flowctl.workflow_model: the Workflow model built from a merged, checked
document (defaults, probabilities filled in, retry policies, the digest)."""
from __future__ import annotations

import datetime as dt

import pytest

from flowctl.model import Retry
from flowctl.workflow_model import _probabilities, _retry, _seconds, build


def doc(*stages: dict, **top: object) -> dict:
    return {"flowctl": 1, "stages": list(stages) or [{"id": "won"}], **top}


@pytest.mark.parametrize("given, filled", [
    ([None], [1.0]),
    ([0.4], [0.4]),  # a terminal stage's own probability stands
    ([None, None, None, None], [0.25, 0.5, 0.75, 1.0]),  # from 0 before the first to 1 at the last
    ([None, None, None], [0.3333, 0.6667, 1.0]),
    ([0.1, None, 0.5, None], [0.1, 0.3, 0.5, 1.0]),
    ([None, 0.4, None, None], [0.2, 0.4, 0.7, 1.0]),
    ([0.0, None, None], [0.0, 0.5, 1.0]),
    ([0.2, 0.6, 0.9, 1.0], [0.2, 0.6, 0.9, 1.0]),
    ([0.5, None, 0], [0.5, 0.25, 0.0]),  # falling is a warning of the checks, not the model's business
])
def test_probabilities_are_filled_in_between_known_ones(given, filled):
    stages = [{"id": f"s{i}", **({} if p is None else {"probability": p})} for i, p in enumerate(given)]
    assert _probabilities(stages) == filled


@pytest.mark.parametrize("text, seconds", [
    (None, None), ("500ms", 0.5), ("0ms", 0.0), ("2s", 2.0), ("1.5s", 1.5), ("2m", 120.0), ("1.5m", 90.0), ("3", 3.0),
])
def test_seconds(text, seconds):
    assert _seconds(text) == seconds


@pytest.mark.parametrize("raw, retry", [
    ({}, Retry()),
    ({"attempts": 3}, Retry(attempts=3)),
    ({"backoff": "250ms"}, Retry(backoff=0.25)),
    ({"backoff_rate": 1}, Retry(rate=1)),
    ({"attempts": 5, "backoff": "1m", "backoff_rate": 3.5}, Retry(5, 60.0, 3.5)),
])
def test_retry_keeps_the_defaults_a_policy_leaves_out(raw, retry):
    assert _retry(raw) == retry


def test_defaults_of_a_minimal_workflow():
    wf = build(doc({"id": "open"}, {"id": "won"}), "some/where/pipeline.yaml")
    assert (wf.name, wf.path, wf.locale, wf.currency) == ("pipeline", "some/where/pipeline.yaml", "en", "EUR")
    assert (wf.quotas, wf.fields, wf.metrics, wf.channels, wf.notifications) == ({}, {}, [], {}, [])
    assert [(s.id, s.index, s.terminal, s.forecast_category) for s in wf.stages] == [
        ("open", 0, False, "pipeline"), ("won", 1, True, "closed")]  # the last stage is the terminal one


def test_top_level_values_are_taken():
    wf = build(doc(name="sales", locale="de", currency="CHF", quotas={"default": 5.0},
                   fields={"roi": {"type": "number"}}, channels={"ops": {"use": "console"}}), "x.yaml")
    assert (wf.name, wf.locale, wf.currency, wf.quotas) == ("sales", "de", "CHF", {"default": 5.0})
    assert wf.fields == {"roi": {"type": "number"}} and wf.channels == {"ops": {"use": "console"}}


def test_jobs_and_gates():
    wf = build(doc({"id": "open", "forecast_category": "commit", "max_days": 9, "rot_days": 3, "jobs": [
        {"id": "call", "title": "Call", "owner": "rep", "due": "2d"},
        {"id": "mail", "required": False, "uses": "notify", "with": {"channel": "console"}, "retry": {"attempts": 2}},
        {"id": "auto", "done_when": "deal.amount > 0"},
    ], "gates": [{"id": "ok", "when": "deal.amount > 1", "message": "too small"}, {"id": "boss", "approval": "mgmt"}]},
        {"id": "won"}), "x.yaml")
    stage = wf.stages[0]
    assert (stage.forecast_category, stage.max_days, stage.rot_days) == ("commit", 9, 3)
    call, mail, auto = stage.jobs
    assert (call.stage, call.title, call.owner, call.due, call.required) == ("open", "Call", "rep", dt.timedelta(days=2), True)
    assert (mail.required, mail.uses, mail.with_, mail.retry) == (False, "notify", {"channel": "console"}, Retry(attempts=2))
    assert (auto.done_when, auto.due, auto.with_, auto.retry) == ("deal.amount > 0", None, {}, Retry())
    ok, boss = stage.gates
    assert (ok.stage, ok.when, ok.message, ok.approval) == ("open", "deal.amount > 1", "too small", None)
    assert (boss.when, boss.approval) == (None, "mgmt")


def test_annotations_stay_out_of_the_model():
    annotated = doc({"id": "won", "__src__": ("w.yaml", ("stages", 0))}, metrics=[{"id": "m", "kind": "count",
                    "__src__": ("w.yaml", ("metrics", 0))}], __top__={"stages": ("w.yaml", ("stages",))})
    wf = build(annotated, "w.yaml")
    assert "__top__" not in wf.document and "__src__" not in wf.document["stages"][0]
    assert wf.metrics == [{"id": "m", "kind": "count"}]


def test_the_digest_says_whether_the_document_changed():
    base = build(doc({"id": "open", "probability": 0.5}, {"id": "won"}), "a.yaml")
    assert len(base.digest) == 16 and int(base.digest, 16) >= 0
    same = build({"stages": [{"probability": 0.5, "id": "open"}, {"id": "won"}], "flowctl": 1}, "elsewhere/b.yaml")
    annotated = build(doc({"id": "open", "probability": 0.5, "__src__": ("a.yaml", ())}, {"id": "won"}), "a.yaml")
    assert same.digest == annotated.digest == base.digest  # key order, path and annotations do not count
    changed = build(doc({"id": "open", "probability": 0.6}, {"id": "won"}), "a.yaml")
    assert changed.digest != base.digest
