"""plugins/notify_action.py: `uses: notify` queues one message through ctx.notify with the
job's channel, recipient, subject (a default naming the deal and job) and body template."""
from __future__ import annotations

import datetime as dt
import types
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import WORKFLOW, Project
from flowctl.hooktypes import ActionContext, ActionOutcome
from flowctl.plugins import notify_action

DEFAULT_SUBJECT = "{{ deal.name or deal.id }}: {{ job.id }}"


def context(queued: list[dict], **params: Any) -> ActionContext:
    """A notify job's context whose notify() records what it was asked to queue."""
    return ActionContext(deal={"id": "ACME-1"}, state=types.SimpleNamespace(id="ACME-1"),  # type: ignore[arg-type]
                         job=types.SimpleNamespace(id="tell-legal"), params=params,  # type: ignore[arg-type]
                         workflow=None, now=dt.date(2026, 11, 2), out_dir=Path("unused"),  # type: ignore[arg-type]
                         dry_run=False, render=lambda *a, **k: "", notify=lambda **kwargs: queued.append(kwargs))


@pytest.mark.parametrize("params,queued", [
    ({"channel": "email"}, {"channel": "email", "to": None, "subject": DEFAULT_SUBJECT, "template": None}),
    ({"channel": "email", "subject": ""}, {"channel": "email", "to": None, "subject": DEFAULT_SUBJECT, "template": None}),
    ({"channel": "chat", "to": "{{ deal.owner }}", "subject": "Won: {{ deal.id }}", "template": "won.txt.j2"},
     {"channel": "chat", "to": "{{ deal.owner }}", "subject": "Won: {{ deal.id }}", "template": "won.txt.j2"}),
    ({"channel": "console", "to": ""}, {"channel": "console", "to": "", "subject": DEFAULT_SUBJECT, "template": None}),
])
def test_the_job_queues_one_message_with_its_settings(params: dict, queued: dict) -> None:
    sent: list[dict] = []
    outcome = notify_action.run(context(sent, **params))
    assert sent == [queued]
    assert outcome == ActionOutcome(True, {"channel": params["channel"], "to": params.get("to")})


def test_a_message_that_cannot_be_queued_fails_the_job() -> None:
    ctx = context([], channel="nowhere")

    def refuse(**kwargs: Any) -> None:
        raise ValueError(f"no channel {kwargs['channel']!r}")

    ctx.notify = refuse
    with pytest.raises(ValueError, match="no channel 'nowhere'"):  # the runner makes it the job's error
        notify_action.run(ctx)


def test_a_job_without_a_channel_fails_with_its_name() -> None:
    with pytest.raises(KeyError, match="channel"):  # validate refuses such a workflow before a run
        notify_action.run(context([]))


@pytest.mark.parametrize("with_,valid", [
    ({"channel": "email"}, True), ({"channel": "email", "to": "a@b.c", "subject": "s", "template": "t.j2"}, True),
    ({}, False), ({"channel": 1}, False), ({"channel": "email", "body": "literal"}, False),
])
def test_the_with_schema(with_: dict, valid: bool) -> None:
    assert jsonschema.Draft202012Validator(notify_action.WITH_SCHEMA).is_valid(with_) is valid


def test_the_action_is_registered_as_notify() -> None:
    (action,) = notify_action.flowctl_actions()
    assert (action.name, action.run, action.with_schema) == ("notify", notify_action.run, notify_action.WITH_SCHEMA)


def test_a_run_sends_the_jobs_message_with_the_default_subject_and_body(cli: Any, tmp_path: Path) -> None:
    project = Project(tmp_path, WORKFLOW.replace(
        "      - {id: meet, required: false}\n",
        "      - {id: tell-legal, uses: notify, with: {channel: console, to: '{{ deal.owner }}'}}\n"))
    project.deal("D1", "name: Fleet telemetry\n")
    result = cli("run", project.deals, *project.args("--now", "2026-01-02"))
    assert result.exit_code == 0, result.output
    assert "[console] to bob@example.com: Fleet telemetry: tell-legal\n" in result.stderr
