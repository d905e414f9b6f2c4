"""What flowctl's delivery costs against a plain client doing the same sends.

    python benchmarks/delivery.py [N] [--rounds R]

N notifications (default 1000) are queued in a fresh SQLite store and delivered by
`flowctl.delivery.deliver` through the built-in channels, to a local keep-alive HTTP
server (webhook) and to a local aiosmtpd server (smtp). In the same run, the same
messages go to the same servers by a plain client: one keep-alive `http.client`
connection POSTing the same bodies, and one `smtplib` connection sending the same
e-mails. flowctl's time includes claiming the outbox and recording every result in the
store. Prints the median of R rounds and the ratio; the goal is at most 3x each.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import http.client
import smtplib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers import smtp_server, webhook_server  # noqa: E402

from flowctl.delivery import deliver  # noqa: E402
from flowctl.hooktypes import Message  # noqa: E402
from flowctl.plugin_manager import Plugins  # noqa: E402
from flowctl.plugins import smtp as smtp_channel  # noqa: E402
from flowctl.plugins import webhook as webhook_channel  # noqa: E402
from flowctl.store import Batch, OutboxItem  # noqa: E402

GOAL = 3.0
DAY = dt.date(2026, 6, 1)


class _Workflow:  # what deliver() reads of a workflow
    def __init__(self, channels: dict):
        self.channels = channels


def messages(n: int, channel: str) -> list[OutboxItem]:
    return [OutboxItem(f"D{i:05d}|stage_entered|rule-0|{channel}|rep{i % 7}@example.com", channel,
                       f"rep{i % 7}@example.com", f"D{i:05d} entered proposed",
                       f"Deal D{i:05d} entered proposed.\nAmount: {1000 + i} EUR\n",
                       {"events": [{"kind": "stage_entered", "deal": f"D{i:05d}"}], "deal": {"id": f"D{i:05d}"}},
                       created_at=DAY) for i in range(n)]


def flowctl_time(n: int, channel: str, config: dict, plugins: Plugins, sessions: bool = True) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = plugins.open_store(f"sqlite:///{tmp}/state.db")
        try:
            run = store.start_run(DAY, "wf", "d", [])
            store.write(Batch(run, outbox=messages(n, channel)))
            started = time.perf_counter()
            types = plugins.channel_types()
            if not sessions:  # as before sessions: a connection (and a TLS context) per message
                types = {k: dataclasses.replace(v, open=None) for k, v in types.items()}
            report = deliver(store, _Workflow({channel: config}), types)  # type: ignore[arg-type]
            elapsed = time.perf_counter() - started
        finally:
            store.close()
    assert report.sent == n, report.failed[:3]
    return elapsed


def plain_http_time(n: int, port: int) -> float:
    bodies = [webhook_channel.body_bytes(Message(i.key, i.channel, i.recipient, i.subject, i.body, i.payload))
              for i in messages(n, "hook")]
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for body in bodies:
        conn.request("POST", "/in", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        assert response.status == 200
    conn.close()
    return time.perf_counter() - started


def plain_smtp_time(n: int, port: int) -> float:
    mails = [smtp_channel.build_email(Message(i.key, i.channel, i.recipient, i.subject, i.body, i.payload),
                                      "ops@example.com", i.recipient or "") for i in messages(n, "mail")]
    started = time.perf_counter()
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
    for mail in mails:
        smtp.send_message(mail)
    smtp.quit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    plugins = Plugins(load_entry_points=False)
    results = {}
    with webhook_server(keep_alive=True) as hook:
        config = {"use": "webhook", "url": hook.url + "/in", "timeout": 10}
        ours, theirs = [], []
        for _ in range(args.rounds):  # alternate, so drift hits both
            theirs.append(plain_http_time(args.n, int(hook.url.rsplit(":", 1)[1])))
            ours.append(flowctl_time(args.n, "hook", config, plugins))
        results["webhook"] = (statistics.median(ours), statistics.median(theirs), "keep-alive http.client")
        connections = hook.connections
        per_message = flowctl_time(args.n, "hook", config, plugins, sessions=False)
    with smtp_server() as mail:
        config = {"use": "smtp", "host": "127.0.0.1", "port": mail.port, "from": "ops@example.com", "timeout": 10}
        ours, theirs = [], []
        for _ in range(args.rounds):
            theirs.append(plain_smtp_time(args.n, mail.port))
            ours.append(flowctl_time(args.n, "mail", config, plugins))
        results["smtp"] = (statistics.median(ours), statistics.median(theirs), "single-connection smtplib")
        smtp_connections = mail.connections
        smtp_per_message = flowctl_time(args.n, "mail", config, plugins, sessions=False)
    print(f"{args.n} notifications, median of {args.rounds} rounds "
          f"(TCP connections over all rounds: webhook {connections}, smtp {smtp_connections})")
    for name, (ours_s, theirs_s, what) in results.items():
        ratio = ours_s / theirs_s
        print(f"  {name:8} flowctl {ours_s:7.3f} s   {what} {theirs_s:7.3f} s   ratio {ratio:4.2f}x  "
              f"({'ok' if ratio <= GOAL else 'OVER'} goal <= {GOAL:g}x)")
    print(f"  without sessions (a connection per message, one round): webhook {per_message:.3f} s, "
          f"smtp {smtp_per_message:.3f} s")


if __name__ == "__main__":
    main()
