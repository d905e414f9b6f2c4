"""The `webhook` channel: each notification POSTed as JSON to a URL.

Receivers de-duplicate on the `X-Flowctl-Key` header (a message is sent again when an
earlier attempt's outcome was unknown) and authenticate with `X-Flowctl-Signature`, an
HMAC-SHA256 of the exact body bytes, as GitHub's `X-Hub-Signature-256`.
"""
from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import http.client
import json
import re
import ssl
import time
import urllib.parse
import urllib.request

from flowctl import __version__
from flowctl.hookspecs import hookimpl
from flowctl.plugins._tls import tls_context
from flowctl.hooktypes import ChannelType, DeliveryError, Message

DEFAULT_TIMEOUT = 10.0
_ENV_NOTE = ("The core reads the variable when it sends and passes its value to the "
             "channel as `{key}`; the secret never appears in the workflow file.")

CONFIG_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Webhook channel",
    "description": "POSTs each notification as JSON: {key, channel, recipient, subject, body, payload}, "
                   "with headers `X-Flowctl-Key` (for de-duplication) and, with `secret_env`, "
                   "`X-Flowctl-Signature: sha256=<hex HMAC of the body>`. Any status but 2xx is a failure.",
    "type": "object",
    "required": ["use", "url"],
    "additionalProperties": False,
    "properties": {
        "use": {"title": "Use", "description": "Channel type: `webhook`.", "const": "webhook"},
        "url": {"title": "URL", "description": "The http:// or https:// address to POST to. Redirects are "
                                               "not followed.",
                "type": "string", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+"},
        "secret_env": {"title": "Signing secret variable",
                       "description": "Environment variable holding the shared secret; when set, each request "
                                      "carries `X-Flowctl-Signature: sha256=<hex HMAC-SHA256 of the body>`. "
                                      + _ENV_NOTE.format(key="secret"),
                       "type": "string", "minLength": 1},
        "token_env": {"title": "Bearer token variable",
                      "description": "Environment variable holding a token sent as `Authorization: Bearer "
                                     "<token>`. " + _ENV_NOTE.format(key="token"),
                      "type": "string", "minLength": 1},
        "headers": {"title": "Extra headers", "description": "Static headers added to every request. They "
                                                             "cannot replace Content-Type, X-Flowctl-Key or "
                                                             "X-Flowctl-Signature; put secrets in `token_env`.",
                    "type": "object", "additionalProperties": {"type": "string"}},
        "timeout": {"title": "Timeout", "description": "Seconds to wait for the connection and for the "
                                                       "response (default 10).",
                    "type": "number", "exclusiveMinimum": 0, "default": DEFAULT_TIMEOUT},
        "tls_verify": {"title": "Verify TLS certificate",
                       "description": "Check an https server's certificate and host name (default true). "
                                      "`false` accepts any certificate: for tests only.",
                       "type": "boolean", "default": True},
        "cafile": {"title": "CA file", "description": "PEM file of the certificate authorities to trust for "
                                                      "https instead of the system's.",
                   "type": "string", "minLength": 1},
    },
}


