"""Notifications end to end: `flowctl run` against real SMTP and HTTP servers on loopback.

Rules -> recipients -> templates -> outbox -> channels, and the outbox's promise: each
message is queued once, delivered at least once and, when delivery succeeded, never
again; a server that is down, failing or silent leaves the message queued (a warning,
not an error) for the next run.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import sqlite3
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

import servers
from conftest import Project
from servers import closed_port, silent_server, smtp_server, webhook_server

SECRET = "s3cret-signing-key"
NOW = "2026-01-20"  # deals created 2026-01-01: verify (due 7d) and call-buyer (due 3d) are late, stuck, rotting

WORKFLOW = """\
flowctl: 1
name: notify-test
locale: en
stages:
  - id: prospect
    probability: 0.1
    max_days: 10
    rot_days: 5
    jobs:
      - {id: verify, title: Verify the prospect, owner: rep, due: 7d}
      - {id: call-buyer, title: Call the buyer, owner: carol@example.com, due: 3d}
  - id: closed
    terminal: true
channels:
  email: {use: smtp, host: 127.0.0.1, port: SMTP_PORT, from: Sales Ops <sales-ops@example.com>, timeout: 1}
  hook: {use: webhook, url: "HOOK_URL", secret_env: HOOK_SECRET, timeout: 1}
notifications:
RULES"""

RULES = """\
  - id: late
    on: job_overdue
    channel: email
    subject: "Late: {{ job_title }} for {{ deal.name }}"
    template: overdue.txt.j2
  - {id: stale, on: [deal_stuck, deal_rotting], channel: email}
  - {id: feed, on: deal_stuck, channel: hook}
"""

OVERDUE_TEMPLATE = """\
{{ deal.name }} ({{ deal.id }}): {{ job_title }} was due {{ event.data.due }}.
Owner of the deal: {{ deal.owner }}
"""


class NotifyProject(Project):
    """conftest's Project on a workflow with smtp and webhook channels (at closed ports until
    `point`), its templates/ and a store."""

    def __init__(self, root: Path, rules: str = RULES):
        self.rules = rules
        super().__init__(root, "")
        (root / "templates").mkdir()
        (root / "templates" / "overdue.txt.j2").write_text(OVERDUE_TEMPLATE)
        self.db = root / "state.db"
        self.point(smtp_port=closed_port(), hook_url=f"http://127.0.0.1:{closed_port()}")

    def point(self, *, smtp_port: int | None = None, hook_url: str | None = None) -> None:
        """Aim the channels at these servers (rewrites the workflow)."""
        self.smtp_port = smtp_port if smtp_port is not None else self.smtp_port
        self.hook_url = hook_url if hook_url is not None else self.hook_url
        self.workflow.write_text(WORKFLOW.replace("SMTP_PORT", str(self.smtp_port))
                                 .replace("HOOK_URL", self.hook_url).replace("RULES", self.rules))

    def deal(self, deal_id: str, body: str = "", owner: str = "bob@example.com",  # type: ignore[override]
             name: str | None = None) -> Path:
        """`name` is the deal's name (its file is always <id>.yaml)."""
        name_line = f"name: {json.dumps(name)}\n" if name else ""
        return super().deal(deal_id, name_line + textwrap.dedent(body), owner=owner)

    def run(self, cli, *args: str, now: str = NOW, fmt: str = "json"):
        result = cli("run", self.deals, "-w", self.workflow, "--store", f"sqlite:///{self.db}", "--now", now,
                     "--format", fmt, *args)
        data = json.loads(result.stdout) if fmt == "json" and result.stdout.strip() else {}
        return result, data

    def outbox(self) -> list[tuple]:
        """(channel, recipient, status, attempts, last_error) of every outbox row, by key."""
        con = sqlite3.connect(self.db)
        try:
            return con.execute("SELECT channel, recipient, status, attempts, last_error FROM outbox ORDER BY key").fetchall()
        finally:
            con.close()


@pytest.fixture
def notify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> NotifyProject:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    return NotifyProject(tmp_path)


