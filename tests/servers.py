"""Real loopback servers for tests: SMTP (aiosmtpd), an HTTP webhook receiver, a server
that never answers, a closed port, and a self-signed certificate.

Every server binds 127.0.0.1 on a free port and is a context manager that shuts it down.
Test modules import them with `from servers import ...` (tests/ is on sys.path).
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import email
import email.policy
import ipaddress
import json
import socket
import ssl
import subprocess
import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

HOST = "127.0.0.1"


# --------------------------------------------------------------------------- TLS

def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """(cert.pem, key.pem) for CN=localhost with SANs localhost and 127.0.0.1.

    The certificate is its own CA, so a client trusts it with `cafile: cert.pem`.
    """
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _cert_with_cryptography(cert, key)
    except ImportError:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-addext", "basicConstraints=critical,CA:TRUE"],
                       check=True, capture_output=True)
    return cert, key


def _cert_with_cryptography(cert_path: Path, key_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())  # EC: far faster to generate than RSA
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


# --------------------------------------------------------------------------- plain sockets

def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port whose connections the kernel accepts but nobody ever reads or answers."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen(8)  # never accept(): the handshake completes in the backlog, then silence
        yield sock.getsockname()[1]


# --------------------------------------------------------------------------- SMTP

@dataclasses.dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage
    login: str | None  # the authenticated user, if any
    tls: bool  # whether the session was encrypted (STARTTLS or implicit TLS)


@dataclasses.dataclass
class SmtpServer:
    host: str
    port: int
    mails: list[Mail] = dataclasses.field(default_factory=list)
    connections: int = 0  # SMTP sessions opened


class _SmtpHandler:
    def __init__(self, server: SmtpServer, reject: set[str], drop_after: int | None = None):
        self.server, self.reject, self.drop_after = server, reject, drop_after
        self.in_session: dict[int, int] = {}

    async def handle_MAIL(self, smtp: Any, session: Any, envelope: Any, address: str, options: list) -> str:
        count = self.in_session.get(id(session), 0)
        if self.drop_after is not None and count >= self.drop_after:  # as a server ending long sessions does
            smtp.transport.close()
            return "421 4.7.0 closing this session"
        self.in_session[id(session)] = count + 1
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, smtp: Any, session: Any, envelope: Any, address: str, options: list) -> str:
        if address in self.reject:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        self.server.mails.append(Mail(
            mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), data=data,
            # Parsed with Python's newlines, so tests compare bodies with plain strings.
            message=email.message_from_bytes(data.replace(b"\r\n", b"\n"), policy=email.policy.default),
            login=session.auth_data if session.authenticated else None,
            tls=smtp.transport.get_extra_info("ssl_object") is not None))
        return "250 OK"


@contextlib.contextmanager
def smtp_server(*, starttls: ssl.SSLContext | None = None, implicit_tls: ssl.SSLContext | None = None,
                users: dict[str, str] | None = None, auth_require_tls: bool = True,
                reject: set[str] | frozenset[str] = frozenset(),
                drop_after: int | None = None) -> Iterator[SmtpServer]:
    """An aiosmtpd server capturing every accepted mail in `.mails`.

    starttls: offer STARTTLS with this context. implicit_tls: TLS from the first byte.
    users: {login: password}; when given, AUTH is required to send. auth_require_tls:
    refuse AUTH before STARTTLS (aiosmtpd does not see implicit TLS: pass False with it).
    reject: recipient addresses answered with 550. drop_after: a session is closed by the
    server at its next message after this many.
    """
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="smtp-server", daemon=True)
    thread.start()
    state = SmtpServer(HOST, 0)
    handler = _SmtpHandler(state, set(reject), drop_after)

    def authenticator(smtp: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and users is not None:
            login, password = data.login.decode(), data.password.decode()
            if users.get(login) == password:
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    def protocol() -> SMTP:
        state.connections += 1
        return SMTP(handler, hostname="localhost", tls_context=starttls, loop=loop,
                    authenticator=authenticator if users is not None else None,
                    auth_required=users is not None, auth_require_tls=auth_require_tls)

    async def start() -> asyncio.AbstractServer:
        return await loop.create_server(protocol, HOST, 0, ssl=implicit_tls)

    async def stop(server: asyncio.AbstractServer) -> None:
        server.close()
        await server.wait_closed()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:  # open sessions, so the loop closes cleanly
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(5)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        asyncio.run_coroutine_threadsafe(stop(server), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


# --------------------------------------------------------------------------- HTTP

@dataclasses.dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclasses.dataclass
class WebhookServer:
    url: str
    status: int = 200  # what the receiver answers; tests may change it between requests
    delay: float = 0.0  # seconds to wait before answering
    requests: list[Request] = dataclasses.field(default_factory=list)
    release: threading.Event = dataclasses.field(default_factory=threading.Event)
    connections: int = 0  # TCP connections accepted
    throttle: int = 0  # this many next requests are answered 429 with Retry-After: retry_after


@contextlib.contextmanager
def webhook_server(*, status: int = 200, delay: float = 0.0, tls: ssl.SSLContext | None = None,
                   keep_alive: bool = False, idle_close: float | None = None, throttle: int = 0,
                   retry_after: str = "1") -> Iterator[WebhookServer]:
    """A ThreadingHTTPServer recording every request in `.requests` and answering `.status`.

    keep_alive: HTTP/1.1 with persistent connections (else HTTP/1.0, one request per
    connection); idle_close: a kept connection idle this many seconds is closed by the
    server without a word (as load balancers do); throttle: the first N requests are
    answered 429 Too Many Requests with `Retry-After: retry_after`."""
    state = WebhookServer(url="", status=status, delay=delay, throttle=throttle)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
        timeout = idle_close  # socket timeout while waiting for the next request: the server hangs up
        disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall each

        def setup(self) -> None:
            super().setup()
            with lock:
                state.connections += 1

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.requests.append(Request("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if state.delay:
                state.release.wait(state.delay)  # set on shutdown so no handler outlives the test
            with lock:
                throttled = state.throttle > 0
                state.throttle -= throttled
            if throttled:
                self.send_response(429)
                self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            try:
                self.send_response(state.status)
                if 300 <= state.status < 400:
                    self.send_header("Location", "/elsewhere")
                text = b"ok" if state.status < 400 else b"receiver failed on purpose"
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)
            except OSError:  # the client gave up (timeout tests)
                pass

        do_GET = do_POST  # noqa: N815 -- so a redirected GET would be visible, not a 501

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    httpd = ThreadingHTTPServer((HOST, 0), Handler)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    state.url = f"{'https' if tls else 'http'}://{HOST}:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
