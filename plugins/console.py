"""The `console` channel: notifications printed to standard error (standard output is the command's report).

Useful while writing a workflow, in CI logs, and as the channel a rule may name without
declaring it under `channels:`.
"""
from __future__ import annotations

import click

from flowctl.hookspecs import hookimpl
from flowctl.hooktypes import ChannelType, DeliveryError, Message

CONFIG_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Console channel",
    "description": "Prints each notification to standard error: a line "
                   "`[channel] to <recipient>: <subject>`, then the body. No settings.",
    "type": "object",
    "required": ["use"],
    "additionalProperties": False,
    "properties": {
        "use": {"title": "Use", "description": "Channel type: `console`.", "const": "console"},
    },
}


def send(config: dict, message: Message) -> None:
    # Standard error: standard output belongs to the command's report (`--format json`).
    to = f" to {message.recipient}" if message.recipient else ""
    try:
        click.echo(f"[{message.channel}]{to}: {message.subject}", err=True)
        if message.body:
            click.echo(message.body, err=True)
    except OSError as exc:  # a closed pipe: the outbox keeps the message for the next run
        raise DeliveryError(f"cannot write to standard error: {exc.strerror or exc}") from exc


@hookimpl
def flowctl_channel_types() -> list[ChannelType]:
    return [ChannelType(name="console", send=send, config_schema=CONFIG_SCHEMA)]
