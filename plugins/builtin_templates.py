"""The built-in templates folder (proposals, reports, messages), registered like any plugin's."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from flowctl.hookspecs import hookimpl


@hookimpl
def flowctl_template_dirs() -> list[Path]:
    return [Path(str(resources.files("flowctl.templates")))]


@hookimpl
def flowctl_report_formats() -> dict[str, str]:
    return {".html": "report.html.j2", ".md": "report.md.j2", ".markdown": "report.md.j2"}
