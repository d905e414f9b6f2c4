"""The `smtp` channel: notifications sent as plain-text e-mail with smtplib.

Three connection modes: plain SMTP, STARTTLS (`starttls: true`, usually port 587) and
implicit TLS (`ssl: true`, or port 465). A run sends all its messages over one
connection per server (`open_session`: channels that name the same server, account and
TLS settings share it), reconnecting when the server drops it; a login
over plain SMTP is refused unless `allow_plaintext_auth: true`. Every failure becomes a DeliveryError so the
outbox keeps the message; the Message-ID is derived from the outbox key, so a message
sent again after a half-failed attempt can be recognised as a duplicate by the receiver.
"""
from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, parseaddr

from flowctl.hookspecs import hookimpl
from flowctl.plugins._tls import tls_context
from flowctl.hooktypes import ChannelType, DeliveryError, Message

DEFAULT_TIMEOUT = 10.0
_ENV_NOTE = ("The core reads the variable when it sends and passes its value to the "
             "channel as `{key}`; the secret never appears in the workflow file.")

CONFIG_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "SMTP channel",
    "description": "Sends each notification as a plain-text e-mail. Modes: plain SMTP "
                   "(default, port 25), STARTTLS (`starttls: true`, usually port 587), "
                   "implicit TLS (`ssl: true`, or port 465).",
    "type": "object",
    "required": ["use", "from"],
    "additionalProperties": False,
    "properties": {
        "use": {"title": "Use", "description": "Channel type: `smtp`.", "const": "smtp"},
        "host": {"title": "Host", "description": "SMTP server name or address (default `localhost`).",
                 "type": "string", "minLength": 1, "default": "localhost"},
        "port": {"title": "Port", "description": "SMTP server port. Default 25, or 465 with `ssl: true`; "
                                                 "465 implies `ssl: true` unless `ssl` or `starttls` is set.",
                 "type": "integer", "minimum": 1, "maximum": 65535},
        "starttls": {"title": "STARTTLS", "description": "Upgrade the connection to TLS with STARTTLS before "
                                                         "logging in; delivery fails if the server does not offer it.",
                     "type": "boolean", "default": False},
        "ssl": {"title": "Implicit TLS", "description": "Speak TLS from the first byte (SMTPS, port 465).",
                "type": "boolean"},
        "tls_verify": {"title": "Verify TLS certificate",
                       "description": "Check the server's certificate and host name (default true). "
                                      "`false` accepts any certificate: for tests only.",
                       "type": "boolean", "default": True},
        "cafile": {"title": "CA file", "description": "PEM file of the certificate authorities to trust instead "
                                                      "of the system's (a private CA, a self-signed server).",
                   "type": "string", "minLength": 1},
        "from": {"title": "From", "description": "Sender address, e.g. `Sales Ops <sales-ops@example.com>`.",
                 "type": "string", "minLength": 1},
        "to": {"title": "Default recipient", "description": "Address(es), comma-separated, used when the "
                                                            "notification rule names no recipient.",
               "type": "string", "minLength": 1},
        "user_env": {"title": "User variable", "description": "Environment variable holding the login user "
                                                              "name; when set, the channel logs in. "
                                                              + _ENV_NOTE.format(key="user"),
                     "type": "string", "minLength": 1},
        "password_env": {"title": "Password variable", "description": "Environment variable holding the login "
                                                                      "password. " + _ENV_NOTE.format(key="password"),
                         "type": "string", "minLength": 1},
        "allow_plaintext_auth": {"title": "Allow the password in clear",
                                 "description": "With `user_env`/`password_env` but neither `starttls` nor "
                                                "`ssl`, the channel refuses to log in (the password would cross "
                                                "the network in clear) unless this is true: for a server on a "
                                                "trusted network only.",
                                 "type": "boolean", "default": False},
        "timeout": {"title": "Timeout", "description": "Seconds to wait for the connection and for each server "
                                                       "reply (default 10).",
                    "type": "number", "exclusiveMinimum": 0, "default": DEFAULT_TIMEOUT},
    },
    "not": {"required": ["ssl", "starttls"],
            "properties": {"ssl": {"const": True}, "starttls": {"const": True}}},
}


