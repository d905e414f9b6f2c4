"""The public API (`flowctl.__all__`, engine/__init__.py): every name a plugin needs,
importable from `flowctl`, loaded only on first use."""
from __future__ import annotations

import subprocess
import sys

import pytest

import flowctl


@pytest.mark.parametrize("name", [n for n in flowctl.__all__ if n != "__version__"])
def test_every_public_name_is_the_object_its_module_defines(name):
    value = getattr(flowctl, name)
    module = sys.modules[f"flowctl.{flowctl._PUBLIC[name]}"]
    assert value is getattr(module, name)


def test_the_types_hooks_receive_are_public_and_precise():
    import dataclasses
    import re
    from flowctl import ActionContext, ForecastInput, MetricKind
    for cls in (ActionContext, ForecastInput, MetricKind):
        for field in dataclasses.fields(cls):
            for word in re.findall(r"[A-Za-z_][\w.]*", str(field.type)):
                if word[:1].isupper() and word not in ("Any", "Callable", "Path", "None"):
                    assert word in flowctl.__all__, f"{cls.__name__}.{field.name} uses {word}, which is not public"
    types = {f.name: f.type for c in (ActionContext, ForecastInput) for f in dataclasses.fields(c)}
    assert [types[n] for n in ("state", "job", "workflow", "states", "store")] == [
        "DealState", "Job", "Workflow", "list[SlimState]", "Store | None"]


def test_star_import_gives_exactly_all():
    namespace: dict = {}
    exec("from flowctl import *", namespace)
    assert set(flowctl.__all__) <= set(namespace)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        flowctl.Nope  # noqa: B018
    assert "Store" in dir(flowctl)


def test_importing_flowctl_loads_nothing_else():
    code = "import sys, flowctl; print(sorted(m for m in sys.modules if m.startswith(('flowctl.', 'pluggy', 'jinja2'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