@contextlib.contextmanager
def webhook_server_on(port: int, **options) -> Iterator[servers.WebhookServer]:
    """tests/servers.py's webhook server, on a given port: the server that was down comes back."""
    real = servers.ThreadingHTTPServer
    servers.ThreadingHTTPServer = lambda address, handler: real((address[0], port), handler)
    try:
        with webhook_server(**options) as server:
            servers.ThreadingHTTPServer = real
            yield server
    finally:
        servers.ThreadingHTTPServer = real


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- rules, recipients, templates

def test_rules_send_to_the_right_people_with_their_templates(cli, notify):
    notify.deal("D1", name="Fleet {{ 7*7 }}")
    with smtp_server() as smtp, webhook_server() as hook:
        notify.point(smtp_port=smtp.port, hook_url=hook.url)
        result, data = notify.run(cli)
    assert result.exit_code == 0, result.output
    assert data["summary"]["sent"] == 5 and data["summary"]["delivery_failed"] == 0
    mails = {(m.rcpt_tos[0], m.message["Subject"]): m for m in smtp.mails}
    assert sorted(mails) == [
        ("bob@example.com", "D1 has had no activity for a while"),      # deal_rotting -> the deal's owner
        ("bob@example.com", "D1 is stuck in prospect (19 days)"),       # deal_stuck -> the deal's owner
        ("bob@example.com", "Late: Verify the prospect for Fleet {{ 7*7 }}"),  # owner: rep -> the deal's owner
        ("carol@example.com", "Late: Call the buyer for Fleet {{ 7*7 }}"),     # owner is an address -> that job owner
    ]
    late = mails[("carol@example.com", "Late: Call the buyer for Fleet {{ 7*7 }}")]
    # the rule's template file, from the project's templates/; the deal's values are data, not templates
    assert late.message.get_content() == ("Fleet {{ 7*7 }} (D1): Call the buyer was due 2026-01-04.\n"
                                          "Owner of the deal: bob@example.com\n")
    assert "49" not in late.message.get_content()
    assert late.message["From"] == "Sales Ops <sales-ops@example.com>"
    assert late.mail_from == "sales-ops@example.com"
    assert late.message["X-Flowctl-Key"].strip().startswith("D1:job_overdue:prospect:call-buyer:")
    # the outbox key as docs/channels.md gives it: <event key>|<rule>|<channel>|<recipient>
    assert re.fullmatch(r"D1:job_overdue:prospect:call-buyer:\d{4}-\d\d-\d\d\|[\w-]+\|[\w-]+\|carol@example\.com",
                        late.message["X-Flowctl-Key"].strip())
    [request] = hook.requests
    assert request.json()["recipient"] == "bob@example.com"
    assert request.json()["subject"] == "D1 is stuck in prospect (19 days)"
    assert all(status == "sent" and attempts == 1 for _, _, status, attempts, _ in notify.outbox())


def test_each_notification_is_sent_once_and_never_twice(cli, notify):
    notify.deal("D1")
    with smtp_server() as smtp, webhook_server() as hook:
        notify.point(smtp_port=smtp.port, hook_url=hook.url)
        first = notify.run(cli)[1]
        (notify.deals / "D1.yaml").touch()  # read again: same facts, nothing new
        second = notify.run(cli)[1]
        later = notify.run(cli, now="2026-01-25")[1]  # the same conditions, days later
    assert first["summary"]["sent"] == 5
    assert second["summary"]["notifications_queued"] == second["summary"]["sent"] == 0
    assert later["summary"]["sent"] == 0
    assert len(smtp.mails) == 4 and len(hook.requests) == 1
    assert len({m.message["Message-ID"] for m in smtp.mails}) == 4
    assert [row[2:4] for row in notify.outbox()] == [("sent", 1)] * 5


