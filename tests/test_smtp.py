"""plugins/smtp.py: the smtp channel against a real aiosmtpd server on loopback: the three
connection modes, logins and the refusal to send a password in clear, headers and
recipients, one shared connection per server and run, and every failure as a DeliveryError."""
from __future__ import annotations

import smtplib
import socket
import ssl
from pathlib import Path

import pytest

from channel_messages import FAST, cert, message, no_proxy  # noqa: F401 (fixtures)
from flowctl.hooktypes import DeliveryError
from flowctl.plugins import smtp
from servers import closed_port, server_tls_context, silent_server, smtp_server


def smtp_config(port: int, **extra: object) -> dict:
    return {"use": "smtp", "host": "127.0.0.1", "port": port, "from": "Sales Ops <sales-ops@example.com>",
            "timeout": FAST, **extra}


@pytest.mark.parametrize("extra", [{}, {"port": 587}, {"starttls": False}, {"ssl": False, "port": 25},
                                   {"allow_plaintext_auth": False}, {"allow_plaintext_auth": "yes"}])
def test_smtp_never_sends_a_password_in_clear_unless_allowed(extra: dict) -> None:
    with smtp_server(users={"bot": "s3cret"}, auth_require_tls=False) as server:
        config = {**smtp_config(server.port, user_env="U", password_env="P", user="bot", password="s3cret"), **extra}
        with pytest.raises(DeliveryError, match="password in clear") as failure:
            smtp.send(config, message())
        assert "s3cret" not in str(failure.value)
    assert server.connections == 0 and server.mails == []  # not even a connection


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_plaintext_login_when_the_channel_allows_it() -> None:
    with smtp_server(users={"bot": "s3cret"}, auth_require_tls=False) as server:
        smtp.send(smtp_config(server.port, user="bot", password="s3cret", allow_plaintext_auth=True), message())
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


def test_smtp_plain_delivers_a_plain_text_mail_with_flowctl_headers() -> None:
    with smtp_server() as server:
        smtp.send(smtp_config(server.port), message())
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
        send = smtp.send
        send(smtp_config(server.port), message())
        send(smtp_config(server.port), message())  # the outbox re-sending the same message
        send(smtp_config(server.port), message(key="another"))
    first, again, other = (mail.message["Message-ID"] for mail in server.mails)
    assert first == again != other
    assert first.startswith("<") and first.endswith("@example.com>")


def test_smtp_default_recipient_several_recipients_and_a_folded_subject() -> None:
    with smtp_server() as server:
        smtp.send(smtp_config(server.port, to="ops@example.com"),
                           message(recipient=None, subject="two\nlines"))
        smtp.send(smtp_config(server.port), message(recipient="a@example.com, B <b@example.com>"))
    assert server.mails[0].rcpt_tos == ["ops@example.com"]
    assert server.mails[0].message["Subject"] == "two lines"
    assert server.mails[1].rcpt_tos == ["a@example.com", "b@example.com"]


def test_smtp_without_a_recipient_fails() -> None:
    with pytest.raises(DeliveryError, match="^no recipient$"):
        smtp.send(smtp_config(closed_port()), message(recipient=None))


def test_smtp_starttls_trusting_the_servers_certificate(cert: tuple[Path, Path]) -> None:
    with smtp_server(starttls=server_tls_context(*cert)) as server:
        smtp.send(smtp_config(server.port, starttls=True, cafile=str(cert[0])), message())
    [mail] = server.mails
    assert mail.tls


def test_smtp_starttls_refuses_an_untrusted_certificate(cert: tuple[Path, Path]) -> None:
    with smtp_server(starttls=server_tls_context(*cert)) as server:
        with pytest.raises(DeliveryError, match="certificate not trusted"):
            smtp.send(smtp_config(server.port, starttls=True), message())
    assert server.mails == []


def test_smtp_starttls_fails_when_the_server_does_not_offer_it() -> None:
    with smtp_server() as server:
        with pytest.raises(DeliveryError, match="STARTTLS"):
            smtp.send(smtp_config(server.port, starttls=True, tls_verify=False), message())
    assert server.mails == []


def test_smtp_implicit_tls_on_its_own_port(cert: tuple[Path, Path]) -> None:
    with smtp_server(implicit_tls=server_tls_context(*cert)) as server:
        smtp.send(smtp_config(server.port, ssl=True, tls_verify=False), message())
        with pytest.raises(DeliveryError, match="timed out"):  # a plain client waits for a greeting in vain
            smtp.send(smtp_config(server.port, timeout=0.3), message())
    [mail] = server.mails
    assert mail.tls


