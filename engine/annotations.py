"""Diagnostics as GitHub Actions workflow commands (`validate --format github`):

    ::error file=deals/a.yaml,line=3,col=5::unknown job 'x' [$.jobs.x]

GitHub shows each on the changed line of a pull request. The escaping is the one of
GitHub's own toolkit (@actions/core): in the message `%`, CR and LF become `%25`,
`%0D`, `%0A`; in a property (the file name) `:` and `,` also become `%3A`, `%2C`.
So a message is always one line, and nothing in it can start another command.
"""
from __future__ import annotations

import os
import re
from typing import Iterable

from .diagnostics import Diagnostic, format_path

_DATA = {"%": "%25", "\r": "%0D", "\n": "%0A"}
_PROPERTY = {**_DATA, ":": "%3A", ",": "%2C"}
# Other control characters (ESC, BEL, C1 …) would reach a terminal reading the log:
# shown as \xNN instead.
_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _visible(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def escape_data(text: str) -> str:
    return "".join(_DATA.get(c, c) for c in _visible(text))


def escape_property(text: str) -> str:
    return "".join(_PROPERTY.get(c, c) for c in _visible(text))


def workspace_path(file: str, workspace: str | None = None) -> str:
    """A file as GitHub names it: relative to the checkout ($GITHUB_WORKSPACE) when it
    lies inside it, else as given."""
    workspace = workspace if workspace is not None else os.environ.get("GITHUB_WORKSPACE")
    if workspace and os.path.isabs(file):
        relative = os.path.relpath(file, workspace)
        if not relative.startswith(".."):
            return relative
    return file


def annotation(d: Diagnostic) -> str:
    """One `::error …::message` (or `::warning`) line."""
    properties = []
    if d.file and d.file != "-":
        properties.append(f"file={escape_property(workspace_path(d.file))}")
        if d.line is not None:
            properties.append(f"line={d.line}")
            properties.append(f"col={d.column or 1}")
    level = "error" if d.severity == "error" else "warning"
    message = d.message + (f" [{format_path(d.path)}]" if d.path else "")
    return f"::{level} {','.join(properties)}::{escape_data(message)}" if properties else f"::{level}::{escape_data(message)}"


def github_annotations(diagnostics: Iterable[Diagnostic]) -> list[str]:
    return [annotation(d) for d in diagnostics]
