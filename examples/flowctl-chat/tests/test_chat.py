"""flowctl-chat: the `chat` channel and the `chat_post` action, unit and end to end.

The end-to-end tests use flowctl's pytest fixtures (flowctl_project, flowctl_run,
flowctl_store, captured_notifications), which installing flowctl provides."""
from __future__ import annotations

import json

import pytest

import flowctl_chat
from flowctl import DeliveryError, Message

from .conftest import chat_server


def message(subject: str = "D1 won", body: str = "", key: str = "k1") -> Message:
    return Message(key=key, channel="team", recipient="rep@example.com", subject=subject, body=body, payload={})


def workflow(url: str, extra_channel: str = "") -> str:
    return f"""\
        flowctl: 1
        name: chat-test
        extends: builtin:six-stage
        channels:
          team: {{use: chat, url: "{url}", channel: "#sales", username: flowctl}}
          {extra_channel}
        stages:
          - id: prospect
            jobs:
              - id: announce
                uses: chat_post
                with: {{channel: team, text: "New prospect {{{{ deal.name }}}} worth {{{{ deal.amount }}}} EUR"}}
        notifications:
          - {{on: deal_won, channel: team}}
        """


# --------------------------------------------------------------------------- the channel

def test_text_is_the_subject_then_the_body():
    assert flowctl_chat.chat_text(message("Hello", "")) == "Hello"
    assert flowctl_chat.chat_text(message("Hello", "More\n")) == "Hello\nMore"


def test_send_posts_text_and_room_as_json(chat):
    flowctl_chat.send({"url": chat.url, "channel": "#sales", "username": "bot"}, message("D1 won", "Amount 5"))
    assert chat.posts == [{"text": "D1 won\nAmount 5", "channel": "#sales", "username": "bot"}]
    assert chat.headers[0]["content-type"] == "application/json"
    assert chat.headers[0]["x-flowctl-key"] == "k1"
    assert chat.paths == ["/hooks/T0KEN"]


def test_room_is_optional(chat):
    flowctl_chat.send({"url": chat.url}, message("Hi"))
    assert chat.posts == [{"text": "Hi"}]


@pytest.mark.parametrize("config, reason", [
    ({}, "no webhook URL"),
    ({"url": "ftp://example.com/x"}, "only http:// and https://"),
    ({"url": "http://example.com", "timeout": "soon"}, "`timeout` must be a number"),
])
def test_bad_config_is_a_delivery_error(config, reason):
    with pytest.raises(DeliveryError, match=reason):
        flowctl_chat.send(config, message())


def test_error_status_is_a_delivery_error_without_the_secret_path():
    with chat_server(status=500) as chat:
        with pytest.raises(DeliveryError) as err:
            flowctl_chat.send({"url": chat.url}, message())
    assert "HTTP 500" in str(err.value)
    assert "T0KEN" not in str(err.value)  # the webhook path is a secret


def test_refused_connection_is_a_delivery_error():
    with chat_server() as chat:
        url = chat.url
    with pytest.raises(DeliveryError, match="cannot reach"):
        flowctl_chat.send({"url": url, "timeout": 2}, message())


# --------------------------------------------------------------------------- through flowctl

def test_chat_post_and_rules_reach_the_chat_once(chat, flowctl_project, flowctl_run, flowctl_now):
    flowctl_project.write_workflow(workflow(chat.url))
    flowctl_project.deal("ACME-1", name="Fleet {{ 7*7 }}", amount=5000)
    data = flowctl_run()
    assert data["summary"]["actions_ok"] == 1 and data["summary"]["sent"] == 1
    # the deal's name is data: it arrives literally, never rendered
    assert chat.posts == [{"text": "New prospect Fleet {{ 7*7 }} worth 5000 EUR", "channel": "#sales",
                           "username": "flowctl"}]
    flowctl_now.advance(1)
    again = flowctl_run()
    assert again["summary"]["sent"] == 0 and len(chat.posts) == 1  # done, never twice

    flowctl_project.deal("ACME-1", name="Fleet {{ 7*7 }}", amount=5000, outcome="won", closed_at=flowctl_now.date)
    won = flowctl_run()
    assert won["summary"]["sent"] == 1
    assert chat.texts[-1].startswith("ACME-1 won")


