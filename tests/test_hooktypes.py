"""engine/hooktypes.py: the objects plugins receive and return: their defaults (fresh per
object, never shared), what a delivery failure is, and that the built-in channel sessions
and metric accumulators have the shape the protocols promise."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

import flowctl
from flowctl import hooktypes
from flowctl.hooktypes import (Action, ActionOutcome, ChannelSession, ChannelType, DeliveryError, ForecastInput,
                               ForecastMethod, Message, MetricKind)
from flowctl.plugins import metric_kinds, smtp, webhook


@pytest.mark.parametrize("make,field", [
    (lambda: ActionOutcome(True), "output"), (lambda: Action("a", lambda ctx: ActionOutcome(True)), "with_schema"),
    (lambda: ChannelType("c", lambda config, message: None), "config_schema"),
    (lambda: ForecastInput([], None, dt.date(2026, 1, 1), 90, None), "options"),  # type: ignore[arg-type]
])
def test_a_mutable_default_is_each_objects_own(make, field: str) -> None:
    first, second = make(), make()
    getattr(first, field)["x"] = 1
    assert getattr(second, field) == {}


def test_the_optional_parts_default_to_nothing() -> None:
    assert ActionOutcome(True).error is None
    assert ChannelType("c", lambda config, message: None).open is None  # `send` per message then
    method = ForecastMethod("m", lambda inputs: {})
    assert (method.description, method.label, method.config_schema) == ("", "", None)
    kind = MetricKind("k", lambda config, workflow, now: None)  # type: ignore[arg-type, return-value]
    assert (kind.description, kind.config_schema) == ("", None)


def test_a_message_is_a_plain_record() -> None:
    message = Message("k", "email", None, "s", "b", {"deal": {"id": "D1"}})
    assert dataclasses.asdict(message) == {"key": "k", "channel": "email", "recipient": None, "subject": "s",
                                           "body": "b", "payload": {"deal": {"id": "D1"}}}


def test_a_delivery_error_is_an_ordinary_exception_with_its_reason() -> None:
    assert issubclass(DeliveryError, Exception) and str(DeliveryError("no recipient")) == "no recipient"


@pytest.mark.parametrize("session", [lambda: smtp.open_session({"from": "a@example.com", "port": 1}),
                                     lambda: webhook.open_session({"url": "http://127.0.0.1:1/"})],
                         ids=["smtp", "webhook"])
def test_the_builtin_channel_sessions_have_the_protocols_shape(session) -> None:
    opened = session()
    try:
        assert all(callable(getattr(opened, name, None)) for name in ("send", "close"))
        assert set(dir(ChannelSession)) & {"send", "close"} == {"send", "close"}
    finally:
        opened.close()


def test_every_public_type_is_exported_by_flowctl() -> None:
    for name in ("Action", "ActionContext", "ActionOutcome", "ChannelSession", "ChannelType", "DeliveryError",
                 "ForecastInput", "ForecastMethod", "Message", "MetricAccumulator", "MetricKind"):
        assert name in flowctl.__all__ and getattr(flowctl, name) is getattr(hooktypes, name)


def test_a_builtin_kinds_accumulator_has_the_protocols_shape() -> None:
    kinds = {k.name: k for k in metric_kinds.flowctl_metric_kinds()}
    for kind in kinds.values():
        assert kind.description and callable(kind.make)
    accumulator = next(iter(kinds.values())).make({}, None, dt.date(2026, 1, 1))  # type: ignore[arg-type]
    assert callable(accumulator.add) and callable(accumulator.result)


def test_an_action_may_queue_a_literal_body_as_action_context_documents(flowctl_project, flowctl_run,
                                                                       captured_notifications):
    # ActionContext.notify is documented as notify(channel, to, subject, template, body): a
    # literal body is sent as it is, not rendered.
    flowctl_project.write_workflow("""\
        flowctl: 1
        name: fixture-test
        extends: builtin:six-stage
        channels:
          test: {use: capture}
        stages:
          - id: prospect
            jobs:
              - {id: note, uses: notify_body, with: {channel: test}}
        """)
    flowctl_project.deal("D1")
    flowctl_run.plugins.append("fixture_plugins.notify_body_action")
    flowctl_run()
    [message] = captured_notifications
    assert (message.subject, message.body) == ("Note on D1", "Literal text, {{ not a template }}")
