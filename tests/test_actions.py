"""Tests for flowctl.actions: which automated jobs are due for a deal, and running one
with its retry policy (attempts, backoff growing by its rate), never raising."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from flowctl.actions import due_actions, run_action
from flowctl.hooktypes import Action, ActionOutcome
from flowctl.model import Job, Retry
from flowctl.workflow_model import build

NOW = dt.date(2026, 11, 23)
WORKFLOW = build({"stages": [
    {"id": "open", "jobs": [{"id": "call"}, {"id": "mail", "uses": "notify"}, {"id": "doc", "uses": "render"}]},
    {"id": "next", "jobs": [{"id": "later", "uses": "notify"}]},
    {"id": "won"},
]}, "w.yaml")


def state(stage: str = "open", outcome: str = "open", **statuses: str) -> SimpleNamespace:
    jobs = [SimpleNamespace(id=j.id, stage=s.id, status=statuses.get(j.id, "pending"))
            for s in WORKFLOW.stages for j in s.jobs]
    return SimpleNamespace(id="D1", stage=stage, outcome=outcome, jobs=jobs)


@pytest.mark.parametrize("deal, due", [
    (state(), ["mail", "doc"]),  # automated jobs only, in the workflow's order
    (state(mail="done"), ["doc"]),
    (state(mail="overdue"), ["mail", "doc"]),  # overdue is still to do
    (state(mail="waived", doc="skipped"), []),
    (state("next"), ["later"]),  # the stage the deal stands in, not another's
    (state("won"), []),  # a stage without automated jobs
    (state(outcome="lost"), []),  # nothing for a lost deal
])
def test_due_actions(deal, due):
    assert [j.id for j in due_actions(deal, WORKFLOW)] == due


def job(attempts: int = 1, backoff: float = 1.0, rate: float = 2.0) -> Job:
    return Job("mail", "open", uses="notify", retry=Retry(attempts, backoff, rate))


def context() -> SimpleNamespace:
    return SimpleNamespace(state=SimpleNamespace(id="D1"))


class Script:
    """An action answering from a list: an ActionOutcome, an exception to raise, or anything else."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), 0

    def __call__(self, ctx):
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def run(answers: tuple, attempts: int = 1, backoff: float = 1.0, rate: float = 2.0):
    sleeps: list[float] = []
    script = Script(*answers)
    result = run_action(Action("notify", script), job(attempts, backoff, rate), context(), NOW, sleep=sleeps.append)
    return result, script.calls, sleeps


def test_success_on_the_first_attempt():
    result, calls, sleeps = run((ActionOutcome(True, {"file": "x.md"}),))
    assert (result.ok, result.attempts, result.output, result.error, calls, sleeps) == (True, 1, {"file": "x.md"}, None, 1, [])
    assert (result.deal_id, result.job_id, result.action, result.at) == ("D1", "mail", "notify", NOW)


def test_retries_wait_longer_each_time_and_stop_at_success():
    result, calls, sleeps = run((ValueError("down"), ActionOutcome(False), ActionOutcome(True)), attempts=4,
                                backoff=0.5, rate=3.0)
    assert (result.ok, result.attempts, calls, sleeps) == (True, 3, 3, [0.5, 1.5])


@pytest.mark.parametrize("answer, error", [
    (ActionOutcome(False, error="quota exceeded"), "quota exceeded"),
    (ActionOutcome(False), "the action reported failure"),
    (RuntimeError("boom"), "RuntimeError: boom"),
    (KeyError("k"), "KeyError: 'k'"),
    (None, "TypeError: action returned NoneType, not ActionOutcome"),
    ({"ok": True}, "TypeError: action returned dict, not ActionOutcome"),
])
def test_every_failure_is_the_jobs_error_after_its_attempts(answer, error):
    result, calls, sleeps = run((answer, answer, answer), attempts=3)
    assert (result.ok, result.attempts, result.error, calls, sleeps) == (False, 3, error, 3, [1.0, 2.0])


def test_the_last_attempt_sleeps_no_more():
    _, _, sleeps = run((RuntimeError("x"),), attempts=1)
    assert sleeps == []


def test_an_action_no_plugin_provides_fails_without_running():
    result = run_action(None, job(), context(), NOW, sleep=lambda s: pytest.fail("no sleep"))
    assert (result.ok, result.attempts, result.action, result.error) == (
        False, 0, "notify", "no plugin provides the action 'notify'")