def body_bytes(message: Message) -> bytes:
    """The documented JSON body; `default=str` keeps a stray date in a payload from failing the send."""
    document = {"key": message.key, "channel": message.channel, "recipient": message.recipient,
                "subject": message.subject, "body": message.body, "payload": message.payload}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def signature(secret: str | bytes, body: bytes) -> str:
    """The `X-Flowctl-Signature` value for a body."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


MAX_RETRY_AFTER = 30.0  # seconds a 429's Retry-After may ask; a longer wait fails the message (next run)
RATE_LIMIT_TRIES = 3  # 429 answers honoured per message before it fails
_BROKEN_KEEPALIVE = (http.client.RemoteDisconnected, http.client.BadStatusLine, BrokenPipeError,
                     ConnectionResetError, ConnectionAbortedError)


def _target(url: str) -> urllib.parse.SplitResult:
    try:
        parts = urllib.parse.urlsplit(url)
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError:  # e.g. an unclosed IPv6 bracket
        valid = False
    if not valid:
        raise DeliveryError(f"bad URL {_shown(url)!r}: only http:// and https:// URLs are allowed")
    return parts


def _shown(url: str) -> str:
    """A URL as messages show it: without the user and password it may carry."""
    return re.sub(r"(?<=://)[^/?#@]*@", "***@", url)


class WebhookSession:
    """One channel's deliveries in one run: its TLS context built once, one keep-alive
    connection to its host, reopened when the server closed it."""

    def __init__(self, config: dict):
        self.config = config
        self.url = str(config.get("url") or "")
        self.parts = _target(self.url)
        self.timeout = _timeout(config.get("timeout", DEFAULT_TIMEOUT))
        self.https = self.parts.scheme.lower() == "https"
        self.context = tls_context(config) if self.https else None
        host = self.parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # an IPv6 address, bracketed as in a URL
        self.where = f"{self.parts.scheme}://{host}" + (f":{self.parts.port}" if self.parts.port else "")
        self.headers = _headers(config, self.parts)
        self.conn: http.client.HTTPConnection | None = None
        self.path = urllib.parse.urlunsplit(("", "", self.parts.path or "/", self.parts.query, ""))
        self.sleep = time.sleep
        self.proxy_headers: dict[str, str] = {}  # Proxy-Authorization, for a plain-http proxy

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self.parts.hostname or "", self.parts.port
        proxy = _proxy_for(self.parts)
        auth = _proxy_auth(proxy) if proxy else {}
        if self.https:
            if proxy:
                conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                    proxy.hostname or "", proxy.port, timeout=self.timeout, context=self.context)
                conn.set_tunnel(host, port, headers=auth or None)
            else:
                conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self.context)
        elif proxy:
            conn = http.client.HTTPConnection(proxy.hostname or "", proxy.port, timeout=self.timeout)
            self.proxy_headers = auth
            self.path = urllib.parse.urlunsplit(("http", self.parts.netloc.rpartition("@")[2], self.parts.path or "/",
                                                 self.parts.query, ""))
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        return conn

    def send(self, message: Message) -> None:
        body = body_bytes(message)
        headers = {**self.headers, "X-Flowctl-Key": key_header(message.key),
                   "Content-Length": str(len(body))}
        if (secret := _secret(self.config, "secret")) is not None:
            headers["X-Flowctl-Signature"] = signature(secret, body)
        tries = 0
        while True:
            status, reason, excerpt, wait = self._post(body, headers)
            if 200 <= status < 300:  # a 2xx status is delivery
                return
            if status == 429 and wait is not None and wait <= MAX_RETRY_AFTER and tries < RATE_LIMIT_TRIES:
                tries += 1
                self.sleep(wait)
                continue
            after = f" (Retry-After {wait:g}s)" if status == 429 and wait is not None else ""
            raise DeliveryError(f"{self.where} answered HTTP {status} {reason}{after}{excerpt}")

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, str, float | None]:
        for attempt in (1, 2):
            reused = self.conn is not None
            try:
                if self.conn is None:
                    self.conn = self._connect()
                self.conn.request("POST", self.path, body, {**headers, **self.proxy_headers})
                response = self.conn.getresponse()
                text = response.read(65536)
                if response.will_close or not response.isclosed():  # not reusable (or a body left unread)
                    self.close()
                wait = _retry_after(response.getheader("Retry-After"))
                excerpt = " ".join(text[:300].decode("utf-8", "replace").split()) if response.status >= 300 else ""
                return response.status, response.reason, f": {excerpt[:200]}" if excerpt else "", wait
            except _BROKEN_KEEPALIVE as exc:
                self.close()
                if not (reused and attempt == 1):  # a kept connection the server closed meanwhile: once more
                    raise DeliveryError(_reason(exc, self.where, self.timeout)) from exc
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self.close()
                raise DeliveryError(_reason(exc, self.where, self.timeout)) from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _headers(config: dict, parts: urllib.parse.SplitResult) -> dict[str, str]:
    """The channel's static headers; the protocol's own come last and win over any case."""
    fixed = {"content-type": "Content-Type", "user-agent": "User-Agent", "x-flowctl-key": "X-Flowctl-Key",
             "x-flowctl-signature": "X-Flowctl-Signature", "content-length": "Content-Length"}
    headers = {str(k): _header_value(str(k), str(v)) for k, v in (config.get("headers") or {}).items()
               if str(k).lower() not in fixed}
    headers.update({"Content-Type": "application/json", "User-Agent": f"flowctl/{__version__}"})
    if (token := _secret(config, "token")) is not None:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        headers["Authorization"] = _header_value("Authorization", f"Bearer {token}")
    elif parts.username is not None:  # user:password@ in the URL: HTTP Basic, as curl does
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return headers


_ASCII_BUT_PERCENT = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def key_header(key: str) -> str:
    """The outbox key as the `X-Flowctl-Key` value. A header carries ASCII, and a key holds
    the deal id, which may be `Д-1` or `客户-1`: a key that is not ASCII is sent with its
    other characters (and `%`) percent-encoded as UTF-8; the body's `key` is the key as is."""
    if key.isascii():
        return _header_value("X-Flowctl-Key", key)
    return urllib.parse.quote(key, safe=_ASCII_BUT_PERCENT)


