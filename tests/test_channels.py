"""The console, smtp and webhook channels, against real servers on loopback."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from pathlib import Path

import jsonschema
import pluggy
import pytest

from flowctl import hookspecs
from flowctl.hooktypes import ChannelType, DeliveryError, Message
from flowctl.plugins import console, smtp, webhook
from servers import (
    closed_port,
    self_signed_cert,
    server_tls_context,
    silent_server,
    smtp_server,
    webhook_server,
)

FAST = 1.0  # seconds: every timeout in these tests


def message(**changes: object) -> Message:
    fields: dict = dict(key="ACME-1|job_overdue|proposed|2026-11-23|rule-0|alice@example.com",
                        channel="email", recipient="alice@example.com", subject="ACME: send-to-legal is overdue",
                        body="The job send-to-legal is 3 days late.\nDeal: ACME-1",
                        payload={"events": [{"kind": "job_overdue", "deal": "ACME-1"}], "deal": {"id": "ACME-1"}})
    fields.update(changes)
    return Message(**fields)


def channel(module: object) -> ChannelType:
    [channel_type] = module.flowctl_channel_types()  # type: ignore[attr-defined]
    return channel_type


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours *_proxy variables; loopback requests must not go through one."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- contract

@pytest.mark.parametrize("module,name", [(console, "console"), (smtp, "smtp"), (webhook, "webhook")])
def test_plugin_provides_one_channel_type_with_a_documented_schema(module: object, name: str) -> None:
    channel_type = channel(module)
    assert channel_type.name == name
    schema = channel_type.config_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema") and schema["title"] and schema["description"]
    for key, prop in schema["properties"].items():
        assert prop.get("title") and prop.get("description"), key


def test_schemas_accept_the_spec_examples_and_reject_typos() -> None:
    ok = [(smtp, {"use": "smtp", "host": "smtp.example.com", "port": 587, "starttls": True,
                  "from": "sales-ops@example.com", "user_env": "SMTP_USER", "password_env": "SMTP_PASSWORD"}),
          (webhook, {"use": "webhook", "url": "https://chat.example.com/hooks/sales", "secret_env": "CHAT_SECRET"}),
          (console, {"use": "console"})]
    for module, config in ok:
        jsonschema.validate(config, channel(module).config_schema)
    bad = [(smtp, {"use": "smtp", "from": "a@b.c", "passwrd_env": "X"}),
           (smtp, {"use": "smtp", "from": "a@b.c", "ssl": True, "starttls": True}),
           (webhook, {"use": "webhook", "url": "ftp://example.com/x"}),
           (webhook, {"use": "webhook", "url": "https://x.example", "secret": "inline"})]
    for module, config in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(config, channel(module).config_schema)


def test_pluggy_validates_and_joins_the_three_plugins() -> None:
    pm = pluggy.PluginManager("flowctl")
    pm.add_hookspecs(hookspecs)
    for module in (console, smtp, webhook):
        pm.register(module)  # raises if an implementation does not match the hookspec
    names = {ct.name for types in pm.hook.flowctl_channel_types() for ct in types}
    assert names == {"console", "smtp", "webhook"}


# --------------------------------------------------------------------------- console

def test_console_prints_the_header_line_and_the_body(capsys: pytest.CaptureFixture[str]) -> None:
    channel(console).send({"use": "console"}, message(channel="console"))
    out, err = capsys.readouterr()
    assert err == ("[console] to alice@example.com: ACME: send-to-legal is overdue\n"
                   "The job send-to-legal is 3 days late.\nDeal: ACME-1\n")
    assert out == ""  # standard output is the command's report


def test_console_without_recipient_or_body(capsys: pytest.CaptureFixture[str]) -> None:
    channel(console).send({}, message(channel="ops", recipient=None, body=""))
    assert capsys.readouterr().err == "[ops]: ACME: send-to-legal is overdue\n"


# --------------------------------------------------------------------------- smtp

@pytest.mark.parametrize("extra", [{}, {"port": 587}, {"starttls": False}, {"ssl": False, "port": 25},
                                   {"allow_plaintext_auth": False}, {"allow_plaintext_auth": "yes"}])
def test_smtp_never_sends_a_password_in_clear_unless_allowed(extra: dict) -> None:
    with smtp_server(users={"bot": "s3cret"}, auth_require_tls=False) as server:
        config = {**smtp_config(server.port, user_env="U", password_env="P", user="bot", password="s3cret"), **extra}
        with pytest.raises(DeliveryError, match="password in clear") as failure:
            channel(smtp).send(config, message())
        assert "s3cret" not in str(failure.value)
    assert server.connections == 0 and server.mails == []  # not even a connection


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_plaintext_login_when_the_channel_allows_it() -> None:
    with smtp_server(users={"bot": "s3cret"}, auth_require_tls=False) as server:
        channel(smtp).send(smtp_config(server.port, user="bot", password="s3cret", allow_plaintext_auth=True), message())
    assert server.mails[0].login == "bot"


def test_smtp_reconnects_when_the_server_ends_a_kept_session() -> None:
    with smtp_server(drop_after=2) as server:
        session = smtp.open_session(smtp_config(server.port))
        try:
            for i in range(5):
                session.send(message(key=f"k{i}"))
        finally:
            session.close()
    assert [m.message["X-Flowctl-Key"] for m in server.mails] == [f"k{i}" for i in range(5)]
    assert server.connections == 3  # 2 + 2 + 1



def smtp_config(port: int, **extra: object) -> dict:
    return {"use": "smtp", "host": "127.0.0.1", "port": port, "from": "Sales Ops <sales-ops@example.com>",
            "timeout": FAST, **extra}


def test_smtp_plain_delivers_a_plain_text_mail_with_flowctl_headers() -> None:
    with smtp_server() as server:
        channel(smtp).send(smtp_config(server.port), message())
    [mail] = server.mails
    assert mail.mail_from == "sales-ops@example.com" and mail.rcpt_tos == ["alice@example.com"]
    assert not mail.tls and mail.login is None
    m = mail.message
    assert m["Subject"] == "ACME: send-to-legal is overdue"
    assert m["From"] == "Sales Ops <sales-ops@example.com>" and m["To"] == "alice@example.com"
    assert m["Date"] and m["X-Flowctl-Key"] == message().key
    assert m.get_content_type() == "text/plain"
    assert m.get_content().rstrip("\n") == message().body


def test_smtp_message_id_is_derived_from_the_key() -> None:
    with smtp_server() as server:
        send = channel(smtp).send
        send(smtp_config(server.port), message())
        send(smtp_config(server.port), message())  # the outbox re-sending the same message
        send(smtp_config(server.port), message(key="another"))
    first, again, other = (mail.message["Message-ID"] for mail in server.mails)
    assert first == again != other
    assert first.startswith("<") and first.endswith("@example.com>")


def test_smtp_default_recipient_several_recipients_and_a_folded_subject() -> None:
    with smtp_server() as server:
        channel(smtp).send(smtp_config(server.port, to="ops@example.com"),
                           message(recipient=None, subject="two\nlines"))
        channel(smtp).send(smtp_config(server.port), message(recipient="a@example.com, B <b@example.com>"))
    assert server.mails[0].rcpt_tos == ["ops@example.com"]
    assert server.mails[0].message["Subject"] == "two lines"
    assert server.mails[1].rcpt_tos == ["a@example.com", "b@example.com"]


def test_smtp_without_a_recipient_fails() -> None:
    with pytest.raises(DeliveryError, match="^no recipient$"):
        channel(smtp).send(smtp_config(closed_port()), message(recipient=None))


def test_smtp_starttls_trusting_the_servers_certificate(cert: tuple[Path, Path]) -> None:
    with smtp_server(starttls=server_tls_context(*cert)) as server:
        channel(smtp).send(smtp_config(server.port, starttls=True, cafile=str(cert[0])), message())
    [mail] = server.mails
    assert mail.tls


def test_smtp_starttls_refuses_an_untrusted_certificate(cert: tuple[Path, Path]) -> None:
    with smtp_server(starttls=server_tls_context(*cert)) as server:
        with pytest.raises(DeliveryError, match="certificate not trusted"):
            channel(smtp).send(smtp_config(server.port, starttls=True), message())
    assert server.mails == []


def test_smtp_starttls_fails_when_the_server_does_not_offer_it() -> None:
    with smtp_server() as server:
        with pytest.raises(DeliveryError, match="STARTTLS"):
            channel(smtp).send(smtp_config(server.port, starttls=True, tls_verify=False), message())
    assert server.mails == []


def test_smtp_implicit_tls_on_its_own_port(cert: tuple[Path, Path]) -> None:
    with smtp_server(implicit_tls=server_tls_context(*cert)) as server:
        channel(smtp).send(smtp_config(server.port, ssl=True, tls_verify=False), message())
        with pytest.raises(DeliveryError, match="timed out"):  # a plain client waits for a greeting in vain
            channel(smtp).send(smtp_config(server.port, timeout=0.3), message())
    [mail] = server.mails
    assert mail.tls


def test_smtp_connection_modes() -> None:
    mode = smtp.connection_mode
    assert mode({}) == ("plain", 25)
    assert mode({"port": 465}) == ("ssl", 465)
    assert mode({"ssl": True}) == ("ssl", 465)
    assert mode({"port": 465, "ssl": False}) == ("plain", 465)
    assert mode({"port": 587, "starttls": True}) == ("starttls", 587)
    with pytest.raises(DeliveryError, match="exclude"):
        mode({"ssl": True, "starttls": True})
    with pytest.raises(DeliveryError, match="port"):
        mode({"port": "smtp"})


def test_smtp_login_after_starttls(cert: tuple[Path, Path]) -> None:
    users = {"bot": "s3cret"}
    with smtp_server(starttls=server_tls_context(*cert), users=users, auth_require_tls=True) as server:
        config = smtp_config(server.port, starttls=True, cafile=str(cert[0]), user_env="SMTP_USER",
                             password_env="SMTP_PASSWORD", user="bot", password="s3cret")
        channel(smtp).send(config, message())
        with pytest.raises(DeliveryError, match="authentication failed: 535"):
            channel(smtp).send({**config, "password": "wrong"}, message())
        with pytest.raises(DeliveryError, match="530"):  # the server requires AUTH
            channel(smtp).send(smtp_config(server.port, starttls=True, cafile=str(cert[0])), message())
        with pytest.raises(DeliveryError, match="password in clear"):  # flowctl refuses before the server does
            channel(smtp).send(smtp_config(server.port, user="bot", password="s3cret"), message())
        with pytest.raises(DeliveryError, match="AUTH"):  # AUTH is only offered over TLS
            channel(smtp).send(smtp_config(server.port, user="bot", password="s3cret", allow_plaintext_auth=True),
                               message())
    [mail] = server.mails
    assert mail.login == "bot" and mail.tls


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_over_implicit_tls(cert: tuple[Path, Path]) -> None:
    # aiosmtpd only knows STARTTLS as "TLS", so it must not demand it on an SMTPS port.
    with smtp_server(implicit_tls=server_tls_context(*cert), users={"bot": "pw"}, auth_require_tls=False) as server:
        channel(smtp).send(smtp_config(server.port, ssl=True, cafile=str(cert[0]), user="bot", password="pw"),
                           message())
    assert server.mails[0].login == "bot"


def test_smtp_unset_secret_variable_is_named() -> None:
    config = smtp_config(closed_port(), user_env="SMTP_USER", password_env="SMTP_PASSWORD")
    with pytest.raises(DeliveryError, match="SMTP_USER"):
        channel(smtp).send(config, message())
    with pytest.raises(DeliveryError, match="SMTP_PASSWORD"):
        channel(smtp).send({**config, "user": "bot"}, message())


def test_smtp_rejected_recipient_fails_with_the_reply() -> None:
    with smtp_server(reject={"alice@example.com"}) as server:
        with pytest.raises(DeliveryError, match="alice@example.com .*550"):
            channel(smtp).send(smtp_config(server.port), message())
        with pytest.raises(DeliveryError, match="550"):  # one of two refused is still a failure
            channel(smtp).send(smtp_config(server.port), message(recipient="alice@example.com, bob@example.com"))


def test_smtp_connection_refused() -> None:
    with pytest.raises(DeliveryError, match="connection refused"):
        channel(smtp).send(smtp_config(closed_port()), message())


@pytest.mark.parametrize("extra", [{}, {"ssl": True, "tls_verify": False}])
def test_smtp_server_that_never_answers_times_out(extra: dict) -> None:
    with silent_server() as port:
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="timed out after 0.5s"):
            channel(smtp).send(smtp_config(port, timeout=0.5, **extra), message())
        assert time.monotonic() - started < 2


def test_smtp_missing_cafile() -> None:
    with pytest.raises(DeliveryError, match="cafile"):
        channel(smtp).send(smtp_config(closed_port(), starttls=True, cafile="/nonexistent/ca.pem"), message())


# --------------------------------------------------------------------------- webhook

def hook_config(url: str, **extra: object) -> dict:
    return {"use": "webhook", "url": url, "timeout": FAST, **extra}


def test_webhook_posts_the_documented_json() -> None:
    with webhook_server() as server:
        channel(webhook).send(hook_config(server.url + "/hooks/sales?x=1", headers={"X-Team": "emea"}),
                              message(channel="chat", payload={"deal": {"id": "ACME-1", "amount": 120000}}))
    [request] = server.requests
    assert request.method == "POST" and request.path == "/hooks/sales?x=1"
    assert request.json() == {"key": message().key, "channel": "chat", "recipient": "alice@example.com",
                              "subject": "ACME: send-to-legal is overdue", "body": message().body,
                              "payload": {"deal": {"id": "ACME-1", "amount": 120000}}}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-flowctl-key"] == message().key
    assert request.headers["x-team"] == "emea"
    assert request.headers["user-agent"].startswith("flowctl/")
    assert "x-flowctl-signature" not in request.headers and "authorization" not in request.headers


def test_webhook_signature_verifies_with_the_secret_only() -> None:
    with webhook_server() as server:
        channel(webhook).send(hook_config(server.url, secret_env="CHAT_SECRET", secret="s3cret"),
                              message(body="Größe: ünïcode ✓"))
    [request] = server.requests

    def valid(secret: bytes) -> bool:
        expected = "sha256=" + hmac.new(secret, request.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, request.headers["x-flowctl-signature"])

    assert valid(b"s3cret")
    assert not valid(b"another")
    assert request.json()["body"] == "Größe: ünïcode ✓"


def test_webhook_headers_cannot_override_the_protocol_and_token_becomes_bearer() -> None:
    with webhook_server() as server:
        channel(webhook).send(hook_config(server.url, token_env="HOOK_TOKEN", token="t0k",
                                          headers={"content-type": "text/plain", "X-FLOWCTL-KEY": "forged"}),
                              message())
    [request] = server.requests
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-flowctl-key"] == message().key
    assert request.headers["authorization"] == "Bearer t0k"


def test_webhook_unset_secret_variable_is_named() -> None:
    with pytest.raises(DeliveryError, match="CHAT_SECRET"):
        channel(webhook).send(hook_config("http://127.0.0.1:9/", secret_env="CHAT_SECRET"), message())


@pytest.mark.parametrize("status", [500, 404, 302])
def test_webhook_non_2xx_fails_with_the_status(status: int) -> None:
    with webhook_server(status=status) as server:
        with pytest.raises(DeliveryError, match=f"HTTP {status}"):
            channel(webhook).send(hook_config(server.url), message())
    assert [r.method for r in server.requests] == ["POST"]  # a redirect is not followed


def test_webhook_500_mentions_the_receivers_answer() -> None:
    with webhook_server(status=500) as server:
        with pytest.raises(DeliveryError, match="500 Internal Server Error: receiver failed on purpose"):
            channel(webhook).send(hook_config(server.url), message())


def test_webhook_accepts_any_2xx() -> None:
    with webhook_server(status=204) as server:
        channel(webhook).send(hook_config(server.url), message())
    assert len(server.requests) == 1


def test_webhook_slow_receiver_times_out() -> None:
    with webhook_server(delay=5) as server:
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="timed out after 0.3s"):
            channel(webhook).send(hook_config(server.url, timeout=0.3), message())
        assert time.monotonic() - started < 2


def test_webhook_connection_refused() -> None:
    with pytest.raises(DeliveryError, match="connection refused"):
        channel(webhook).send(hook_config(f"http://127.0.0.1:{closed_port()}/hook"), message())


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "not a url", "", "http://[::1/x",
                                 "http:///nohost"])
def test_webhook_only_http_urls(url: str) -> None:
    with pytest.raises(DeliveryError, match="bad URL"):
        channel(webhook).send(hook_config(url), message())


def test_webhook_bad_port_and_bad_header_are_delivery_errors() -> None:
    with pytest.raises(DeliveryError, match="bad URL"):
        channel(webhook).send(hook_config("http://127.0.0.1:http/hook"), message())
    with webhook_server() as server:
        with pytest.raises(DeliveryError, match="invalid request"):
            channel(webhook).send(hook_config(server.url, headers={"X-Bad": "a\r\nInjected: 1"}), message())
    assert server.requests == []


def test_webhook_https_with_a_private_ca(cert: tuple[Path, Path]) -> None:
    with webhook_server(tls=server_tls_context(*cert)) as server:
        channel(webhook).send(hook_config(server.url, cafile=str(cert[0])), message())
        with pytest.raises(DeliveryError, match="certificate not trusted"):
            channel(webhook).send(hook_config(server.url), message())
        channel(webhook).send(hook_config(server.url, tls_verify=False), message())
    assert len(server.requests) == 2


@pytest.mark.parametrize("url", ["http://bob:pa55word@127.0.0.1:{port}/hook", "http://:pa55word@127.0.0.1:{port}/",
                                 "http://bob%40corp:pa55word@127.0.0.1:{port}/", "http://pa55word@127.0.0.1:{port}/"])
def test_webhook_url_userinfo_never_in_a_message(url: str) -> None:
    with pytest.raises(DeliveryError) as failure:
        channel(webhook).send(hook_config(url.format(port=closed_port())), message())
    assert "pa55word" not in str(failure.value) and "connection refused" in str(failure.value)
    with pytest.raises(DeliveryError, match="bad URL") as bad:
        channel(webhook).send(hook_config("ftp://bob:pa55word@host/x"), message())
    assert "pa55word" not in str(bad.value)


def test_webhook_url_userinfo_is_sent_as_basic_auth() -> None:
    with webhook_server() as server:
        channel(webhook).send(hook_config(server.url.replace("://", "://bob:pa55word@")), message())
    assert server.requests[0].headers["authorization"] == "Basic " + base64.b64encode(b"bob:pa55word").decode()


@pytest.mark.parametrize("value", ["s3cret-token\n", "s3cret-token\r\n", "s3cret\r\nX-Injected: 1", "s3cret\0",
                                   "s3cret\n "])
def test_webhook_header_values_with_line_breaks_are_refused_without_showing_them(value: str) -> None:
    with webhook_server() as server:
        for config in (hook_config(server.url, headers={"X-Api-Key": value}),
                       hook_config(server.url, token_env="HOOK_TOKEN", token=value)):
            with pytest.raises(DeliveryError, match="line break") as failure:
                channel(webhook).send(config, message())
            assert "s3cret" not in str(failure.value)
    assert server.requests == []
