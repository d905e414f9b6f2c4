"""flowctl-chat: post flowctl notifications to a chat room.

Two things, registered through the entry point ``chat = "flowctl_chat"`` in the group
``flowctl``:

- the channel type ``chat`` (``use: chat`` under ``channels:``): each notification is
  POSTed as ``{"text": ..., "channel": ...}`` to an incoming-webhook URL, the format
  Slack and Mattermost both accept;
- the action ``chat_post`` (``uses: chat_post`` on a job, ``with: {channel, text}``):
  posts a line about the deal through ``ctx.notify``, so it goes through flowctl's
  outbox like every other message (queued once, delivered at least once, retried by
  the next run when the chat server is down).
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from flowctl import Action, ActionContext, ActionOutcome, ChannelType, DeliveryError, Message, hookimpl

__version__ = "0.1.0"
__all__ = ["CHANNEL_SCHEMA", "WITH_SCHEMA", "chat_text", "request_body", "send", "post"]

DEFAULT_TIMEOUT = 10.0
TEMPLATES = Path(__file__).parent / "templates"
BODY_TEMPLATE = "chat_post.txt.j2"  # the body of a chat_post message; a company's templates/ may override it

CHANNEL_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Chat channel (flowctl-chat)",
    "description": "POSTs each notification as JSON {\"text\": ..., \"channel\": ...} to a Slack- or "
                   "Mattermost-style incoming webhook. Any status but 2xx is a failure; the message "
                   "then stays in the outbox for the next run.",
    "type": "object",
    "required": ["use"],
    "additionalProperties": False,
    "properties": {
        "use": {"title": "Use", "description": "Channel type: `chat`.", "const": "chat"},
        "url": {"title": "Webhook URL", "description": "The incoming webhook's http(s) URL. It usually "
                                                       "embeds a secret: prefer `url_env`.",
                "type": "string", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+"},
        "url_env": {"title": "Webhook URL variable",
                    "description": "Environment variable holding the webhook URL. flowctl reads it when "
                                   "it sends and passes it to the channel as `url`.",
                    "type": "string", "minLength": 1},
        "channel": {"title": "Room", "description": "The chat room to post to (`#sales`, `town-square`); "
                                                    "default: the webhook's own room.",
                    "type": "string", "minLength": 1},
        "username": {"title": "Display name", "description": "Name the messages are posted under, where the "
                                                             "chat server allows it.",
                     "type": "string", "minLength": 1},
        "timeout": {"title": "Timeout", "description": "Seconds to wait for the server (default 10).",
                    "type": "number", "exclusiveMinimum": 0, "default": DEFAULT_TIMEOUT},
    },
}

WITH_SCHEMA: dict = {
    "title": "chat_post",
    "description": "Post a line about the deal to a chat channel (through the outbox).",
    "type": "object",
    "required": ["channel", "text"],
    "additionalProperties": False,
    "properties": {
        "channel": {"type": "string", "description": "A channel under `channels:` (usually one with `use: chat`)."},
        "text": {"type": "string", "description": "The text; a template over deal, job, now and workflow, "
                                                  "e.g. `{{ deal.id }} is ready for legal`. Deal values are data."},
        "to": {"type": "string", "description": "Recipient recorded with the message (default: the deal's owner)."},
    },
}


# --------------------------------------------------------------------------- the channel

def chat_text(message: Message) -> str:
    """The chat line of a message: its subject, then its body when there is one."""
    subject, body = message.subject.strip(), message.body.strip()
    if subject and body:
        return f"{subject}\n{body}"
    return subject or body


def request_body(config: dict, message: Message) -> bytes:
    """The JSON POSTed to the webhook: {"text"[, "channel"][, "username"]}."""
    document: dict = {"text": chat_text(message)}
    if config.get("channel"):
        document["channel"] = str(config["channel"])
    if config.get("username"):
        document["username"] = str(config["username"])
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def send(config: dict, message: Message) -> None:
    """Deliver one message; every failure is a DeliveryError (the outbox keeps the message)."""
    url = str(config.get("url") or "")
    if not url:
        raise DeliveryError("no webhook URL: set `url` or `url_env` on the channel")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise DeliveryError("bad webhook URL: only http:// and https:// URLs are allowed")
    try:
        timeout = float(config.get("timeout", DEFAULT_TIMEOUT))
    except (TypeError, ValueError):
        raise DeliveryError(f"`timeout` must be a number of seconds, not {config.get('timeout')!r}") from None
    where = f"{parts.scheme}://{parts.hostname}"  # never the path: it holds the webhook's secret
    post(url, request_body(config, message), {"X-Flowctl-Key": message.key}, timeout, where)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float, where: str) -> None:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        urllib.request.urlopen(request, timeout=timeout).close()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"{where} answered HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError) or str(reason) == "timed out":
            raise DeliveryError(f"timed out after {timeout:g}s waiting for {where}") from exc
        raise DeliveryError(f"cannot reach {where}: {getattr(reason, 'strerror', None) or reason}") from exc
    except (OSError, ValueError) as exc:  # a timeout while reading the answer, a bad header
        raise DeliveryError(f"cannot talk to {where}: {exc}") from exc


# --------------------------------------------------------------------------- the action

def run(ctx: ActionContext) -> ActionOutcome:
    """`uses: chat_post`: queue the text in the outbox for the channel; flowctl delivers it."""
    channel, text = ctx.params.get("channel"), ctx.params.get("text")
    if not channel or not text:
        return ActionOutcome(False, error="chat_post needs `with: {channel: ..., text: ...}`")
    # The text is the message's subject (a template written in the workflow, rendered with
    # the deal as data); the body comes from chat_post.txt.j2, empty unless overridden.
    ctx.notify(channel=channel, to=ctx.params.get("to"), subject=text, template=BODY_TEMPLATE)
    return ActionOutcome(True, {"channel": channel})


# --------------------------------------------------------------------------- hooks

@hookimpl
def flowctl_channel_types() -> list[ChannelType]:
    return [ChannelType(name="chat", send=send, config_schema=CHANNEL_SCHEMA)]


@hookimpl
def flowctl_actions() -> list[Action]:
    return [Action(name="chat_post", run=run, with_schema=WITH_SCHEMA)]


@hookimpl
def flowctl_template_dirs() -> list[Path]:
    return [TEMPLATES]