def test_webhook_body_is_the_documented_json_signed_with_hmac(cli, notify):
    notify.deal("D1", name="Fleet")
    with smtp_server() as smtp, webhook_server() as hook:
        notify.point(smtp_port=smtp.port, hook_url=hook.url)
        notify.run(cli)
    [request] = hook.requests
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-flowctl-signature"] == signature(request.body)  # over the exact bytes
    body = request.json()
    assert set(body) == {"key", "channel", "recipient", "subject", "body", "payload"}
    assert request.headers["x-flowctl-key"] == body["key"]
    assert body["channel"] == "hook" and body["recipient"] == "bob@example.com"
    assert body["key"] == "D1:deal_stuck:prospect:2026-01-01|feed|hook|bob@example.com"
    [event] = body["payload"]["events"]
    assert (event["kind"], event["deal"], event["stage"], event["data"]) == \
        ("deal_stuck", "D1", "prospect", {"days_in_stage": 19})
    assert body["payload"]["deal"] == {"id": "D1", "name": "Fleet", "owner": "bob@example.com", "amount": 1000}
    assert "Stage: prospect" in body["body"]


EMPTY_TO = """\
flowctl: 1
name: empty-to
stages:
  - id: prospect
    jobs:
      - {id: ping, uses: notify, with: {channel: console, to: "{{ deal.manager }}", subject: "ping {{ deal.id }}"}}
  - id: closed
    terminal: true
notifications:
  - {id: entered, on: stage_entered, channel: console, to: "{{ deal.manager }}"}
"""


def test_a_to_that_renders_empty_gives_no_recipient_from_a_rule_and_from_an_action(cli, tmp_path):
    notify = NotifyProject(tmp_path, "")
    notify.workflow.write_text(EMPTY_TO)
    notify.deal("D1")  # an owner, no manager: neither message falls back to the owner
    result, data = notify.run(cli, now="2026-01-02")
    assert result.exit_code == 0, result.output
    assert data["summary"]["sent"] == 2
    con = sqlite3.connect(notify.db)
    try:
        rows = con.execute("SELECT key, recipient, status FROM outbox ORDER BY key").fetchall()
    finally:
        con.close()
    assert [(key.split("|")[0], key.rsplit("|", 1)[1], recipient, status) for key, recipient, status in rows] == [
        ("D1:action:ping", "None", None, "sent"), ("D1:stage_entered:closed:2026-01-02", "None", None, "sent")]
    assert "[console]: ping D1\n" in result.output and "[console]: D1 entered closed\n" in result.output
    assert "to bob@example.com" not in result.output


def test_console_messages_do_not_corrupt_the_json_output(cli, tmp_path, monkeypatch):
    # Core bug (plugins/console.py `send`, run by engine/notify.py `deliver`): the console
    # channel prints to standard output, before `run --format json` prints its document, so
    # stdout is "[console] to ...\n...\n{...}" and no script can parse it. Expected: stdout
    # holds only the JSON document (console messages go to stderr when the format is json).
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    notify = NotifyProject(tmp_path, "  - {on: stage_entered, channel: console}\n")
    notify.deal("D1")
    result = cli("run", notify.deals, "-w", notify.workflow, "--store", f"sqlite:///{notify.db}",
                 "--now", "2026-01-02", "--format", "json")
    assert result.exit_code == 0
    assert "[console] to bob@example.com: D1 entered prospect" in result.output
    assert json.loads(result.stdout)["summary"]["sent"] == 1


def test_dry_run_delivers_nothing(cli, notify):
    notify.deal("D1", name="Fleet")
    with smtp_server() as smtp, webhook_server() as hook:
        notify.point(smtp_port=smtp.port, hook_url=hook.url)
        result, _ = notify.run(cli, "--dry-run", fmt="text")
        assert result.exit_code == 0
        assert "notify  email to carol@example.com: Late: Call the buyer for Fleet" in result.stdout
        assert smtp.mails == [] and hook.requests == []
        assert notify.run(cli)[1]["summary"]["sent"] == 5  # the real run still has everything to send


# --------------------------------------------------------------------------- digests

DIGEST_RULES = """\
  - {id: late, on: job_overdue, channel: email, digest: true}
"""


