"""The `webhook` channel: each notification POSTed as JSON to a URL.

Receivers de-duplicate on the `X-Flowctl-Key` header (a message is sent again when an
earlier attempt's outcome was unknown) and authenticate with `X-Flowctl-Signature`, an
HMAC-SHA256 of the exact body bytes, as GitHub's `X-Hub-Signature-256`.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import ssl
import urllib.error
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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET without the body and call that success.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def send(config: dict, message: Message) -> None:
    url = str(config.get("url") or "")
    try:
        parts = urllib.parse.urlsplit(url)
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        valid = False
    if not valid:
        raise DeliveryError(f"bad URL {url!r}: only http:// and https:// URLs are allowed")
    timeout = _timeout(config.get("timeout", DEFAULT_TIMEOUT))
    body = body_bytes(message)
    headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
    headers.update({"Content-Type": "application/json", "User-Agent": f"flowctl/{__version__}",
                    "X-Flowctl-Key": message.key})
    if (secret := _secret(config, "secret")) is not None:
        headers["X-Flowctl-Signature"] = signature(secret, body)
    if (token := _secret(config, "token")) is not None:
        headers["Authorization"] = f"Bearer {token}"
    # urllib keys headers by str.capitalize(): later entries replace user ones of any case.
    request = urllib.request.Request(url, data=body, method="POST")
    for name, value in headers.items():
        request.add_header(name, value)
    opener = urllib.request.build_opener(_NoRedirect(), urllib.request.HTTPSHandler(context=tls_context(config)))
    where = f"{parts.scheme}://{parts.netloc}"
    try:
        # A 2xx status is delivery: the response body is not read, so a slow body cannot fail it.
        opener.open(request, timeout=timeout).close()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"{where} answered HTTP {exc.code} {exc.reason}{_excerpt(exc)}") from exc
    except urllib.error.URLError as exc:
        raise DeliveryError(_reason(exc.reason, where, timeout)) from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise DeliveryError(_reason(exc, where, timeout)) from exc


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
    return f"cannot reach {where}: {reason or type(reason).__name__}"


def _excerpt(exc: urllib.error.HTTPError) -> str:
    """The start of an error response's body: receivers often say there what was wrong."""
    try:
        text = exc.read(300).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return ""
    text = " ".join(text.split())
    return f": {text[:200]}" if text else ""


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
    return [ChannelType(name="webhook", send=send, config_schema=CONFIG_SCHEMA)]
