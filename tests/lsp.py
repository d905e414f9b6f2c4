"""A small Language Server Protocol client for tests: JSON-RPC 2.0 over a server's
stdio, framed by `Content-Length` headers, as editors speak it.

    with Server([path, "--stdio"], root) as server:
        server.initialize(settings)
        server.open(file, text)          # then server.change(file, new_text, version=2)
        diagnostics = server.diagnostics(file)
        items = server.completion(file, line, character)

Requests the server sends the client (workspace/configuration, capability
registration, progress) are answered here; every wait is bounded.
"""
from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

TIMEOUT = 60.0


class ServerError(Exception):
    pass


class Server:
    def __init__(self, command: list[str], root: Path):
        self.command, self.root = command, root
        self.settings: dict = {}
        self.messages: queue.Queue[dict] = queue.Queue()
        self.published: dict[str, list[dict]] = {}
        self.next_id = 0

    def __enter__(self) -> "Server":
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, cwd=self.root)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            self.process.wait(timeout=10)
        except (ServerError, OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                if stream:
                    stream.close()

    # -- framing --

    def _send(self, message: dict) -> None:
        body = json.dumps(message).encode("utf-8")
        assert self.process.stdin is not None
        self.process.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
        self.process.stdin.flush()

    def _read(self) -> None:
        out = self.process.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length is None:
                continue
            self.messages.put(json.loads(out.read(length)))

    # -- messages --

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = TIMEOUT) -> Any:
        self.next_id += 1
        mine = self.next_id
        self._send({"jsonrpc": "2.0", "id": mine, "method": method, "params": params})
        return self._wait(lambda m: m.get("id") == mine and "method" not in m, timeout, method)["result"]

    def _wait(self, done: Any, timeout: float, what: str) -> dict:
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise ServerError(f"no answer to {what} within {timeout:g} s")
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if "error" in message and "method" not in message:
                raise ServerError(f"{what}: {message['error']}")
            if "method" in message:
                self._serve(message)
            if done(message):
                return message

    def _serve(self, message: dict) -> None:
        """Answer the server's own requests; keep the diagnostics it publishes."""
        method = message["method"]
        if method == "textDocument/publishDiagnostics":
            self.published[message["params"]["uri"]] = message["params"]["diagnostics"]
        if "id" not in message:
            return
        result: Any = None
        if method == "workspace/configuration":
            result = [self._section(item.get("section")) for item in message["params"]["items"]]
        self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def _section(self, section: str | None) -> Any:
        value: Any = self.settings
        for part in (section or "").split(".") if section else []:
            value = value.get(part) if isinstance(value, dict) else None
        return value

    # -- the editor's side --

    def initialize(self, settings: dict) -> dict:
        self.settings = settings
        result = self.request("initialize", {
            "processId": None, "rootUri": self.root.as_uri(), "workspaceFolders": [{"uri": self.root.as_uri(), "name": "project"}],
            "capabilities": {"workspace": {"configuration": True, "didChangeConfiguration": {"dynamicRegistration": True}},
                             "textDocument": {"completion": {"completionItem": {"snippetSupport": False}},
                                              "publishDiagnostics": {}, "hover": {}}},
        })
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": settings})
        return result

    def open(self, file: Path, text: str) -> None:
        self.published.pop(file.as_uri(), None)
        self.notify("textDocument/didOpen", {"textDocument": {"uri": file.as_uri(), "languageId": "yaml", "version": 1,
                                                              "text": text}})

    def change(self, file: Path, text: str, version: int) -> None:
        self.published.pop(file.as_uri(), None)
        self.notify("textDocument/didChange", {"textDocument": {"uri": file.as_uri(), "version": version},
                                               "contentChanges": [{"text": text}]})

    def diagnostics(self, file: Path, timeout: float = TIMEOUT) -> list[dict]:
        """The diagnostics the server publishes for the file once it has checked it."""
        uri = file.as_uri()
        if uri not in self.published:
            self._wait(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri,
                       timeout, f"diagnostics of {file.name}")
        return self.published[uri]

    def completion(self, file: Path, line: int, character: int) -> list[dict]:
        result = self.request("textDocument/completion", {"textDocument": {"uri": file.as_uri()},
                                                          "position": {"line": line, "character": character}})
        return result.get("items", []) if isinstance(result, dict) else (result or [])

    def hover(self, file: Path, line: int, character: int) -> Any:
        return self.request("textDocument/hover", {"textDocument": {"uri": file.as_uri()},
                                                   "position": {"line": line, "character": character}})