def test_chat_down_keeps_the_message_for_the_next_run(chat, flowctl_project, flowctl_run, flowctl_store):
    flowctl_project.write_workflow(workflow(chat.url))
    flowctl_project.deal("ACME-1", name="Fleet")
    chat.status = 503
    data = flowctl_run()  # a delivery failure is a warning, not an error
    assert data["summary"]["delivery_failed"] == 1
    assert any("HTTP 503" in w for w in data["summary"]["warnings"])
    [item] = flowctl_store.outbox(("failed",))
    assert item.attempts == 1 and item.channel == "team"
    chat.status = 200
    assert flowctl_run()["summary"]["sent"] == 1
    assert flowctl_run()["summary"]["sent"] == 0
    assert chat.texts == ["New prospect Fleet worth 1000 EUR"] * 2  # 503, then 200; then nothing
    assert flowctl_store.outbox(("queued", "failed")) == []


def test_webhook_url_from_the_environment(chat, flowctl_project, flowctl_run):
    flowctl_project.write_workflow(workflow("x").replace('url: "x"', "url_env: CHAT_URL"))
    flowctl_project.deal("ACME-1")
    missing = flowctl_run(env={"CHAT_URL": None})
    assert any("CHAT_URL" in w for w in missing["summary"]["warnings"])
    assert flowctl_run(env={"CHAT_URL": chat.url})["summary"]["sent"] == 1
    assert len(chat.posts) == 1


def test_chat_post_goes_through_ctx_notify(flowctl_project, flowctl_run, captured_notifications):
    flowctl_project.write_workflow(workflow("http://unused.invalid", "test: {use: capture}")
                                   .replace("channel: team, text", "channel: test, text"))
    flowctl_project.deal("ACME-1", name="Fleet", owner="alice@example.com")
    flowctl_run()
    [sent] = captured_notifications.on("test")
    assert sent.subject == "New prospect Fleet worth 1000 EUR"
    assert sent.body == ""  # chat_post.txt.j2 is empty unless a company overrides it
    assert sent.recipient == "alice@example.com"
    assert sent.payload["deal"]["id"] == "ACME-1"


def test_a_company_template_adds_a_body(flowctl_project, flowctl_run, captured_notifications):
    flowctl_project.write_workflow(workflow("http://unused.invalid", "test: {use: capture}")
                                   .replace("channel: team, text", "channel: test, text"))
    flowctl_project.template("chat_post.txt.j2", "Owner: {{ deal.owner }}\n")
    flowctl_project.deal("ACME-1")
    flowctl_run()
    assert captured_notifications[0].body == "Owner: rep@example.com\n"


def test_chat_post_to_an_unknown_channel_fails_the_job(flowctl_project, flowctl_run):
    flowctl_project.write_workflow(workflow("http://unused.invalid").replace("channel: team, text", "channel: nope, text"))
    flowctl_project.deal("ACME-1")
    data = flowctl_run(expect=1)
    [deal] = data["deals"]
    assert any("no channel 'nope'" in e for e in deal["errors"])


def test_schema_and_plugins_list_include_chat(flowctl_project, flowctl_run):
    schema = json.loads(flowctl_run.invoke("schema", "workflow").stdout)
    chat = schema["$defs"]["channel_configs"]["chat"]  # flowctl adds its own `rate` and `max_attempts`
    assert {k: v for k, v in chat.items() if k != "properties"} == {
        k: v for k, v in flowctl_chat.CHANNEL_SCHEMA.items() if k != "properties"}
    assert chat["properties"].items() >= flowctl_chat.CHANNEL_SCHEMA["properties"].items()
    assert {"rate", "max_attempts"} <= set(chat["properties"])
    assert schema["$defs"]["action_params"]["chat_post"] == flowctl_chat.WITH_SCHEMA
    listed = json.loads(flowctl_run.invoke("plugins", "--format", "json").stdout)["plugins"]
    [chat] = [p for p in listed if {"flowctl_channel_types", "flowctl_actions"} <= set(p["hooks"])
              and p["name"] in ("chat", "flowctl_chat")]
    assert "flowctl_template_dirs" in chat["hooks"]
