"""A run set up in process, as `flowctl run` sets it up, for the runner and parallel tests:
the workflow of a conftest Project, its plugins and a SQLite store in its folder. Test
modules import it with `from runs_in_process import ...` (tests/ is on sys.path)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from conftest import WORKFLOW, Project
from flowctl.plugin_manager import Plugins
from flowctl.run_setup import RunSetup
from flowctl.workflow import load_workflow

NOW = dt.date(2026, 1, 5)
# The test workflow with a declared metric off its target while there are fewer than 5 deals.
TARGETED = WORKFLOW + "metrics:\n  - {id: many, kind: count, target: '>= 5'}\n"


def run_setup(project: Project, plugins: Any = None, now: dt.date = NOW) -> RunSetup:
    plugins = plugins or Plugins(load_entry_points=False)
    workflow, diagnostics = load_workflow(project.workflow, plugins)
    assert workflow is not None, [d.format() for d in diagnostics]
    return RunSetup.make(workflow, str(project.workflow), plugins, now)


def store_url(project: Project) -> str:
    return f"sqlite:///{project.root / 'state.db'}"


def open_store(project: Project) -> Any:
    return Plugins(load_entry_points=False).open_store(store_url(project))
