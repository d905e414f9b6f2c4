"""The plugin manager, and the one typed wrapper through which the core calls hooks.

Built-in plugins are ordinary modules listed in DEFAULT_PLUGINS and registered exactly
as outside plugins are; outside plugins come from the entry-point group `flowctl`.
FLOWCTL_DISABLE_PLUGINS=a,b blocks plugins by name (pluggy's set_blocked);
FLOWCTL_STRICT_PLUGINS=1 turns a plugin that fails to load into an error;
FLOWCTL_TRACE_PLUGINS=1 writes every hook call and its result to standard error.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.metadata
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Iterable

import pluggy

from . import hookspecs
from .diagnostics import Diagnostic, FlowctlError
from .hooktypes import Action, ChannelType, ForecastMethod, MetricKind
from .store import Event, StoreError

DEFAULT_PLUGINS = (
    "flowctl.plugins.sqlite_store",
    "flowctl.plugins.postgres_store",
    "flowctl.plugins.console",
    "flowctl.plugins.smtp",
    "flowctl.plugins.webhook",
    "flowctl.plugins.render_action",
    "flowctl.plugins.notify_action",
    "flowctl.plugins.forecast_weighted",
    "flowctl.plugins.forecast_historical",
    "flowctl.plugins.forecast_montecarlo",
    "flowctl.plugins.forecast_runrate",
    "flowctl.plugins.metric_kinds",
    "flowctl.plugins.builtin_templates",
)
ENTRY_POINT_GROUP = "flowctl"


@dataclasses.dataclass
class PluginProblem:
    plugin: str
    message: str

    def format(self) -> str:
        return f"plugin {self.plugin}: {self.message}"


class PluginFailure(Exception):
    """A plugin raised inside a hook; the message names the plugin and the hook."""

    def __init__(self, plugin: str, hook: str, error: BaseException | str):
        self.plugin, self.hook = plugin, hook
        self.detail = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        super().__init__(f"plugin {plugin} failed in {hook}: {self.detail}")

    def __reduce__(self) -> tuple[Any, ...]:  # a --jobs worker sends it back to the parent
        return (PluginFailure, (self.plugin, self.hook, self.detail))

    def diagnostic(self) -> Diagnostic:
        """The failure as an error of the command, filed under the plugin's name."""
        return Diagnostic(self.plugin, str(self))


