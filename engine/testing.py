"""pytest fixtures for people who write flowctl plugins.

Installing flowctl registers this module as the pytest plugin ``flowctl`` (entry point
group ``pytest11``), so these fixtures are available in any test suite without an
import:

``flowctl_now``
    "Today" for the runs of a test (default 2026-01-05): ``.set(date)``, ``.advance(days)``.
``flowctl_project``
    A temporary folder with ``workflow.yaml`` (by default a small overlay of
    ``builtin:six-stage``; give your own text with ``write_workflow(text)`` or the marker
    ``@pytest.mark.flowctl_workflow(text)``), a ``deals/`` folder filled by
    ``deal(id, **fields)``, a ``templates/`` folder filled by ``template(name, text)``
    and a store URL of its own.
``flowctl_plugins``
    Plugin modules to load with ``--plugin`` (default none). Override it in your
    conftest.py to test your plugin before it is installed; a module that an installed
    entry point already provides is not loaded twice.
``flowctl_run``
    Runs ``flowctl run`` in-process (click's CliRunner) on the project with ``--now``,
    the project's store and ``--format json``, and returns the parsed JSON (a dict that
    also carries ``exit_code``, ``stdout`` and ``stderr``). ``flowctl_run.invoke(...)``
    runs any other command with the same plugins.
``run_cli(*args, cwd=, env=, input=)`` and ``invoke_cli(...)``
    The runner behind ``flowctl_run`` (from :mod:`flowctl.testing_cli`): any command
    in-process, from ``cwd``, under a hang guard of 120 s; ``run_cli`` returns click's
    Result whatever happened, ``invoke_cli`` also re-raises an exception that escaped the
    command and fails on a traceback in the output.
``flowctl_store``
    The project's store (:class:`flowctl.store.Store`), opened on first use, for
    assertions on history, action results and the outbox.
``captured_notifications``
    Registers, for the duration of the test, a plugin object providing the channel type
    ``capture``; every message delivered to a channel with ``use: capture`` is kept
    (as :class:`flowctl.hooktypes.Message`). Set ``.fail = "reason"`` to make deliveries
    fail, to test the outbox. ``flowctl_run`` picks the plugin up by itself.

See docs/plugins.md, "Testing a plugin".
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import itertools
import json
import os
import re
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence, cast

import pytest

from .hookspecs import hookimpl
from .hooktypes import ChannelType, DeliveryError, Message
from .testing_cli import HANG_GUARD, Hung, invoke_cli, raise_escaped, run_cli

if TYPE_CHECKING:
    from click.testing import Result

    from .store import Store

__all__ = ["DEFAULT_NOW", "DEFAULT_WORKFLOW", "HANG_GUARD", "CapturedNotifications", "CliOutput", "FlowctlNow",
           "FlowctlProject", "FlowctlRun", "Hung", "captured_notifications", "flowctl_now", "flowctl_plugins",
           "flowctl_project", "flowctl_run", "flowctl_store", "invoke_cli", "raise_escaped", "run_cli"]

DEFAULT_NOW = dt.date(2026, 1, 5)
DEFAULT_WORKFLOW = """\
flowctl: 1
name: plugin-test
extends: builtin:six-stage
locale: en
currency: EUR
"""
CAPTURE_SCHEMA: dict = {
    "title": "Capture channel (tests only)",
    "description": "Keeps every message in the `captured_notifications` fixture of flowctl.testing.",
    "type": "object",
    "required": ["use"],
    "properties": {"use": {"const": "capture"}},
}
_DURATION = re.compile(r"^\s*(\d+)\s*([dw])\s*$")
_counter = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "flowctl_workflow(text): the workflow of the flowctl_project fixture")


# --------------------------------------------------------------------------- today

class FlowctlNow:
    """The date the test's runs take as today (passed as ``--now``)."""

    def __init__(self, date: dt.date = DEFAULT_NOW):
        self.date = date

    def set(self, value: dt.date | str) -> dt.date:
        """Take ``value`` (a date or ``YYYY-MM-DD``) as today from now on."""
        self.date = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
        return self.date

    def advance(self, days: int | str = 1, *, weeks: int = 0) -> dt.date:
        """Move today forward: ``advance(3)``, ``advance("2w")``, ``advance(weeks=1)``."""
        if isinstance(days, str):
            match = _DURATION.match(days)
            if match is None:
                raise ValueError(f"expected a duration like 3d or 2w, not {days!r}")
            days = int(match[1]) * (7 if match[2] == "w" else 1)
        self.date += dt.timedelta(days=days, weeks=weeks)
        return self.date

    def iso(self) -> str:
        return self.date.isoformat()

    def __str__(self) -> str:
        return self.iso()

    def __repr__(self) -> str:
        return f"FlowctlNow({self.iso()})"


# --------------------------------------------------------------------------- the project