def connection_mode(config: dict) -> tuple[str, int]:
    """('plain' | 'starttls' | 'ssl', port) for a channel config."""
    starttls = bool(config.get("starttls", False))
    port = None if config.get("port") is None else _int(config["port"], "port")
    use_ssl = config.get("ssl")
    if use_ssl is None:  # 465 is the SMTPS port: it speaks TLS from the first byte
        use_ssl = port == 465 and not starttls
    if use_ssl and starttls:
        raise DeliveryError("`ssl` and `starttls` exclude each other")
    if port is None:
        port = 465 if use_ssl else 25
    return ("ssl" if use_ssl else "starttls" if starttls else "plain"), port


def message_id(key: str, sender: str) -> str:
    """A Message-ID that is the same every time the same outbox message is sent."""
    address = parseaddr(sender)[1]
    domain = (address.rpartition("@")[2] if "@" in address else "") or "flowctl.invalid"
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}.flowctl@{domain}>"


def build_email(message: Message, sender: str, to: str) -> EmailMessage:
    email = EmailMessage()
    email["Subject"] = " ".join(message.subject.split())  # a rendered subject's stray newline must not break the header
    email["From"] = sender
    email["To"] = to
    email["Date"] = formatdate(localtime=True)
    email["Message-ID"] = message_id(message.key, sender)
    email["X-Flowctl-Key"] = message.key
    email.set_content(message.body)
    return email


class _Connection:
    """One SMTP session to a server, shared by every channel of a run that names the same
    server, account and TLS settings; opened at the first message, reopened once when the
    server dropped it between messages. Channels deliver side by side, so sends take turns."""

    def __init__(self, mode: str, host: str, port: int, timeout: float, user: str | None, password: str | None,
                 context: ssl.SSLContext | None):
        self.mode, self.host, self.port, self.timeout = mode, host, port, timeout
        self.user, self.password, self.context = user, password, context
        self.where = f"{host}:{port}"
        self.lock = threading.Lock()
        self.smtp: smtplib.SMTP | None = None
        self.users = 0

    def _connect(self) -> smtplib.SMTP:
        if self.mode == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.mode == "starttls":
                smtp.starttls(context=self.context)
            if self.user:
                smtp.login(self.user, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, email: EmailMessage, sender: str, recipients: list[str]) -> dict:
        with self.lock:
            for attempt in (1, 2):
                reused = self.smtp is not None
                try:
                    if self.smtp is None:
                        self.smtp = self._connect()
                    return self.smtp.send_message(email, sender, recipients)
                except (OSError, ValueError) as exc:  # smtplib and ssl errors are OSErrors
                    self._drop()
                    if reused and attempt == 1 and _dropped(exc):  # the server ended the kept session: once more
                        continue
                    raise DeliveryError(_reason(exc, self.where, self.timeout)) from exc
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    def quit(self) -> None:
        with self.lock:
            if self.smtp is not None:
                try:
                    self.smtp.quit()
                except OSError:  # the server already has every message; a failed QUIT changes nothing
                    pass
                # Not `with smtp:` -- its QUIT would wait a second timeout on a hung server.
                self._drop()


_open: dict[tuple, _Connection] = {}  # the connections of the sessions open now, by server
_open_lock = threading.Lock()


def _connection(config: dict, mode: str, host: str, port: int, timeout: float, user: str | None,
                password: str | None) -> _Connection:
    tls = (config.get("tls_verify", True) is not False, config.get("cafile"))
    key = (mode, host, port, user, password, tls)
    with _open_lock:
        conn = _open.get(key)
        if conn is None:
            context = tls_context(config) if mode != "plain" else None  # once per server and run
            conn = _open[key] = _Connection(mode, host, port, timeout, user, password, context)
        conn.users += 1
        return conn


def _release(conn: _Connection) -> None:
    with _open_lock:
        conn.users -= 1
        last = conn.users == 0
        if last:
            _open.pop(next(k for k, v in _open.items() if v is conn), None)
    if last:
        conn.quit()


