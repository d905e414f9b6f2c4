"""What every command shares: options, loading the workflow, errors, output."""
from __future__ import annotations

import datetime as dt
import functools
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click

from ..diagnostics import Diagnostic, FlowctlError
from ..plugin_manager import PluginFailure, Plugins
from ..redact import mask_secrets
from ..terminal import escape_controls
from ..store import StoreError

if TYPE_CHECKING:
    from ..model import Workflow

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2
DEFAULT_WORKFLOW = "workflow.yaml"


class Context:
    """Per-invocation state: the plugins (loaded once, lazily)."""

    def __init__(self, extra_plugins: tuple[str, ...]):
        self.extra_plugins = extra_plugins
        self._plugins: Plugins | None = None

    @property
    def plugins(self) -> Plugins:
        if self._plugins is None:
            self._plugins = Plugins(self.extra_plugins)
            for problem in self._plugins.problems:
                warn(problem.format())
        return self._plugins


pass_context = click.make_pass_decorator(Context)


def warn(message: str) -> None:
    click.secho(f"warning: {escape_controls(message)}", fg="yellow", err=True)


def formats_option(*extra: str) -> Callable[[Callable], Callable]:
    """--format text|json and the command's own further formats (github, markdown)."""
    def decorate(fn: Callable) -> Callable:
        return click.option("--format", "fmt", type=click.Choice(["text", "json", *extra]), default="text",
                            show_default=True, help="Output format; JSON is documented and stable.")(fn)
    return decorate


format_option = formats_option()


def workflow_option(fn: Callable) -> Callable:
    return click.option("-w", "--workflow", "workflow_path", type=click.Path(dir_okay=False),
                        help=f"Workflow file (default: {DEFAULT_WORKFLOW} here).")(fn)


def now_option(fn: Callable) -> Callable:
    return click.option("--now", "now", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                        help="Take this date (YYYY-MM-DD) as today.")(fn)


def as_of_option(fn: Callable) -> Callable:
    return click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                        help="Evaluate the pipeline as it stood on this date (only facts dated up to it).")(fn)


def store_option(fn: Callable) -> Callable:
    return click.option("--store", "store_url", default=None, metavar="URL",
                        help="Store URL (default sqlite:///<workflow dir>/.flowctl/state.db; postgresql://… for a shared one).")(fn)


def today(now: dt.datetime | None) -> dt.date:
    return now.date() if now is not None else dt.date.today()


def resolve_workflow_path(path: str | None) -> str:
    if path is not None:
        return path
    if os.path.isfile(DEFAULT_WORKFLOW):
        return DEFAULT_WORKFLOW
    raise click.UsageError(f"no workflow: give -w WORKFLOW (there is no {DEFAULT_WORKFLOW} here)")


def default_deals(workflow_path: str) -> list[str]:
    folder = Path(workflow_path).parent / "deals"
    if folder.is_dir():
        return [str(folder)]
    raise click.UsageError(f"no deal files given, and no deals/ folder beside {workflow_path}")


def default_store_url(ctx: Context, workflow_path: str) -> str:
    """The project's store when --store is not given: whatever the store plugins say."""
    url = ctx.plugins.default_store_url(Path(workflow_path).resolve().parent)
    if url is None:
        raise click.UsageError("no store plugin gives a default store: pass --store URL")
    return url


def load_workflow_or_fail(ctx: Context, path: str) -> Workflow:
    from ..workflow import load_workflow
    workflow, diagnostics = load_workflow(path, ctx.plugins)
    for d in diagnostics:
        if d.severity != "error":
            click.echo(d.format(), err=True)
    if workflow is None:
        raise FlowctlError([d for d in diagnostics if d.severity == "error"])
    return workflow


def open_store(ctx: Context, url: str | None, workflow_path: str, *, must_exist: bool = False) -> Any:
    """The store at url (default: the project's). With must_exist, None when the store
    is not there yet (its plugin says so): a dry run or a look must not create one."""
    url = url or default_store_url(ctx, workflow_path)
    if must_exist and not ctx.plugins.store_exists(url):
        return None
    store = ctx.plugins.open_store(url)
    if store is None:
        raise click.UsageError(f"no plugin handles the store URL {mask_secrets(url)!r} (sqlite:///… or postgresql://…)")
    return store


def optional_store(ctx: Context, url: str | None, workflow_path: str) -> Any:
    """The store for history when one is there and reachable; else None, with a warning
    when it was asked for but cannot be opened (the deals' own history is used then)."""
    try:
        return open_store(ctx, url, workflow_path, must_exist=True)
    except Exception as exc:
        warn(f"store {mask_secrets(url or '')} not reachable ({exc}): using the deals' own history only")
        return None


def handle_errors(fn: Callable) -> Callable:
    """Bad input exits 2 with a clear message and no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        code = EXIT_OK
        stopped_by: list[PluginFailure] = []
        try:
            fn(*args, **kwargs)
        except PluginFailure as exc:  # one the command cannot go on without (its store)
            stopped_by.append(exc)
        except FlowctlError as exc:
            for d in sorted(exc.diagnostics, key=lambda d: d.sort_key()):
                click.echo(d.format(), err=True)
            code = EXIT_USAGE
        except StoreError as exc:
            click.secho(f"error: store: {mask_secrets(str(exc))}", fg="red", err=True)  # a driver may echo the URL
            code = EXIT_USAGE
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else EXIT_ERRORS
        # A plugin that raised in a hook is named, whatever the command (exit 1 at least).
        plugins = _plugins_loaded()
        failures = plugins.take_failures() if plugins is not None else []
        for failure in failures + [f for f in stopped_by if str(f) not in map(str, failures)]:  # a worker's
            click.secho(f"error: {failure}", fg="red", err=True)
            code = max(code, EXIT_ERRORS)
        sys.exit(code)
    return wrapper


def _plugins_loaded() -> Plugins | None:
    """This command's plugins, if it loaded any (a command that needed none met no failure)."""
    ctx = click.get_current_context(silent=True)
    context = ctx.find_object(Context) if ctx else None
    return context._plugins if context is not None else None


def echo_result(data: dict[str, Any]) -> None:
    """A command's --format json result. The plugin failures met so far are errors in its
    `diagnostics` (the key is added only then, where the command has none) and make `ok`
    false; handle_errors still names them on stderr and exits 1."""
    plugins = _plugins_loaded()
    failures = plugins.peek_failures() if plugins is not None else []
    if failures:
        data = {**data, "diagnostics": [*data.get("diagnostics", []), *(f.diagnostic().to_json() for f in failures)]}
        if "ok" in data:
            data["ok"] = False
    echo_json(data)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def diagnostics_json(diagnostics: list[Diagnostic]) -> dict:
    return {"ok": not any(d.severity == "error" for d in diagnostics),
            "diagnostics": [d.to_json() for d in diagnostics]}


def progress(iterable: Any, length: int | None, label: str) -> Any:
    """A progress bar on a terminal, nothing when piped."""
    if not sys.stderr.isatty() or (length is not None and length < 200):
        return _NoBar(iterable)
    return click.progressbar(iterable, length=length, label=label, file=sys.stderr)


def progress_over(items: list, label: str) -> Iterator:
    """The items, one by one, with the same progress bar (for code that takes an iterable)."""
    with progress(items, len(items), label) as bar:
        yield from bar


class _NoBar:
    def __init__(self, iterable: Any):
        self.iterable = iterable

    def __enter__(self) -> Any:
        return self.iterable

    def __exit__(self, *exc: Any) -> None:
        return None
