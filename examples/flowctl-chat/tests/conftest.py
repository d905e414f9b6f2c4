"""Fixtures of flowctl-chat's tests.

flowctl's own fixtures (flowctl_project, flowctl_run, flowctl_now, flowctl_store,
captured_notifications) come from the pytest plugin that installing flowctl registers;
this file adds a chat server to post to and says which plugin module to load.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("flowctl_chat") is None:  # not installed: test the source tree
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def flowctl_plugins() -> list[str]:
    # Loaded with --plugin; flowctl_run skips it when the installed entry point provides it.
    return ["flowctl_chat"]


@dataclasses.dataclass
class ChatServer:
    """An incoming-webhook receiver: records each POST, answers `status`."""

    url: str = ""
    status: int = 200
    posts: list[dict] = dataclasses.field(default_factory=list)
    headers: list[dict] = dataclasses.field(default_factory=list)
    paths: list[str] = dataclasses.field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [p.get("text", "") for p in self.posts]


@contextlib.contextmanager
def chat_server(status: int = 200) -> Iterator[ChatServer]:
    state = ChatServer(status=status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.posts.append(json.loads(body))
            state.headers.append({k.lower(): v for k, v in self.headers.items()})
            state.paths.append(self.path)
            answer = b"ok" if state.status < 400 else b"failed on purpose"
            self.send_response(state.status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/hooks/T0KEN"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    with chat_server() as server:
        yield server