class SmtpSession:
    """One channel's messages in one run, over its server's shared connection."""

    def __init__(self, config: dict):
        self.config = config
        self.sender = config.get("from")
        if not self.sender:
            raise DeliveryError("no sender: set `from` on the channel")
        mode, port = connection_mode(config)
        host = str(config.get("host") or "localhost")
        timeout = _number(config.get("timeout", DEFAULT_TIMEOUT), "timeout")
        user, password = _secret(config, "user"), _secret(config, "password")
        if user and password is None:
            raise DeliveryError("`user_env` is set but `password_env` is not")
        if user and mode == "plain" and config.get("allow_plaintext_auth") is not True:
            raise DeliveryError("refusing to send the SMTP password in clear: set `starttls: true` or `ssl: true` "
                                "(or `allow_plaintext_auth: true` for a server on a trusted network)")
        self.conn: _Connection | None = _connection(config, mode, host, port, timeout, user, password)

    def send(self, message: Message) -> None:
        to = message.recipient or self.config.get("to")
        recipients = [addr for _, addr in getaddresses([to]) if addr] if to else []
        if not recipients:
            raise DeliveryError("no recipient")
        try:
            email = build_email(message, str(self.sender), str(to))
        except (ValueError, TypeError) as exc:
            raise DeliveryError(f"cannot build the e-mail: {exc}") from exc
        if self.conn is None:
            raise DeliveryError("the session is closed")
        refused = self.conn.send(email, parseaddr(str(self.sender))[1], recipients)
        if refused:
            raise DeliveryError("recipient refused: " + "; ".join(
                f"{addr} ({_reply(code, text)})" for addr, (code, text) in refused.items()))

    def close(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            _release(conn)


def _dropped(exc: BaseException) -> bool:
    """The server closed the session (disconnected, or 421 "closing"): nothing was sent."""
    return isinstance(exc, (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError)) or (
        isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421)


def open_session(config: dict) -> SmtpSession:
    return SmtpSession(config)


def send(config: dict, message: Message) -> None:
    """One message on its own connection (a run delivers through `open_session`)."""
    session = SmtpSession(config)
    try:
        session.send(message)
    finally:
        session.close()


def _reason(exc: BaseException, where: str, timeout: float) -> str:
    """A one-line reason for a failed delivery."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"authentication failed: {_reply(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "recipient refused: " + "; ".join(
            f"{addr} ({_reply(code, text)})" for addr, (code, text) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"server {where} replied {_reply(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected) and "timed out" in str(exc):
        return f"timed out after {timeout:g}s waiting for {where}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"connection closed by {where}"
    if isinstance(exc, smtplib.SMTPException):  # e.g. STARTTLS or AUTH not offered by the server
        return f"{where}: {str(exc).rstrip('.')}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS failed with {where}: certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed with {where}: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g}s waiting for {where}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {where.rpartition(':')[0]}: {exc.strerror}"
    if isinstance(exc, OSError):
        return f"cannot talk to {where}: {exc.strerror or exc}"
    return f"cannot talk to {where}: {exc}"


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(text.split())}"


def _secret(config: dict, key: str) -> str | None:
    """The value the core resolved from `<key>_env`; an unset variable is a delivery error."""
    value = config.get(key)
    if value in (None, "") and config.get(f"{key}_env"):
        raise DeliveryError(f"environment variable {config[f'{key}_env']} ({key}_env) is not set")
    return None if value in (None, "") else str(value)


def _int(value: object, name: str) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise DeliveryError(f"`{name}` must be an integer, not {value!r}") from None


def _number(value: object, name: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DeliveryError(f"`{name}` must be a number, not {value!r}") from None
    if number <= 0:
        raise DeliveryError(f"`{name}` must be positive, not {value!r}")
    return number


@hookimpl
def flowctl_channel_types() -> list[ChannelType]:
    return [ChannelType(name="smtp", send=send, config_schema=CONFIG_SCHEMA, open=open_session)]