class FlowctlProject:
    """A workflow, its deals/ and templates/ folders and a store, in a temporary folder."""

    def __init__(self, root: Path, now: FlowctlNow, workflow: str = DEFAULT_WORKFLOW):
        self.root = root
        self.now = now
        self.workflow = root / "workflow.yaml"
        self.deals = root / "deals"
        self.templates = root / "templates"
        self.store_path = root / ".flowctl" / "state.db"
        self.deals.mkdir(parents=True, exist_ok=True)
        self.templates.mkdir(exist_ok=True)
        self.write_workflow(workflow)

    @property
    def store_url(self) -> str:
        return "sqlite:///" + str(self.store_path)  # an absolute path: sqlite:////tmp/...

    def write_workflow(self, text: str) -> Path:
        """Replace the workflow (the text is dedented)."""
        return _write(self.workflow, textwrap.dedent(text))

    def deal(self, deal_id: str, **fields: Any) -> Path:
        """Write ``deals/<id>.yaml`` (replacing it if it exists) and return its path.

        Defaults: ``owner: rep@example.com``, ``amount: 1000``, ``currency: EUR`` and
        ``created:`` today (``flowctl_now``); ``fields`` override them and add others
        (dates may be ``datetime.date`` objects). Values are written as YAML data.
        """
        import yaml

        document = {"id": deal_id, "owner": "rep@example.com", "amount": 1000, "currency": "EUR",
                    "created": self.now.date, **fields}
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", deal_id).strip("._") or "deal"
        return _write(self.deals / f"{name}.yaml", yaml.safe_dump(document, sort_keys=False, allow_unicode=True))

    def template(self, name: str, text: str) -> Path:
        """Write a template into the project's ``templates/`` folder (it overrides plugins' and built-ins')."""
        return _write(self.templates / name, textwrap.dedent(text))

    def file(self, relative: str, text: str) -> Path:
        """Write any file under the project folder."""
        return _write(self.root / relative, text)


def _write(path: Path, text: str) -> Path:
    """Write text; if the file existed, make sure its (size, mtime) changes, so that
    flowctl's manifest cannot take a rewritten file for an unchanged one."""
    before = path.stat() if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    if before is not None:
        after = path.stat()
        if (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
            os.utime(path, ns=(after.st_atime_ns, after.st_mtime_ns + 1_000_000))
    return path


# --------------------------------------------------------------------------- captured notifications

class CapturedNotifications:
    """The messages delivered to channels with ``use: capture`` during one test.

    A plugin object provides the channel type; it is registered for the duration of the
    test under :attr:`module_name` (``--plugin`` finds it in ``sys.modules``), and
    :attr:`cli_args` are the options that load it in a CLI call.
    """

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.configs: list[dict] = []  # the channel config of each message, with *_env secrets resolved
        self.fail: str | None = None  # when set, every delivery fails with this reason (DeliveryError)
        self.attempts = 0
        self.module_name = f"flowctl_testing_capture_{os.getpid()}_{next(_counter)}"
        self.plugin = _CapturePlugin(self)

    @property
    def cli_args(self) -> list[str]:
        return ["--plugin", self.module_name]

    def send(self, config: dict, message: Message) -> None:
        self.attempts += 1
        if self.fail is not None:
            raise DeliveryError(self.fail)
        self.messages.append(message)
        self.configs.append(config)

    def to(self, recipient: str) -> list[Message]:
        """The messages sent to this recipient."""
        return [m for m in self.messages if m.recipient == recipient]

    def on(self, channel: str) -> list[Message]:
        """The messages sent through the workflow's channel of this name."""
        return [m for m in self.messages if m.channel == channel]

    @property
    def subjects(self) -> list[str]:
        return [m.subject for m in self.messages]

    def clear(self) -> None:
        self.messages.clear()
        self.configs.clear()

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def __getitem__(self, index: int) -> Message:
        return self.messages[index]

    def __repr__(self) -> str:
        return f"CapturedNotifications({[(m.channel, m.recipient, m.subject) for m in self.messages]!r})"


class _CapturePlugin:
    """The plugin object behind ``captured_notifications``."""

    def __init__(self, sink: CapturedNotifications):
        self._sink = sink

    @hookimpl
    def flowctl_channel_types(self) -> list[ChannelType]:
        return [ChannelType(name="capture", send=self._sink.send, config_schema=CAPTURE_SCHEMA)]


# --------------------------------------------------------------------------- running the CLI

class CliOutput(dict):
    """The parsed JSON output of a command, with how it ended."""

    def __init__(self, result: "Result"):
        self.result = result
        self.exit_code: int = result.exit_code
        self.stdout: str = result.stdout
        self.stderr: str = result.stderr
        self.json_error: str | None = None  # why stdout is not a JSON document, when it is not
        try:
            data = json.loads(result.stdout) if result.stdout.strip() else {}
        except ValueError as exc:
            data, self.json_error = {}, str(exc)
        super().__init__(data if isinstance(data, dict) else {"value": data})


class FlowctlRun:
    """Calls the ``flowctl`` CLI in-process on a project; see :meth:`__call__`."""

    def __init__(self, project: FlowctlProject, now: FlowctlNow, plugins: Sequence[str] = (),
                 capture: CapturedNotifications | None = None):
        self.project = project
        self.now = now
        self.plugins = list(plugins)
        self.capture = capture
        self.last: "Result | None" = None

    def plugin_args(self) -> list[str]:
        """``--plugin`` options for this test's plugin modules (and the capture plugin)."""
        provided = _entry_point_modules()
        modules = [m for m in self.plugins if m not in provided]
        if self.capture is not None:
            modules.append(self.capture.module_name)
        return [arg for module in dict.fromkeys(modules) for arg in ("--plugin", module)]

    def __call__(self, *args: str | os.PathLike, deals: Sequence[str | os.PathLike] | None = None,
                 expect: int | None = 0, env: dict[str, str | None] | None = None) -> CliOutput:
        """``flowctl run DEALS -w WORKFLOW --store URL --now TODAY --format json ARGS``.

        :param args: more options, e.g. ``"--dry-run"``.
        :param deals: files or folders (default: the project's deals/ folder).
        :param expect: the exit code to assert (0 by default; None: do not check).
        :param env: environment variables for the call (None unsets one).
        :return: the parsed JSON, a dict with ``exit_code``, ``stdout``, ``stderr``.
        """
        p = self.project
        argv = ["run", *[str(d) for d in (deals or [p.deals])], "-w", str(p.workflow), "--store", p.store_url,
                "--now", self.now.iso(), "--format", "json", *[str(a) for a in args]]
        output = CliOutput(self.invoke(*argv, env=env))
        if expect is not None and output.exit_code != expect:
            raise AssertionError(f"flowctl run exited {output.exit_code}, expected {expect}\n"
                                 f"--- stderr ---\n{output.stderr}\n--- stdout ---\n{output.stdout}")
        if output.json_error is not None and expect is not None:
            raise AssertionError(f"flowctl run --format json printed something that is not JSON "
                                 f"({output.json_error})\n--- stdout ---\n{output.stdout}")
        return output

    def invoke(self, *args: str | os.PathLike, env: dict[str, str | None] | None = None,
               input: str | None = None) -> "Result":
        """Any command: ``flowctl [--plugin M]... ARGS``; returns click's Result (an exception
        that escapes the command propagates). The runner is :func:`run_cli`."""
        self.last = run_cli(*self.plugin_args(), *args, env=env, input=input)
        return raise_escaped(self.last)


def _entry_point_modules() -> set[str]:
    """Modules that installed plugins (entry points of the group `flowctl`) load."""
    return {ep.value.partition(":")[0].strip() for ep in importlib.metadata.entry_points(group="flowctl")}


class _LazyStore:
    """Opens the project's store on first use, closes it at the end of the test."""

    def __init__(self, url: str):
        self._url = url
        self._store: Any = None

    def _open(self) -> Any:
        if self._store is None:
            from .plugin_manager import Plugins

            store = Plugins().open_store(self._url)
            if store is None:
                raise RuntimeError(f"no plugin opens the store {self._url}")
            self._store = store
        return self._store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._open(), name)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


