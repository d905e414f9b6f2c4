"""What the tests of flowctl.workflow, workflow_read and workflow_checks share: workflow
files written into a folder, and what loading one reports, as `flowctl validate` prints it."""
from __future__ import annotations

from pathlib import Path

from flowctl.plugin_manager import Plugins
from flowctl.workflow import load_workflow

HERE = Path(__file__).parent
VALID = HERE / "data" / "valid"
INVALID = HERE / "data" / "invalid"
PLUGINS = Plugins(())  # the built-in plugins: their actions, channel types, metric kinds, templates
TERMINAL = "  - id: won\n    terminal: true\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def problems(path: str | Path, registry: Plugins | None = PLUGINS) -> list[str]:
    """Every diagnostic of loading the workflow at `path`, formatted."""
    return [d.format() for d in load_workflow(str(path), registry)[1]]