@pytest.mark.parametrize("config,expected", [
    ({}, ("plain", 25)), ({"port": None}, ("plain", 25)), ({"port": 465}, ("ssl", 465)), ({"port": "465"}, ("ssl", 465)),
    ({"ssl": True}, ("ssl", 465)), ({"ssl": True, "port": 2465}, ("ssl", 2465)), ({"port": 465, "ssl": False}, ("plain", 465)),
    ({"port": 465, "starttls": True}, ("starttls", 465)), ({"starttls": True}, ("starttls", 25)),
    ({"port": 587, "starttls": True}, ("starttls", 587)), ({"port": "587"}, ("plain", 587)),
])
def test_smtp_connection_modes(config: dict, expected: tuple[str, int]) -> None:
    assert smtp.connection_mode(config) == expected


@pytest.mark.parametrize("config,error", [
    ({"ssl": True, "starttls": True}, "`ssl` and `starttls` exclude each other"),
    ({"port": "smtp"}, "`port` must be an integer, not 'smtp'"),
    ({"port": [25]}, "`port` must be an integer, not [25]"),
    ({"port": "2.5"}, "`port` must be an integer, not '2.5'"),
])
def test_smtp_bad_connection_settings(config: dict, error: str) -> None:
    with pytest.raises(DeliveryError) as failure:
        smtp.connection_mode(config)
    assert str(failure.value) == error


def test_smtp_login_after_starttls(cert: tuple[Path, Path]) -> None:
    users = {"bot": "s3cret"}
    with smtp_server(starttls=server_tls_context(*cert), users=users, auth_require_tls=True) as server:
        config = smtp_config(server.port, starttls=True, cafile=str(cert[0]), user_env="SMTP_USER",
                             password_env="SMTP_PASSWORD", user="bot", password="s3cret")
        smtp.send(config, message())
        with pytest.raises(DeliveryError, match="authentication failed: 535"):
            smtp.send({**config, "password": "wrong"}, message())
        with pytest.raises(DeliveryError, match="530"):  # the server requires AUTH
            smtp.send(smtp_config(server.port, starttls=True, cafile=str(cert[0])), message())
        with pytest.raises(DeliveryError, match="password in clear"):  # flowctl refuses before the server does
            smtp.send(smtp_config(server.port, user="bot", password="s3cret"), message())
        with pytest.raises(DeliveryError, match="AUTH"):  # AUTH is only offered over TLS
            smtp.send(smtp_config(server.port, user="bot", password="s3cret", allow_plaintext_auth=True),
                               message())
    [mail] = server.mails
    assert mail.login == "bot" and mail.tls


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_over_implicit_tls(cert: tuple[Path, Path]) -> None:
    # aiosmtpd only knows STARTTLS as "TLS", so it must not demand it on an SMTPS port.
    with smtp_server(implicit_tls=server_tls_context(*cert), users={"bot": "pw"}, auth_require_tls=False) as server:
        smtp.send(smtp_config(server.port, ssl=True, cafile=str(cert[0]), user="bot", password="pw"),
                           message())
    assert server.mails[0].login == "bot"


def test_smtp_unset_secret_variable_is_named() -> None:
    config = smtp_config(closed_port(), user_env="SMTP_USER", password_env="SMTP_PASSWORD")
    with pytest.raises(DeliveryError, match="SMTP_USER"):
        smtp.send(config, message())
    with pytest.raises(DeliveryError, match="SMTP_PASSWORD"):
        smtp.send({**config, "user": "bot"}, message())


def test_smtp_rejected_recipient_fails_with_the_reply() -> None:
    with smtp_server(reject={"alice@example.com"}) as server:
        with pytest.raises(DeliveryError, match="alice@example.com .*550"):
            smtp.send(smtp_config(server.port), message())
        with pytest.raises(DeliveryError, match="550"):  # one of two refused is still a failure
            smtp.send(smtp_config(server.port), message(recipient="alice@example.com, bob@example.com"))


def test_smtp_connection_refused() -> None:
    with pytest.raises(DeliveryError, match="connection refused"):
        smtp.send(smtp_config(closed_port()), message())


