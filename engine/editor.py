"""Editor support in a project: the `# yaml-language-server: $schema=…` line at the top of
its YAML files, and VS Code's `yaml.schemas` in `.vscode/settings.json`. Both point at
draft-07 schemas in the project's `schemas/` folder (`flowctl schema … --draft 7`),
which the YAML language server reads fully.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

MODELINE = "# yaml-language-server: $schema="
SCHEMA_DIR = "schemas"
WORKFLOW_SCHEMA = f"{SCHEMA_DIR}/workflow.schema.json"
DEAL_SCHEMA = f"{SCHEMA_DIR}/deal.schema.json"
# What the YAML language server applies each schema to, relative to the project folder.
GLOBS = {WORKFLOW_SCHEMA: ["workflow.yaml"], DEAL_SCHEMA: ["deals/**/*.yaml", "deals-to-fix/**/*.yaml"]}


def with_modeline(text: str, file: Path, schema: Path) -> str:
    """The YAML text with a first line naming its schema, relative to the file (the
    language server resolves it from the file's folder). An existing one is replaced."""
    reference = Path(os.path.relpath(schema, file.parent)).as_posix()
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith(MODELINE):
        lines = lines[1:]
    return f"{MODELINE}{reference}\n" + "".join(lines)


def vscode_settings(existing: str | None) -> str | None:
    """`.vscode/settings.json` with `yaml.schemas` set, other settings kept; None when
    the existing file is not plain JSON (VS Code allows comments: left as it is)."""
    try:
        settings = json.loads(existing) if existing and existing.strip() else {}
    except ValueError:
        return None
    if not isinstance(settings, dict):
        return None
    schemas = settings.get("yaml.schemas")
    settings["yaml.schemas"] = {**(schemas if isinstance(schemas, dict) else {}),
                                **{f"./{path}": globs for path, globs in GLOBS.items()}}
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"
