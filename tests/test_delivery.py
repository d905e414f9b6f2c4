"""Delivering the outbox (engine/delivery.py, the webhook and SMTP sessions) against real
loopback servers: one connection per host and run, rate limits, max_attempts -> dead ->
--retry-dead, per-channel counts, no secret in the outbox's last error. A webhook session's
own reconnecting and 429 handling are in tests/test_webhook.py."""
from __future__ import annotations

import json
import sqlite3

import pytest

from channel_messages import no_proxy  # noqa: F401 (autouse fixture)
from conftest import Project
from flowctl.delivery import rate_interval, scrub
from flowctl.hooktypes import DeliveryError
from servers import closed_port, smtp_server, webhook_server

N = 12  # deals, one stage_entered message each


def project_with(tmp_path, channels: str, rule_channel: str = "hook", deals: int = N) -> Project:
    from conftest import WORKFLOW
    project = Project(tmp_path, WORKFLOW + f"channels:\n{channels}notifications:\n"
                                          f"  - {{on: stage_entered, channel: {rule_channel}}}\n")
    for i in range(deals):
        project.deal(f"D{i:02d}")
    return project


def run(cli, project: Project, *extra: str) -> tuple[int, dict]:
    result = cli("run", project.deals, *project.args("--now", "2026-01-03", "--format", "json", *extra))
    return result.exit_code, json.loads(result.stdout)


def outbox(project: Project) -> list[tuple]:
    with sqlite3.connect(project.root / "state.db") as con:
        return con.execute("SELECT status, attempts, last_error FROM outbox ORDER BY id").fetchall()


def test_a_run_posts_every_message_over_one_keep_alive_connection(cli, tmp_path):
    with webhook_server(keep_alive=True) as server:
        project = project_with(tmp_path, f"  hook: {{use: webhook, url: '{server.url}/in', timeout: 5}}\n")
        code, data = run(cli, project)
    assert code == 0 and len(server.requests) == N
    assert server.connections == 1
    assert data["summary"]["channels"] == {"hook": {"sent": N, "failed": 0, "dead": 0, "waiting": 0}}


def test_a_server_without_keep_alive_gets_a_connection_per_message(cli, tmp_path):
    with webhook_server(keep_alive=False) as server:
        project = project_with(tmp_path, f"  hook: {{use: webhook, url: '{server.url}', timeout: 5}}\n", deals=3)
        code, _ = run(cli, project)
    assert code == 0 and len(server.requests) == 3 and server.connections == 3


def test_a_message_failing_max_attempts_times_is_dead_until_retry_dead(cli, tmp_path):
    port = closed_port()
    project = project_with(tmp_path, f"  hook: {{use: webhook, url: 'http://127.0.0.1:{port}/', max_attempts: 2}}\n",
                           deals=1)
    code, data = run(cli, project)
    assert code == 0 and data["summary"]["channels"]["hook"] == {"sent": 0, "failed": 1, "dead": 0, "waiting": 1}
    (project.deals / "D00.yaml").touch()
    code, data = run(cli, project)
    assert outbox(project)[0][:2] == ("dead", 2)
    assert data["summary"]["dead"] == 1 and data["summary"]["channels"]["hook"]["dead"] == 1
    text = cli("run", project.deals, *project.args("--now", "2026-01-03"))
    assert "1 message(s) dead" in text.stderr and "--retry-dead" in text.stderr
    assert outbox(project)[0][:2] == ("dead", 2)  # not tried again
    with webhook_server() as server:
        project.workflow.write_text(project.workflow.read_text().replace(f"127.0.0.1:{port}", server.url[7:]))
        code, data = run(cli, project, "--retry-dead")
    assert len(server.requests) == 1 and outbox(project)[0][0] == "sent" and data["summary"]["dead"] == 0
    runs = json.loads(cli("runs", "-w", project.workflow, "--store", f"sqlite:///{project.root / 'state.db'}",
                          "--format", "json").stdout)["runs"]
    assert [r["dead"] for r in runs] == [0, 1, 1, 0]