def _header_value(name: str, value: str) -> str:
    """A value http.client would refuse (a line break, a NUL) is refused here, naming the
    header only: the value may be a secret."""
    if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
        raise DeliveryError(f"invalid request: bad header name {name!r}")
    if any(c in value for c in "\r\n\0"):
        raise DeliveryError(f"invalid request: the value of header {name} has a line break or NUL (value not shown)")
    try:
        value.encode("latin-1")  # what http.client sends; its own error would quote the character
    except UnicodeEncodeError:
        raise DeliveryError(f"invalid request: the value of header {name} has a character an HTTP header "
                            "cannot carry (value not shown)") from None
    return value


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def _proxy_for(parts: urllib.parse.SplitResult) -> urllib.parse.SplitResult | None:
    """The proxy the environment names for this URL (*_proxy, no_proxy), as urllib would use."""
    proxy = urllib.request.getproxies().get(parts.scheme.lower())
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    found = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
    return found if found.hostname else None


def _proxy_auth(proxy: urllib.parse.SplitResult) -> dict[str, str]:
    """`user:password@` in a *_proxy variable, as Basic proxy credentials (urllib's rule)."""
    if proxy.username is None:
        return {}
    credentials = f"{urllib.parse.unquote(proxy.username)}:{urllib.parse.unquote(proxy.password or '')}"
    return {"Proxy-Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def open_session(config: dict) -> WebhookSession:
    return WebhookSession(config)


def send(config: dict, message: Message) -> None:
    """One message on its own connection (a run delivers through `open_session`)."""
    session = WebhookSession(config)
    try:
        session.send(message)
    finally:
        session.close()


def _reason(reason: object, where: str, timeout: float) -> str:
    if isinstance(reason, TimeoutError) or str(reason) == "timed out":
        return f"timed out after {timeout:g}s waiting for {where}"
    if isinstance(reason, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS failed with {where}: certificate not trusted ({reason.verify_message})"
    if isinstance(reason, ssl.SSLError):
        return f"TLS failed with {where}: {reason.reason or reason}"
    if isinstance(reason, OSError) and reason.strerror:
        return f"cannot reach {where}: {reason.strerror}"
    if isinstance(reason, http.client.InvalidURL):
        return f"bad URL: {reason}"
    if isinstance(reason, ValueError):  # e.g. a header name or value http.client refuses
        return f"invalid request: {reason}"
    return f"cannot reach {where}: {str(reason) or type(reason).__name__}"


def _secret(config: dict, key: str) -> str | None:
    """The value the core resolved from `<key>_env`; an unset variable is a delivery error."""
    value = config.get(key)
    if value in (None, "") and config.get(f"{key}_env"):
        raise DeliveryError(f"environment variable {config[f'{key}_env']} ({key}_env) is not set")
    return None if value in (None, "") else str(value)


def _timeout(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = 0.0
    if number <= 0:
        raise DeliveryError(f"`timeout` must be a positive number of seconds, not {value!r}")
    return number


@hookimpl
def flowctl_channel_types() -> list[ChannelType]:
    return [ChannelType(name="webhook", send=send, config_schema=CONFIG_SCHEMA, open=open_session)]