# --------------------------------------------------------------------------- fixtures

@pytest.fixture
def flowctl_now() -> FlowctlNow:
    """Today for this test's runs: 2026-01-05 until ``.set()`` or ``.advance()`` moves it."""
    return FlowctlNow()


@pytest.fixture
def flowctl_project(tmp_path: Path, flowctl_now: FlowctlNow, request: pytest.FixtureRequest) -> FlowctlProject:
    """A temporary project: workflow.yaml, deals/, templates/ and a store of its own."""
    marker = request.node.get_closest_marker("flowctl_workflow")
    text = marker.args[0] if marker is not None and marker.args else DEFAULT_WORKFLOW
    return FlowctlProject(tmp_path / "project", flowctl_now, text)


@pytest.fixture
def flowctl_plugins() -> list[str]:
    """Plugin modules each CLI call loads with ``--plugin``; override to add yours."""
    return []


@pytest.fixture
def captured_notifications(monkeypatch: pytest.MonkeyPatch) -> Iterator[CapturedNotifications]:
    """The channel type ``capture``, registered for this test; the messages it received."""
    captured = CapturedNotifications()
    # `--plugin NAME` imports NAME; an object in sys.modules under that name is what it gets.
    monkeypatch.setitem(sys.modules, captured.module_name, captured.plugin)
    yield captured


@pytest.fixture
def flowctl_run(flowctl_project: FlowctlProject, flowctl_now: FlowctlNow, flowctl_plugins: list[str],
                request: pytest.FixtureRequest) -> FlowctlRun:
    """Run ``flowctl run`` in-process on ``flowctl_project``; returns the parsed JSON."""
    capture = None
    if "captured_notifications" in request.fixturenames:
        capture = cast(CapturedNotifications, request.getfixturevalue("captured_notifications"))
    return FlowctlRun(flowctl_project, flowctl_now, flowctl_plugins, capture)


@pytest.fixture
def flowctl_store(flowctl_project: FlowctlProject) -> Iterator["Store"]:
    """The project's store, opened when first used; closed after the test."""
    store = _LazyStore(flowctl_project.store_url)
    yield cast("Store", store)
    store.close()
