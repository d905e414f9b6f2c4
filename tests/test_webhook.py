"""plugins/webhook.py: the webhook channel against a real HTTP receiver on loopback: the
documented JSON body and headers, the HMAC signature, tokens and URL credentials, one
kept connection per session (reopened when the receiver closed it), 429 with Retry-After,
proxies, and every failure as a DeliveryError that shows no secret."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import time
import urllib.parse
from pathlib import Path

import pytest

from channel_messages import FAST, cert, message, no_proxy  # noqa: F401 (fixtures)
from flowctl.hooktypes import DeliveryError, Message
from flowctl.plugins import webhook
from servers import closed_port, server_tls_context, webhook_server


def hook_config(url: str, **extra: object) -> dict:
    return {"use": "webhook", "url": url, "timeout": FAST, **extra}


def test_webhook_posts_the_documented_json() -> None:
    with webhook_server() as server:
        webhook.send(hook_config(server.url + "/hooks/sales?x=1", headers={"X-Team": "emea"}),
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
        webhook.send(hook_config(server.url, secret_env="CHAT_SECRET", secret="s3cret"),
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
        webhook.send(hook_config(server.url, token_env="HOOK_TOKEN", token="t0k",
                                          headers={"content-type": "text/plain", "X-FLOWCTL-KEY": "forged"}),
                              message())
    [request] = server.requests
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-flowctl-key"] == message().key
    assert request.headers["authorization"] == "Bearer t0k"


def test_webhook_unset_secret_variable_is_named() -> None:
    with pytest.raises(DeliveryError, match="CHAT_SECRET"):
        webhook.send(hook_config("http://127.0.0.1:9/", secret_env="CHAT_SECRET"), message())


@pytest.mark.parametrize("status", [500, 404, 302])
def test_webhook_non_2xx_fails_with_the_status(status: int) -> None:
    with webhook_server(status=status) as server:
        with pytest.raises(DeliveryError, match=f"HTTP {status}"):
            webhook.send(hook_config(server.url), message())
    assert [r.method for r in server.requests] == ["POST"]  # a redirect is not followed


def test_webhook_500_mentions_the_receivers_answer() -> None:
    with webhook_server(status=500) as server:
        with pytest.raises(DeliveryError, match="500 Internal Server Error: receiver failed on purpose"):
            webhook.send(hook_config(server.url), message())


def test_webhook_accepts_any_2xx() -> None:
    with webhook_server(status=204) as server:
        webhook.send(hook_config(server.url), message())
    assert len(server.requests) == 1


def test_webhook_slow_receiver_times_out() -> None:
    with webhook_server(delay=5) as server:
        with pytest.raises(DeliveryError, match="timed out after 0.3s"):
            webhook.send(hook_config(server.url, timeout=0.3), message())


def test_webhook_connection_refused() -> None:
    with pytest.raises(DeliveryError, match="connection refused"):
        webhook.send(hook_config(f"http://127.0.0.1:{closed_port()}/hook"), message())


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "not a url", "", "http://[::1/x",
                                 "http:///nohost"])
def test_webhook_only_http_urls(url: str) -> None:
    with pytest.raises(DeliveryError, match="bad URL"):
        webhook.send(hook_config(url), message())


def test_webhook_bad_port_and_bad_header_are_delivery_errors() -> None:
    with pytest.raises(DeliveryError, match="bad URL"):
        webhook.send(hook_config("http://127.0.0.1:http/hook"), message())
    with webhook_server() as server:
        with pytest.raises(DeliveryError, match="invalid request"):
            webhook.send(hook_config(server.url, headers={"X-Bad": "a\r\nInjected: 1"}), message())
    assert server.requests == []


def test_webhook_https_with_a_private_ca(cert: tuple[Path, Path]) -> None:
    with webhook_server(tls=server_tls_context(*cert)) as server:
        webhook.send(hook_config(server.url, cafile=str(cert[0])), message())
        with pytest.raises(DeliveryError, match="certificate not trusted"):
            webhook.send(hook_config(server.url), message())
        webhook.send(hook_config(server.url, tls_verify=False), message())
    assert len(server.requests) == 2


@pytest.mark.parametrize("url", ["http://bob:pa55word@127.0.0.1:{port}/hook", "http://:pa55word@127.0.0.1:{port}/",
                                 "http://bob%40corp:pa55word@127.0.0.1:{port}/", "http://pa55word@127.0.0.1:{port}/"])
def test_webhook_url_userinfo_never_in_a_message(url: str) -> None:
    with pytest.raises(DeliveryError) as failure:
        webhook.send(hook_config(url.format(port=closed_port())), message())
    assert "pa55word" not in str(failure.value) and "connection refused" in str(failure.value)
    with pytest.raises(DeliveryError, match="bad URL") as bad:
        webhook.send(hook_config("ftp://bob:pa55word@host/x"), message())
    assert "pa55word" not in str(bad.value)


def test_webhook_url_userinfo_is_sent_as_basic_auth() -> None:
    with webhook_server() as server:
        webhook.send(hook_config(server.url.replace("://", "://bob:pa55word@")), message())
    assert server.requests[0].headers["authorization"] == "Basic " + base64.b64encode(b"bob:pa55word").decode()


@pytest.mark.parametrize("value", ["s3cret-token\n", "s3cret-token\r\n", "s3cret\r\nX-Injected: 1", "s3cret\0",
                                   "s3cret\n "])
def test_webhook_header_values_with_line_breaks_are_refused_without_showing_them(value: str) -> None:
    with webhook_server() as server:
        for config in (hook_config(server.url, headers={"X-Api-Key": value}),
                       hook_config(server.url, token_env="HOOK_TOKEN", token=value)):
            with pytest.raises(DeliveryError, match="line break") as failure:
                webhook.send(config, message())
            assert "s3cret" not in str(failure.value)
    assert server.requests == []


def test_a_connection_the_server_closed_while_idle_is_reopened():
    with webhook_server(keep_alive=True, idle_close=0.2) as server:
        session = webhook.open_session({"use": "webhook", "url": server.url, "timeout": 5})
        try:
            session.send(Message("k1", "hook", None, "s", "b", {}))
            time.sleep(0.6)  # the server hangs up the idle connection
            session.send(Message("k2", "hook", None, "s", "b", {}))
        finally:
            session.close()
    assert [r.headers["x-flowctl-key"] for r in server.requests] == ["k1", "k2"]
    assert server.connections == 2


def test_429_with_retry_after_is_honoured():
    with webhook_server(keep_alive=True, throttle=2, retry_after="1") as server:
        session = webhook.open_session({"use": "webhook", "url": server.url, "timeout": 5})
        waits: list[float] = []
        session.sleep = waits.append
        try:
            session.send(Message("k1", "hook", None, "s", "b", {}))
        finally:
            session.close()
    assert waits == [1.0, 1.0] and len(server.requests) == 3


def test_429_asking_a_long_wait_fails_the_message_for_the_next_run():
    with webhook_server(throttle=1, retry_after="3600") as server:
        with pytest.raises(DeliveryError, match=r"HTTP 429 .*Retry-After 3600s"):
            webhook.send({"use": "webhook", "url": server.url, "timeout": 5}, Message("k", "hook", None, "s", "b", {}))


# --------------------------------------------------------------------------- the parts, in process

def test_the_body_is_compact_utf8_json_and_a_stray_date_in_the_payload_is_text() -> None:
    body = webhook.body_bytes(Message("k", "chat", None, "Größe", "b", {"on": dt.date(2026, 1, 2), "n": [1.5]}))
    assert body == ('{"key":"k","channel":"chat","recipient":null,"subject":"Größe","body":"b",'
                    '"payload":{"on":"2026-01-02","n":[1.5]}}').encode("utf-8")


@pytest.mark.parametrize("secret", ["s3cret", b"s3cret", "ünï"])
def test_the_signature_is_the_hmac_sha256_of_the_body(secret: str | bytes) -> None:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    for body in (b"", b"{}", "ünïcode".encode("utf-8")):
        assert webhook.signature(secret, body) == "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("url,shown", [("http://bob:pw@h/x", "http://***@h/x"), ("https://pw@h:1/", "https://***@h:1/"),
                                       ("http://h/a@b", "http://h/a@b"), ("http://h/?q=a@b", "http://h/?q=a@b"),
                                       ("ftp://u:p@h", "ftp://***@h"), ("", "")])
def test_a_url_is_shown_without_its_credentials(url: str, shown: str) -> None:
    assert webhook._shown(url) == shown


@pytest.mark.parametrize("url,where,path", [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080", "/"),
    ("HTTPS://example.com/hooks/a?x=1&y=2#frag", "https://example.com", "/hooks/a?x=1&y=2"),
    ("http://bob:pw@hooks.example.com/in", "http://hooks.example.com", "/in"),
    ("http://[::1]:81/v6", "http://[::1]:81", "/v6"), ("http://[fe80::1]", "http://[fe80::1]", "/"),
])
def test_a_session_posts_to_the_urls_path_and_names_its_host_only(url: str, where: str, path: str) -> None:
    session = webhook.open_session({"url": url, "tls_verify": False})
    assert (session.where, session.path) == (where, path)


@pytest.mark.parametrize("timeout", [0, -1, "soon", None, [1]])
def test_a_timeout_that_is_no_positive_number_is_refused(timeout: object) -> None:
    with pytest.raises(DeliveryError, match="^`timeout` must be a positive number of seconds, not "):
        webhook.open_session(hook_config("http://127.0.0.1/", timeout=timeout))


@pytest.mark.parametrize("name", ["X Bad", "X:Bad", "", "X-Ünï", "X\nY"])
def test_a_bad_header_name_is_refused(name: str) -> None:
    with pytest.raises(DeliveryError, match="^invalid request: bad header name "):
        webhook.open_session(hook_config("http://127.0.0.1/", headers={name: "v"}))


def test_headers_protocol_headers_win_and_a_token_replaces_any_authorization() -> None:
    config = hook_config("http://bob:pw@127.0.0.1/", token="t0k", headers={
        "authorization": "Basic forged", "User-Agent": "forged", "Content-Length": "1", "X-Flowctl-Signature": "x",
        "X-Team": "emea"})
    headers = webhook.open_session(config).headers
    assert {k.lower(): v for k, v in headers.items()} == {
        "x-team": "emea", "content-type": "application/json", "user-agent": headers["User-Agent"],
        "authorization": "Bearer t0k"}
    assert headers["User-Agent"].startswith("flowctl/")


@pytest.mark.parametrize("userinfo,credentials", [("bob:pw", "bob:pw"), ("bob%40corp:p%3Aw", "bob@corp:p:w"),
                                                  ("bob", "bob:"), (":pw", ":pw")])
def test_url_credentials_are_percent_decoded_into_basic_auth(userinfo: str, credentials: str) -> None:
    headers = webhook.open_session(hook_config(f"http://{userinfo}@127.0.0.1/")).headers
    assert headers["Authorization"] == "Basic " + base64.b64encode(credentials.encode()).decode()


@pytest.mark.parametrize("value,seconds", [(None, None), ("5", 5.0), (" 7 ", 7.0), ("0", 0.0), ("-1", None),
                                           ("1.5", None), ("soon", None), ("", None),
                                           ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date passed: now
                                           ("Wed, 21 Oct 2015 07:28:00 -0000", None)])  # no time zone
def test_retry_after_is_seconds_or_an_http_date(value: str | None, seconds: float | None) -> None:
    assert webhook._retry_after(value) == seconds


def test_retry_after_as_a_future_http_date_is_the_wait_until_then() -> None:
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=120)
    wait = webhook._retry_after(when.strftime("%a, %d %b %Y %H:%M:%S GMT"))
    assert wait is not None and 100 < wait <= 120


@pytest.mark.parametrize("retry_after,waits,requests", [("1", [1.0, 1.0, 1.0], 4), (None, [], 1),
                                                        ("31", [], 1), ("30", [30.0, 30.0, 30.0], 4)])
def test_a_429_is_honoured_three_times_at_most_and_only_with_a_short_retry_after(
        retry_after: str | None, waits: list[float], requests: int) -> None:
    with webhook_server(keep_alive=True, throttle=10, retry_after=retry_after or "") as server:
        session = webhook.open_session(hook_config(server.url))
        slept: list[float] = []
        session.sleep = slept.append
        try:
            with pytest.raises(DeliveryError, match="HTTP 429 Too Many Requests"):
                session.send(message())
        finally:
            session.close()
    assert slept == waits and len(server.requests) == requests


@pytest.mark.parametrize("proxy", ["{url}", "{host}"])  # with a scheme, and bare as curl accepts it
def test_a_proxy_the_environment_names_gets_the_absolute_url(monkeypatch: pytest.MonkeyPatch, proxy: str) -> None:
    with webhook_server() as server:
        monkeypatch.setenv("http_proxy", proxy.format(url=server.url, host=server.url.split("://")[1]))
        monkeypatch.setenv("no_proxy", "")
        webhook.send(hook_config("http://hooks.example.invalid:81/in?x=1"), message())
    assert server.requests[0].path == "http://hooks.example.invalid:81/in?x=1"


def test_no_proxy_bypasses_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with webhook_server() as server:
        webhook.send(hook_config(server.url + "/in"), message())
    assert server.requests[0].path == "/in"


@pytest.mark.parametrize("exc,reason", [
    (TimeoutError(), "timed out after 1.5s waiting for http://h"),
    (OSError("timed out"), "timed out after 1.5s waiting for http://h"),
    (ConnectionRefusedError(111, "Connection refused"), "connection refused by http://h"),
    (OSError(101, "Network is unreachable"), "cannot reach http://h: Network is unreachable"),
    (http.client.InvalidURL("nonnumeric port"), "bad URL: nonnumeric port"),
    (ValueError("bad header"), "invalid request: bad header"),
    (http.client.RemoteDisconnected("Remote end closed connection without response"),
     "cannot reach http://h: Remote end closed connection without response"),
    (http.client.IncompleteRead(b""), "cannot reach http://h: IncompleteRead(0 bytes read)"),
    (http.client.HTTPException(), "cannot reach http://h: HTTPException"),  # no text: its kind
    (http.client.ResponseNotReady(), "cannot reach http://h: ResponseNotReady"),
])
def test_each_failure_has_a_one_line_reason(exc: BaseException, reason: str) -> None:
    assert webhook._reason(exc, "http://h", 1.5) == reason


def test_the_channel_type_is_registered_as_webhook_with_sessions() -> None:
    (channel,) = webhook.flowctl_channel_types()
    assert (channel.name, channel.send, channel.open, channel.config_schema) == (
        "webhook", webhook.send, webhook.open_session, webhook.CONFIG_SCHEMA)



@pytest.mark.parametrize("key,header", [
    ("ACME-1|won|rule-0|chat|a@example.com", "ACME-1|won|rule-0|chat|a@example.com"),  # ASCII: as it is
    ("100%-deal|won", "100%-deal|won"),
    ("Д-1:deal_won|0|chat|", "%D0%94-1:deal_won|0|chat|"), ("客户-1|won", "%E5%AE%A2%E6%88%B7-1|won"),
    ("Jörg 100%|won", "J%C3%B6rg 100%25|won"),
])
def test_any_deal_ids_message_is_delivered_with_its_key_in_an_ascii_header(key: str, header: str) -> None:
    with webhook_server() as server:
        webhook.send(hook_config(server.url), message(key=key))
    [request] = server.requests
    assert request.headers["x-flowctl-key"] == header and request.json()["key"] == key
    assert urllib.parse.unquote(header) == key or key.isascii()



@pytest.mark.parametrize("config", [{"headers": {"X-Team": "✓ emea"}}, {"token": "s3cr✓t-token"},
                                    {"headers": {"X-Api-Key": "s3cr€t"}}])
def test_a_header_value_http_cannot_carry_is_refused_naming_the_header_not_the_value(config: dict) -> None:
    with webhook_server() as server:
        with pytest.raises(DeliveryError, match=r"^invalid request: the value of header (X-Team|Authorization|X-Api-Key) "
                                                r"has a character an HTTP header cannot carry \(value not shown\)$"):
            webhook.send(hook_config(server.url, **config), message())
    assert server.requests == []


def test_a_latin_1_header_value_is_sent_as_http_allows() -> None:
    with webhook_server() as server:
        webhook.send(hook_config(server.url, headers={"X-Team": "Größe"}), message())
    assert server.requests[0].headers["x-team"] == "Größe"



def test_proxy_credentials_in_the_environment_are_sent_to_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with webhook_server() as proxy:
        monkeypatch.setenv("http_proxy", proxy.url.replace("://", "://corp%5Cbob:pa%3Ass@"))
        monkeypatch.setenv("no_proxy", "")
        webhook.send(hook_config("http://hooks.example.invalid/in"), message())
    [request] = proxy.requests
    assert request.headers["proxy-authorization"] == "Basic " + base64.b64encode(b"corp\\bob:pa:ss").decode()
    assert request.path == "http://hooks.example.invalid/in"


def test_an_https_tunnel_asks_the_proxy_with_its_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "http://bob:pw@proxy.example.invalid:3128")
    monkeypatch.setenv("no_proxy", "")
    session = webhook.open_session(hook_config("https://hooks.example.invalid/in", tls_verify=False))
    conn = session._connect()
    assert (conn.host, conn.port) == ("proxy.example.invalid", 3128)
    assert conn._tunnel_host == "hooks.example.invalid"  # type: ignore[attr-defined]
    assert conn._tunnel_headers == {"Proxy-Authorization": "Basic " + base64.b64encode(b"bob:pw").decode()}  # type: ignore[attr-defined]
    assert session.proxy_headers == {}  # not sent to the receiver through the tunnel


def test_a_proxy_without_credentials_gets_no_authorization(monkeypatch: pytest.MonkeyPatch) -> None:
    with webhook_server() as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.setenv("no_proxy", "")
        webhook.send(hook_config("http://hooks.example.invalid/in"), message())
    assert "proxy-authorization" not in proxy.requests[0].headers
