"""plugins/console.py: notifications printed to standard error, never standard output."""
from __future__ import annotations

import jsonschema
import pytest

from flowctl.hooktypes import DeliveryError, Message
from flowctl.plugins import console


def _message(recipient: str | None = "bob@example.com", body: str = "Hello") -> Message:
    return Message("k", "ops", recipient, "Deal D1 won", body, {})


@pytest.mark.parametrize("message,err", [
    (_message(), "[ops] to bob@example.com: Deal D1 won\nHello\n"),
    (_message(recipient=None), "[ops]: Deal D1 won\nHello\n"),
    (_message(body=""), "[ops] to bob@example.com: Deal D1 won\n"),
    (_message(recipient=None, body=""), "[ops]: Deal D1 won\n"),
    (_message(body="two\nlines"), "[ops] to bob@example.com: Deal D1 won\ntwo\nlines\n"),
])
def test_send_prints_to_standard_error(capsys, message, err):
    console.send({"use": "console"}, message)
    out = capsys.readouterr()
    assert out.out == "" and out.err == err


def test_a_closed_standard_error_is_a_delivery_error(monkeypatch):
    def closed(*args: object, **kwargs: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(console.click, "echo", closed)
    with pytest.raises(DeliveryError, match="cannot write to standard error: Broken pipe"):
        console.send({}, _message())


@pytest.mark.parametrize("config,valid", [({"use": "console"}, True), ({}, False), ({"use": "smtp"}, False),
                                          ({"use": "console", "to": "x"}, False)])
def test_the_config_schema(config, valid):
    assert jsonschema.Draft202012Validator(console.CONFIG_SCHEMA).is_valid(config) is valid


def test_the_channel_type_is_registered_as_console():
    (channel,) = console.flowctl_channel_types()
    assert channel.name == "console" and channel.send is console.send and channel.config_schema is console.CONFIG_SCHEMA
