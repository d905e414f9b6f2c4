"""What the channel tests (smtp, webhook, delivery) share: a sample notification, the
short timeout they use, and a fixture that keeps loopback requests away from proxies.
Test modules import them with `from channel_messages import ...` (tests/ is on sys.path);
importing `no_proxy` into a module makes it that module's autouse fixture."""
from __future__ import annotations

from pathlib import Path

import pytest

from flowctl.hooktypes import Message
from servers import self_signed_cert

FAST = 1.0  # seconds: every channel timeout in these tests


def message(**changes: object) -> Message:
    """An overdue-job notification for alice@example.com, with these fields changed."""
    fields: dict = dict(key="ACME-1|job_overdue|proposed|2026-11-23|rule-0|alice@example.com",
                        channel="email", recipient="alice@example.com", subject="ACME: send-to-legal is overdue",
                        body="The job send-to-legal is 3 days late.\nDeal: ACME-1",
                        payload={"events": [{"kind": "job_overdue", "deal": "ACME-1"}], "deal": {"id": "ACME-1"}})
    fields.update(changes)
    return Message(**fields)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours *_proxy variables; loopback requests must not go through one."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(cert.pem, key.pem) of a self-signed localhost certificate, one per test module."""
    return self_signed_cert(tmp_path_factory.mktemp("tls"))