def test_rate_spaces_the_messages(cli, tmp_path, monkeypatch):
    from flowctl import delivery
    waits: list[float] = []
    real = delivery.deliver
    monkeypatch.setattr("flowctl.delivery.deliver", lambda *a, **k: real(*a, **k, sleep=waits.append))
    with webhook_server(keep_alive=True) as server:
        project = project_with(tmp_path, f"  hook: {{use: webhook, url: '{server.url}', rate: 2/s}}\n", deals=4)
        code, _ = run(cli, project)
    assert code == 0 and len(server.requests) == 4
    assert len(waits) == 3 and all(0 < w <= 0.5 for w in waits)


@pytest.mark.parametrize("rate,interval", [("5/s", 0.2), ("30/min", 2.0), (" 1 / second ", 1.0), (None, 0.0)])
def test_rate_forms(rate, interval):
    assert rate_interval(rate) == pytest.approx(interval)


@pytest.mark.parametrize("rate", ["0/s", "fast", "5/h", "-1/s"])
def test_bad_rates_fail_delivery(rate):
    with pytest.raises(DeliveryError, match="rate"):
        rate_interval(rate)


def test_two_channels_both_delivered_with_counts_each(cli, tmp_path):
    with webhook_server(keep_alive=True) as first, webhook_server(keep_alive=True) as second:
        project = project_with(tmp_path, f"  hook: {{use: webhook, url: '{first.url}'}}\n"
                                         f"  other: {{use: webhook, url: '{second.url}'}}\n", deals=3)
        project.workflow.write_text(project.workflow.read_text() + "  - {on: stage_entered, channel: other}\n")
        code, data = run(cli, project)
        text = cli("run", project.deals, *project.args("--now", "2026-01-04")).stdout
    assert code == 0 and len(first.requests) == len(second.requests) == 3
    assert data["summary"]["channels"] == {"hook": {"sent": 3, "failed": 0, "dead": 0, "waiting": 0},
                                           "other": {"sent": 3, "failed": 0, "dead": 0, "waiting": 0}}
    assert "delivery:" not in text  # nothing to deliver the second time


def test_smtp_sends_a_runs_messages_over_one_connection(cli, tmp_path):
    with smtp_server() as server:
        project = project_with(tmp_path, f"  mail: {{use: smtp, host: 127.0.0.1, port: {server.port}, "
                                         "from: ops@example.com}\n", rule_channel="mail", deals=5)
        code, data = run(cli, project)
    assert code == 0 and len(server.mails) == 5
    assert server.connections == 1
    assert data["summary"]["channels"]["mail"]["sent"] == 5


def test_smtp_channels_naming_the_same_server_share_its_one_connection(cli, tmp_path):
    with smtp_server() as server, smtp_server() as other:
        project = project_with(tmp_path, f"  mail: {{use: smtp, host: 127.0.0.1, port: {server.port}, "
                                         "from: ops@example.com}\n"
                                         f"  sales: {{use: smtp, host: 127.0.0.1, port: {server.port}, "
                                         "from: sales@example.com}\n"
                                         f"  elsewhere: {{use: smtp, host: 127.0.0.1, port: {other.port}, "
                                         "from: ops@example.com}\n", rule_channel="mail", deals=4)
        project.workflow.write_text(project.workflow.read_text() + "  - {on: stage_entered, channel: sales}\n"
                                    "  - {on: stage_entered, channel: elsewhere}\n")
        code, data = run(cli, project)
    assert code == 0, data["diagnostics"]
    assert len(server.mails) == 8 and len(other.mails) == 4
    assert server.connections == 1 and other.connections == 1  # one per server, not per channel
    assert {m.mail_from for m in server.mails} == {"ops@example.com", "sales@example.com"}


def test_no_secret_in_the_outboxs_last_error(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", "tok-3x4mple-secret")
    project = project_with(tmp_path, "  hook: {use: webhook, url: 'http://bob:pa55word@127.0.0.1:"
                                     f"{closed_port()}/x', token_env: HOOK_TOKEN}}\n", deals=1)
    code, data = run(cli, project)
    [(status, _, error)] = outbox(project)
    assert status == "failed" and "connection refused" in error
    assert "pa55word" not in error and "bob" not in error
    assert "pa55word" not in json.dumps(data) and "tok-3x4mple-secret" not in json.dumps(data)


def test_scrub_removes_secret_values_and_url_userinfo():
    assert scrub("refused: token tok-123 at https://u:p@host/x", ["tok-123"]) == "refused: token *** at https://***@host/x"