@pytest.mark.parametrize("extra", [{}, {"ssl": True, "tls_verify": False}])
def test_smtp_server_that_never_answers_times_out(extra: dict) -> None:
    with silent_server() as port:
        with pytest.raises(DeliveryError, match="timed out after 0.5s"):
            smtp.send(smtp_config(port, timeout=0.5, **extra), message())


def test_smtp_missing_cafile() -> None:
    with pytest.raises(DeliveryError, match="cafile"):
        smtp.send(smtp_config(closed_port(), starttls=True, cafile="/nonexistent/ca.pem"), message())




# --------------------------------------------------------------------------- the parts, in process

@pytest.mark.parametrize("sender,domain", [("sales-ops@example.com", "example.com"),
                                           ("Sales Ops <ops@sales.example.org>", "sales.example.org"),
                                           ("no-domain", "flowctl.invalid"), ("Sales Ops", "flowctl.invalid"),
                                           ("ops@", "flowctl.invalid"), ("", "flowctl.invalid")])
def test_message_id_is_the_keys_hash_at_the_senders_domain(sender: str, domain: str) -> None:
    first = smtp.message_id("ACME-1|won", sender)
    assert first == smtp.message_id("ACME-1|won", sender) != smtp.message_id("ACME-1|lost", sender)
    local, _, at = first.strip("<>").partition("@")
    assert at == domain and len(local) == len("0" * 32 + ".flowctl") and local.endswith(".flowctl")


@pytest.mark.parametrize("subject,header", [("one line", "one line"), ("two\nlines", "two lines"),
                                            ("  padded\t tabs \r\n", "padded tabs"), ("", "")])
def test_build_email_folds_the_subject_onto_one_line(subject: str, header: str) -> None:
    email = smtp.build_email(message(subject=subject), "ops@example.com", "alice@example.com")
    assert email["Subject"] == header
    assert email["X-Flowctl-Key"] == message().key and email["Message-ID"] == smtp.message_id(message().key,
                                                                                             "ops@example.com")


@pytest.mark.parametrize("changes", [{"recipient": "alice@example.com\r\nBcc: evil@example.com"},
                                     {"recipient": "alice@example.com\nX-Injected: 1"}])
def test_a_header_with_a_line_break_is_refused_before_connecting(changes: dict) -> None:
    with pytest.raises(DeliveryError, match="^cannot build the e-mail: Header values may not contain linefeed"):
        smtp.send(smtp_config(closed_port()), message(**changes))


def test_a_sender_with_a_line_break_is_refused_before_connecting() -> None:
    with pytest.raises(DeliveryError, match="^cannot build the e-mail"):
        smtp.send(smtp_config(closed_port(), **{"from": "ops@example.com\nBcc: evil@example.com"}), message())


@pytest.mark.parametrize("recipient", [None, "", "<>", ",", " , "])
def test_no_address_in_the_recipient_or_the_channel_default_is_no_recipient(recipient: str | None) -> None:
    with pytest.raises(DeliveryError, match="^no recipient$"):
        smtp.send(smtp_config(closed_port()), message(recipient=recipient))


@pytest.mark.parametrize("config,error", [
    ({}, "no sender: set `from` on the channel"),
    ({"from": ""}, "no sender: set `from` on the channel"),
    ({"from": "a@example.com", "timeout": 0}, "`timeout` must be positive, not 0"),
    ({"from": "a@example.com", "timeout": -1.5}, "`timeout` must be positive, not -1.5"),
    ({"from": "a@example.com", "timeout": "soon"}, "`timeout` must be a number, not 'soon'"),
    ({"from": "a@example.com", "timeout": None}, "`timeout` must be a number, not None"),
    ({"from": "a@example.com", "user": "bot"}, "`user_env` is set but `password_env` is not"),
    ({"from": "a@example.com", "user_env": "SMTP_USER", "user": ""},
     "environment variable SMTP_USER (user_env) is not set"),
    ({"from": "a@example.com", "user": "bot", "password_env": "SMTP_PASSWORD"},
     "environment variable SMTP_PASSWORD (password_env) is not set"),
])
def test_a_channel_config_that_cannot_send_fails_when_its_session_opens(config: dict, error: str) -> None:
    with pytest.raises(DeliveryError) as failure:
        smtp.open_session(config)
    assert str(failure.value) == error
    assert smtp._open == {}  # nothing half-opened is kept for the next session


