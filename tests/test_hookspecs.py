"""engine/hookspecs.py: the hooks as pluggy sees them: which give the first answer and which
gather every plugin's, that every built-in plugin implements them with matching arguments,
and that each hook's annotations name real types. (That each is documented is test_docs'.)"""
from __future__ import annotations

import importlib
import inspect
import typing
from pathlib import Path

import pluggy
import pytest

import flowctl
from flowctl import hookspecs
from flowctl.plugin_manager import DEFAULT_PLUGINS

HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("flowctl_"))
FIRST_RESULT = {"flowctl_default_store_url", "flowctl_store_exists", "flowctl_open_store"}


def manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("flowctl")
    pm.add_hookspecs(hookspecs)
    return pm


@pytest.mark.parametrize("name", HOOKS)
def test_only_the_storage_hooks_take_the_first_answer(name: str) -> None:
    options = manager().hook.__dict__[name].spec.opts
    assert bool(options.get("firstresult")) is (name in FIRST_RESULT)
    assert not options.get("historic")


@pytest.mark.parametrize("module", DEFAULT_PLUGINS)
def test_each_builtin_plugin_implements_hooks_with_their_arguments(module: str) -> None:
    pm = manager()
    plugin = importlib.import_module(module)
    pm.register(plugin)  # pluggy refuses an implementation whose arguments the spec lacks
    pm.check_pending()  # and names an implementation of no hook
    assert pm.get_hookcallers(plugin)


def test_the_builtins_together_implement_every_hook_but_run_finished() -> None:
    pm = manager()
    for module in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module))
    implemented = {name for name in HOOKS if pm.hook.__dict__[name].get_hookimpls()}
    assert implemented == set(HOOKS) - {"flowctl_run_finished"}  # a hook for observers, none built in


@pytest.mark.parametrize("name", HOOKS)
def test_each_hooks_annotations_name_real_types(name: str) -> None:
    namespace = {**vars(flowctl), **{n: getattr(flowctl, n) for n in flowctl.__all__}, "Path": Path}
    hints = typing.get_type_hints(getattr(hookspecs, name), globalns=namespace)
    assert "return" in hints and set(hints) - {"return"} == set(inspect.signature(getattr(hookspecs, name)).parameters)


def test_the_markers_are_flowctls() -> None:
    assert hookspecs.hookimpl.project_name == hookspecs.hookspec.project_name == "flowctl"
    assert flowctl.hookimpl is hookspecs.hookimpl
