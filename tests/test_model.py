"""engine/model.py: labels in a locale, and the loaded workflow's look-ups."""
from __future__ import annotations

import datetime as dt

import pytest

from flowctl.model import Gate, Job, Retry, Stage, Workflow, label
from flowctl.workflow import load_workflow


@pytest.mark.parametrize("value,locale,text", [
    (None, "en", "dflt"), ("Plain", "de", "Plain"),
    ({"de-CH": "Grüezi", "de": "Hallo", "en": "Hello"}, "de-CH", "Grüezi"),  # exact
    ({"de": "Hallo", "en": "Hello"}, "de-CH", "Hallo"),  # its language
    ({"de": "Hallo", "en": "Hello"}, "de_AT", "Hallo"),
    ({"de": "Hallo", "en": "Hello"}, "fr", "Hello"),  # English
    ({"de": "Hallo", "it": "Ciao"}, "fr", "Hallo"),  # any
    ({}, "fr", "dflt"),
])
def test_label(value, locale, text):
    assert label(value, locale, "dflt") == text


def test_texts_fall_back_on_ids():
    assert Job("call", "lead").text() == "call" and Job("call", "lead", title={"de": "Anruf"}).text("de") == "Anruf"
    assert Gate("g", "lead").text() == "gate g does not hold" and Gate("g", "lead", message="No").text() == "No"
    assert _stage("lead", 0).text() == "lead" and _stage("lead", 0, name={"en": "Lead"}).text("fr") == "Lead"


def test_defaults():
    job = Job("call", "lead")
    assert (job.required, job.due, job.with_, job.retry) == (True, None, {}, Retry(1, 1.0, 2.0))


def _stage(stage_id: str, index: int, name: object = None, jobs: tuple = (), gates: tuple = (),
           terminal: bool = False) -> Stage:
    return Stage(stage_id, index, name, 0.5, "pipeline", None, None, terminal, jobs, gates)  # type: ignore[arg-type]


def test_required_jobs():
    jobs = (Job("a", "s"), Job("b", "s", required=False), Job("c", "s", due=dt.timedelta(days=1)))
    assert [j.id for j in _stage("s", 0, jobs=jobs).required_jobs] == ["a", "c"]


@pytest.fixture
def wf(project) -> Workflow:
    return load_workflow(project.workflow)[0]


def test_workflow_look_ups(wf):
    assert [s.id for s in wf.stages] == list(wf.stage_by_id) == ["prospect", "qualified", "proposed", "closed"]
    assert wf.terminal.id == "closed" and wf.terminal.terminal
    assert set(wf.job_by_id) == {"verify", "meet", "agenda", "deliver"} and wf.job_by_id["agenda"].stage == "qualified"
    assert set(wf.gate_by_id) == {"roi-ok", "price-approved"} and wf.gate_by_id["roi-ok"].message == "ROI too low"
    assert wf.job_by_id["verify"].due == dt.timedelta(days=7) and wf.job_by_id["meet"].required is False


@pytest.mark.parametrize("quotas,owner,quota", [
    ({}, "bob", None), ({"default": 10.0}, None, 10.0), ({"default": 10.0, "bob": 5.0}, "bob", 5.0),
    ({"default": 10.0, "bob": 5.0}, "ann", 10.0), ({"bob": 5.0}, "ann", None), ({"bob": 0.0}, "bob", 0.0),
])
def test_quota(wf, quotas, owner, quota):
    wf.quotas = quotas
    assert wf.quota(owner) == quota