def test_channels_naming_the_same_server_and_account_share_one_connection() -> None:
    with smtp_server() as one, smtp_server() as other:
        sessions = [smtp.open_session(smtp_config(one.port)),
                    smtp.open_session(smtp_config(one.port, **{"from": "other@example.com"}, to="x@example.com")),
                    smtp.open_session(smtp_config(other.port))]
        try:
            assert sessions[0].conn is sessions[1].conn is not sessions[2].conn
            for session in sessions:
                session.send(message())
            sessions[0].close()  # the other channel of that server still uses the connection
            sessions[1].send(message(key="after"))
        finally:
            for session in sessions:
                session.close()
        assert smtp._open == {}
    assert (one.connections, len(one.mails), other.connections, len(other.mails)) == (1, 3, 1, 1)


def test_a_closed_session_sends_nothing() -> None:
    session = smtp.open_session(smtp_config(closed_port()))
    session.close()
    session.close()  # closing twice is harmless
    with pytest.raises(DeliveryError, match="^the session is closed$"):
        session.send(message())


@pytest.mark.parametrize("exc,reason", [
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad\n credentials"), "authentication failed: 535 5.7.8 bad credentials"),
    (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")}),
     "recipient refused: a@example.com (550 no such user)"),
    (smtplib.SMTPResponseException(451, "try later"), "server mx:25 replied 451 try later"),
    (smtplib.SMTPServerDisconnected("timed out"), "timed out after 1.5s waiting for mx:25"),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "connection closed by mx:25"),
    (smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."),
     "mx:25: STARTTLS extension not supported by server"),
    (TimeoutError(), "timed out after 1.5s waiting for mx:25"),
    (ConnectionRefusedError(111, "Connection refused"), "connection refused by mx:25"),
    (socket.gaierror(-2, "Name or service not known"), "cannot resolve mx: Name or service not known"),
    (OSError(101, "Network is unreachable"), "cannot talk to mx:25: Network is unreachable"),
    (OSError("no reason"), "cannot talk to mx:25: no reason"),
    (ValueError("bad"), "cannot talk to mx:25: bad"),
])
def test_each_failure_has_a_one_line_reason(exc: BaseException, reason: str) -> None:
    assert smtp._reason(exc, "mx:25", 1.5) == reason


@pytest.mark.parametrize("exc,dropped", [
    (smtplib.SMTPServerDisconnected(), True), (ConnectionResetError(), True), (BrokenPipeError(), True),
    (smtplib.SMTPResponseException(421, "closing"), True), (smtplib.SMTPResponseException(450, "busy"), False),
    (TimeoutError(), False), (ssl.SSLError(), False), (ConnectionRefusedError(), False),
])
def test_only_a_session_the_server_ended_counts_as_dropped(exc: BaseException, dropped: bool) -> None:
    assert smtp._dropped(exc) is dropped


def test_the_channel_type_is_registered_as_smtp_with_sessions() -> None:
    (channel,) = smtp.flowctl_channel_types()
    assert (channel.name, channel.send, channel.open, channel.config_schema) == (
        "smtp", smtp.send, smtp.open_session, smtp.CONFIG_SCHEMA)


@pytest.mark.parametrize("recipient,sender", [("Jörg Müller <j@example.com>", "ops@example.com"),
                                              ("j@example.com", "Sälës Öps <ops@example.com>")])
def test_non_ascii_names_and_subjects_are_encoded_for_any_server(recipient: str, sender: str) -> None:
    with smtp_server() as server:
        smtp.send(smtp_config(server.port, **{"from": sender}), message(recipient=recipient, subject="Größe ✓"))
    [mail] = server.mails
    assert (mail.rcpt_tos, mail.message["To"], mail.message["From"], mail.message["Subject"]) == (
        ["j@example.com"], recipient, sender, "Größe ✓")
    assert mail.data.isascii()  # encoded words: no SMTPUTF8 needed


@pytest.mark.parametrize("recipient,sender", [("jörg@example.com", "ops@example.com"),
                                              ("j@bücher.example", "ops@example.com"),
                                              ("j@example.com", "öps@example.com")])
def test_a_non_ascii_address_needs_a_server_offering_smtputf8(recipient: str, sender: str) -> None:
    with smtp_server() as server:  # aiosmtpd does not offer SMTPUTF8 by default
        with pytest.raises(DeliveryError, match=r"^127\.0\.0\.1:\d+: .*require internationalized email support"):
            smtp.send(smtp_config(server.port, **{"from": sender}), message(recipient=recipient))
    assert server.mails == []
