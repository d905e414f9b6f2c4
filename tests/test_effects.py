"""engine/effects.py: a real run's effects (`Made`): the store, actions, delivery, announcing."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from flowctl import effects
from flowctl.effects import Made
from flowctl.hooktypes import Action, ActionOutcome

NOW = dt.date(2026, 1, 5)


def test_a_real_run_is_not_dry():
    assert Made.dry_run is False and Made().dry_run is False


def test_a_real_run_needs_a_store():
    with pytest.raises(ValueError, match="a run that is not dry needs a store"):
        Made().store(None)
    store = object()
    assert Made().store(store) is store  # type: ignore[arg-type]


def _job(attempts: int = 1) -> SimpleNamespace:
    return SimpleNamespace(id="send", uses="mail", retry=SimpleNamespace(attempts=attempts, backoff=0.0, rate=1.0))


CONTEXT = SimpleNamespace(state=SimpleNamespace(id="D1"))


def test_act_without_an_action_fails_the_job_naming_it():
    result = Made().act(None, _job(), CONTEXT, NOW)  # type: ignore[arg-type]
    assert (result.deal_id, result.job_id, result.ok, result.attempts, result.at) == ("D1", "send", False, 0, NOW)
    assert result.error == "no plugin provides the action 'mail'"


@pytest.mark.parametrize("run,ok,error", [
    (lambda ctx: ActionOutcome(True, {"sent": 1}), True, None),
    (lambda ctx: ActionOutcome(False, error="refused"), False, "refused"),
    (lambda ctx: 1 / 0, False, "ZeroDivisionError: division by zero"),
])
def test_act_runs_the_action(run, ok, error):
    result = Made().act(Action("mail", run), _job(), CONTEXT, NOW)  # type: ignore[arg-type]
    assert (result.ok, result.error, result.action) == (ok, error, "mail")


def test_deliver_delivers_the_outbox(monkeypatch):
    calls = []
    monkeypatch.setattr(effects.delivery, "deliver", lambda *args: calls.append(args) or "report")
    assert Made().deliver("store", "wf", {"mail": "type"}) == "report"  # type: ignore[arg-type]
    assert calls == [("store", "wf", {"mail": "type"})]


def test_announce_tells_the_plugins():
    calls = []
    plugins = SimpleNamespace(run_finished=lambda summary, events: calls.append((summary, events)))
    Made().announce(plugins, {"deals": 1}, ["e"])
    assert calls == [({"deals": 1}, ["e"])]