def test_digest_sends_one_message_per_owner_listing_all_their_overdue_jobs(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    notify = NotifyProject(tmp_path, DIGEST_RULES)
    notify.deal("D1", name="Fleet")
    notify.deal("D2", name="Radar")
    notify.deal("D3", owner="dave@example.com")
    with smtp_server() as smtp:
        notify.point(smtp_port=smtp.port)
        result, data = notify.run(cli)
        assert result.exit_code == 0, result.output
        again = notify.run(cli)[1]
    by_rcpt = {m.rcpt_tos[0]: m.message for m in smtp.mails}
    # bob: verify of D1 and D2 (owner: rep); carol: call-buyer of all three; dave: verify of D3
    assert sorted(by_rcpt) == ["bob@example.com", "carol@example.com", "dave@example.com"]
    assert len(smtp.mails) == 3
    bob = by_rcpt["bob@example.com"]
    assert bob["Subject"] == "2 item(s) need your attention"
    text = bob.get_content()
    assert "D1 (Fleet): job overdue - Verify the prospect" in text
    assert "D2 (Radar): job overdue - Verify the prospect" in text
    assert "Call the buyer" not in text
    assert by_rcpt["carol@example.com"]["Subject"] == "3 item(s) need your attention"
    assert again["summary"]["sent"] == 0 and len(smtp.mails) == 3


# --------------------------------------------------------------------------- secrets

def test_secrets_come_from_the_environment_and_a_missing_one_is_a_delivery_failure(cli, notify, monkeypatch):
    notify.deal("D1")
    monkeypatch.delenv("HOOK_SECRET")
    with smtp_server() as smtp, webhook_server() as hook:
        notify.point(smtp_port=smtp.port, hook_url=hook.url)
        result, data = notify.run(cli, fmt="text")
        assert result.exit_code == 0, result.output  # a warning, not an error
        assert "warning: notification not delivered (kept in the outbox for the next run): hook to bob@example.com: " \
               "environment variable HOOK_SECRET (for secret) is not set" in result.stderr
        assert hook.requests == [] and len(smtp.mails) == 4  # the other channel is not held up
        failed = [row for row in notify.outbox() if row[2] != "sent"]
        assert failed == [("hook", "bob@example.com", "failed", 1,
                           "environment variable HOOK_SECRET (for secret) is not set")]
        assert SECRET not in (notify.workflow.read_text() + str(notify.outbox()))
        monkeypatch.setenv("HOOK_SECRET", SECRET)
        notify.run(cli)
    [request] = hook.requests
    assert request.headers["x-flowctl-signature"] == signature(request.body)
    assert [row[2:4] for row in notify.outbox() if row[0] == "hook"] == [("sent", 2)]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_comes_from_environment_variables(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    notify = NotifyProject(tmp_path, "  - {on: deal_stuck, channel: email}\n")
    notify.deal("D1")
    with smtp_server(users={"mailer": "pa55"}, auth_require_tls=False) as smtp:
        notify.point(smtp_port=smtp.port)
        notify.workflow.write_text(notify.workflow.read_text().replace(
            "timeout: 1}", "timeout: 1, user_env: SMTP_USER, password_env: SMTP_PASSWORD, allow_plaintext_auth: true}", 1))
        monkeypatch.setenv("SMTP_USER", "mailer")
        result, data = notify.run(cli)
        assert "SMTP_PASSWORD" in " ".join(data["summary"]["warnings"]) and smtp.mails == []
        monkeypatch.setenv("SMTP_PASSWORD", "pa55")
        notify.run(cli)
    [mail] = smtp.mails
    assert mail.login == "mailer"


# --------------------------------------------------------------------------- the outbox when servers fail

@pytest.mark.parametrize("trouble", ["refused", "http-500", "timeout"])
def test_undelivered_messages_stay_queued_and_are_delivered_once_later(cli, notify, trouble):
    notify.deal("D1")
    with contextlib.ExitStack() as servers_up, contextlib.ExitStack() as silent:
        if trouble == "refused":  # nothing listens
            smtp_port, hook_port = closed_port(), closed_port()
        elif trouble == "timeout":  # accepted by the kernel, never answered: `timeout: 1` gives up
            smtp_port, hook_port = silent.enter_context(silent_server()), silent.enter_context(silent_server())
        else:  # the mail relay works, the webhook receiver answers 500
            smtp = servers_up.enter_context(smtp_server())
            hook = servers_up.enter_context(webhook_server(status=500))
            smtp_port, hook_port = smtp.port, port_of(hook.url)
        notify.point(smtp_port=smtp_port, hook_url=f"http://127.0.0.1:{hook_port}")
        result, data = notify.run(cli)
        assert result.exit_code == 0, result.output  # the run succeeds ...
        summary = data["summary"]
        failures = 1 if trouble == "http-500" else 5
        assert summary["delivery_failed"] == failures  # ... with a warning per message kept
        assert len(summary["warnings"]) == failures
        reason = {"refused": "connection refused", "http-500": "answered HTTP 500", "timeout": "timed out after 1s"}
        assert all(reason[trouble] in w for w in summary["warnings"]), summary["warnings"]
        kept = [row for row in notify.outbox() if row[2] == "failed"]
        assert len(kept) == failures and all(row[3] == 1 for row in kept)

        if trouble == "http-500":
            assert len(hook.requests) == 1
            hook.status = 200  # the receiver is fixed
        else:
            silent.close()
            hook = servers_up.enter_context(webhook_server_on(hook_port))  # back, on the same address
            smtp = servers_up.enter_context(smtp_server())
            notify.point(smtp_port=smtp.port)  # the mail relay comes back elsewhere
        before = len(hook.requests)
        second = notify.run(cli)[1]
        third = notify.run(cli)[1]
        assert second["summary"]["delivery_failed"] == 0 and second["summary"]["sent"] == failures
        assert third["summary"]["sent"] == 0 and third["summary"]["notifications_queued"] == 0
        assert len(hook.requests) - before == 1  # the webhook message, exactly once
        assert len(smtp.mails) == 4  # every e-mail exactly once: none lost, none doubled
    rows = notify.outbox()
    assert [row[2] for row in rows] == ["sent"] * 5
    assert sorted(row[3] for row in rows) == sorted([2] * failures + [1] * (5 - failures))


def test_a_message_kept_while_down_goes_out_with_the_later_ones_once(cli, notify):
    notify.deal("D1", name="Fleet")
    notify.run(cli, now="2026-01-03")  # nothing is late yet (and the servers are down anyway)
    data = notify.run(cli, now="2026-01-06")[1]  # call-buyer (due 01-04) is late: kept in the outbox
    assert data["summary"]["delivery_failed"] == 1
    with smtp_server() as smtp, webhook_server() as hook:
        notify.point(smtp_port=smtp.port, hook_url=hook.url)
        data = notify.run(cli, now="2026-01-20")[1]  # the kept message, plus what is new since
    subjects = sorted(m.message["Subject"] for m in smtp.mails)
    assert subjects == ["D1 has had no activity for a while", "D1 is stuck in prospect (19 days)",
                        "Late: Call the buyer for Fleet", "Late: Verify the prospect for Fleet"]
    assert len(hook.requests) == 1
    assert data["summary"]["sent"] == 5


# --------------------------------------------------------------------------- a message that fails for one deal

@pytest.mark.parametrize("rule", [
    "  - {id: who, on: stage_entered, channel: console, to: \"{{ deal.owner.split('@')[0] }}@example.com\"}\n",
    "  - {id: who, on: stage_entered, channel: console, subject: \"{{ deal.owner.upper() }} {{ 1 // 0 if not deal.owner else '' }}\"}\n",
    "  - {id: who, on: stage_entered, channel: console, subject: \"{{ deal.owner.lower() }}\"}\n",
])
def test_a_message_that_cannot_be_rendered_for_one_deal_fails_alone(cli, tmp_path, monkeypatch, rule):
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    notify = NotifyProject(tmp_path, rule)
    notify.deal("D1")
    (notify.deals / "D2.yaml").write_text("id: D2\namount: 5\ncreated: 2026-01-01\n")  # no owner
    result, data = notify.run(cli, now="2026-01-02")
    assert result.exit_code == 0, result.output
    assert {d["id"]: d["stage"] for d in data["deals"]} == {"D1": "prospect", "D2": "prospect"}
    assert data["summary"]["sent"] == 1
    assert any("D2" in w and "cannot render the message of rule who" in w for w in data["summary"]["warnings"])
    rows = {row[2]: row for row in notify.outbox()}
    assert set(rows) == {"sent", "unrendered"}
    assert "cannot render the message of rule who" in rows["unrendered"][4]