class Plugins:
    """Loads plugins and exposes each hook as a typed method."""

    def __init__(self, extra: Iterable[str] = (), *, load_entry_points: bool = True):
        self.pm = pluggy.PluginManager("flowctl")
        self.pm.add_hookspecs(hookspecs)
        self.problems: list[PluginProblem] = []  # load problems, reported as warnings
        self.failures: list[PluginFailure] = []  # hook calls that raised (in this process: see _failures)
        self._failures_pid = os.getpid()
        self.versions: dict[str, str] = {}
        for name in os.environ.get("FLOWCTL_DISABLE_PLUGINS", "").split(","):
            if name.strip():
                self.pm.set_blocked(name.strip())
        self.strict = _flag("FLOWCTL_STRICT_PLUGINS")
        self._trace = self.pm.trace.root.get("hook")
        if _flag("FLOWCTL_TRACE_PLUGINS"):
            self.pm.trace.root.setwriter(sys.stderr.write)
        from . import __version__
        for module in DEFAULT_PLUGINS:
            short = module.rsplit(".", 1)[-1]
            if not self.pm.is_blocked(module):
                self._register(functools.partial(importlib.import_module, module), short, __version__)
        if load_entry_points:
            for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
                version = ep.dist.version if ep.dist is not None else "?"
                self._register(ep.load, ep.name, version, dist=ep.dist.name if ep.dist else None)
        for module in extra:
            self._register(functools.partial(importlib.import_module, module), module, "local")
        if self.strict and self.problems:
            raise FlowctlError([Diagnostic(p.plugin, p.message) for p in self.problems])

    def _register(self, load: Callable[[], Any], name: str, version: str, dist: str | None = None) -> None:
        if self.pm.is_blocked(name):  # not even imported
            return
        try:
            plugin = load()
        except Exception as exc:  # a broken plugin must not take the others down
            self.problems.append(PluginProblem(name, f"failed to load: {type(exc).__name__}: {exc}"))
            return
        if self.pm.is_registered(plugin):
            return  # `--plugin m` for a module that is installed too: one copy, loaded once
        try:
            self.pm.register(plugin, name=name)
            unknown = [getattr(impl.function, "__name__", "?") for impl in self._impls_of(plugin)
                       if not hasattr(self.pm.hook, impl.function.__name__) or
                       getattr(self.pm.hook, impl.function.__name__).spec is None]
            if unknown:
                self.pm.unregister(plugin)
                self.problems.append(PluginProblem(name, f"implements unknown hook(s) {', '.join(sorted(set(unknown)))}"))
                return
            # The core calls each implementation on its own (to name a failing plugin),
            # which a wrapper's generator protocol cannot take part in.
            wrappers = sorted({i.function.__name__ for i in self._impls_of(plugin)
                               if getattr(i, "wrapper", False) or getattr(i, "hookwrapper", False)})
            if wrappers:
                self.pm.unregister(plugin)
                self.problems.append(PluginProblem(name, "hook wrappers (wrapper=True, hookwrapper=True) are not supported: "
                                                         + ", ".join(wrappers)))
                return
            unmarked = sorted(a for a in dir(plugin) if a.startswith("flowctl_") and hasattr(self.pm.hook, a)
                              and callable(getattr(plugin, a, None)) and self.pm.parse_hookimpl_opts(plugin, a) is None)
            if unmarked:
                self.problems.append(PluginProblem(name, f"{', '.join(unmarked)} not marked with @hookimpl: ignored"))
        except (pluggy.PluginValidationError, ValueError) as exc:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            self.problems.append(PluginProblem(name, f"does not match the hookspecs: {exc}"))
            return
        self.versions[name] = version

    def _impls_of(self, plugin: Any) -> list[Any]:
        out: list[Any] = []
        for caller in self.pm.get_hookcallers(plugin) or []:
            out.extend(i for i in caller.get_hookimpls() if i.plugin is plugin)
        # Hook functions with our prefix that no spec knows (typos) are not callers at all.
        for attr in dir(plugin):
            if attr.startswith("flowctl_") and not hasattr(self.pm.hook, attr) and callable(getattr(plugin, attr, None)):
                out.append(type("Unknown", (), {"function": getattr(plugin, attr)})())
        return out

    # -- calling hooks, one implementation at a time, so a failing plugin is named --

    def _call(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        hook = getattr(self.pm.hook, hook_name)
        results = []
        for impl in reversed(hook.get_hookimpls()):  # pluggy calls the last registered first
            self._trace(hook_name, impl.plugin_name, kwargs)
            try:
                result = impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception as exc:
                self._trace(hook_name, impl.plugin_name, "raised", format_exception(exc))
                self._failures().append(PluginFailure(impl.plugin_name, hook_name, exc))
                continue
            self._trace(hook_name, impl.plugin_name, "->", _brief(result))
            if result is not None:
                results.append((impl.plugin_name, result))
        return results

    def _joined(self, hook_name: str) -> list[tuple[str, Any]]:
        return [(name, item) for name, items in self._call(hook_name) for item in items]

    def default_store_url(self, project_dir: Path) -> str | None:
        return self._first("flowctl_default_store_url", project_dir=project_dir)

    def store_exists(self, url: str) -> bool:
        answer = self._first("flowctl_store_exists", url=url)
        return True if answer is None else bool(answer)

    def _first(self, hook_name: str, **kwargs: Any) -> Any:
        """A firstresult hook, called as _call calls hooks (a failing plugin is named),
        stopping at the first answer."""
        hook = getattr(self.pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            self._trace(hook_name, impl.plugin_name, kwargs)
            try:
                result = impl.function(**{k: kwargs[k] for k in impl.argnames})
            except StoreError:
                raise  # the user's (bad URL, no server, wrong password): exit 2 with the message
            except Exception as exc:
                raise self._failed(impl.plugin_name, hook_name, exc) from exc
            if result is not None:
                return result
        return None

    def open_store(self, url: str) -> Any:
        return self._first("flowctl_open_store", url=url)

    def _failed(self, plugin: str, hook_name: str, error: BaseException) -> PluginFailure:
        """A failure the command cannot go on without (no store): raised, and recorded
        too, so that it exits 1 even where the caller carries on without a store."""
        self._trace(hook_name, plugin, "raised", format_exception(error))
        failure = PluginFailure(plugin, hook_name, error)
        self._failures().append(failure)
        return failure

    def _failures(self) -> list[PluginFailure]:
        """This process's failures: a `run --jobs` worker is forked with the parent's not yet
        reported, which the parent reports itself (else each would be reported once per worker)."""
        if self._failures_pid != os.getpid():
            self.failures, self._failures_pid = [], os.getpid()
        return self.failures

    # Registration hooks: called once per command, their answers kept.

    @functools.cached_property
    def _channel_types(self) -> dict[str, ChannelType]:
        from .channel_settings import with_core_settings  # every channel also takes `rate` and `max_attempts`
        return {c.name: dataclasses.replace(c, config_schema=with_core_settings(c.config_schema))
                for _, c in self._joined("flowctl_channel_types")}

    @functools.cached_property
    def _actions(self) -> dict[str, Action]:
        return {a.name: a for _, a in self._joined("flowctl_actions")}

    @functools.cached_property
    def _forecast_methods(self) -> dict[str, ForecastMethod]:
        return {m.name: m for _, m in self._joined("flowctl_forecast_methods")}

    @functools.cached_property
    def _metric_kinds(self) -> dict[str, MetricKind]:
        return {m.name: m for _, m in self._joined("flowctl_metric_kinds")}

    @functools.cached_property
    def _template_dirs(self) -> list[Path]:
        return [Path(d) for _, dirs in self._call("flowctl_template_dirs") for d in dirs]

    @functools.cached_property
    def _report_formats(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for _, formats in self._call("flowctl_report_formats"):
            for suffix, template in formats.items():
                out.setdefault(suffix, template)
        return out

    def channel_types(self) -> dict[str, ChannelType]:
        return self._channel_types

    def actions(self) -> dict[str, Action]:
        return self._actions

    def forecast_methods(self) -> dict[str, ForecastMethod]:
        return self._forecast_methods

    def metric_kinds(self) -> dict[str, MetricKind]:
        return self._metric_kinds

    def template_dirs(self) -> list[Path]:
        return self._template_dirs

    def report_formats(self) -> dict[str, str]:
        return self._report_formats

    def run_finished(self, summary: dict[str, Any], events: list[Event]) -> None:
        self._call("flowctl_run_finished", summary=summary, events=events)

    # -- names, for checking workflows --

    def action_names(self) -> list[str]:
        return sorted(self.actions())

    def channel_names(self) -> list[str]:
        return sorted(self.channel_types())

    def metric_kind_names(self) -> list[str]:
        return sorted(self.metric_kinds())

    def describe(self) -> list[dict]:
        """Every registered plugin: name, version, hooks (for `flowctl plugins`)."""
        out = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:  # blocked
                continue
            hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [])
            out.append({"name": name, "version": self.versions.get(name, "?"),
                        "builtin": name in {m.rsplit('.', 1)[-1] for m in DEFAULT_PLUGINS} and self.versions.get(name) != "local",
                        "hooks": hooks})
        return sorted(out, key=lambda p: (not p["builtin"], p["name"]))

    def peek_failures(self) -> list[PluginFailure]:
        """The failures met so far, left for take_failures (which decides the exit code)."""
        return list(self._failures())

    def take_failures(self) -> list[PluginFailure]:
        failures, self.failures = self._failures(), []
        return failures


def _brief(result: Any) -> str:
    """A hook's result in a trace line: names, not whole objects."""
    if isinstance(result, (list, tuple)):
        return "[" + ", ".join(str(getattr(x, "name", type(x).__name__)) for x in result) + "]"
    if isinstance(result, dict):
        return "{" + ", ".join(map(str, result)) + "}"
    return type(result).__name__


def _flag(variable: str) -> bool:
    return os.environ.get(variable, "") not in ("", "0", "false", "no")


def format_exception(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()
