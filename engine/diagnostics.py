"""Diagnostics: every problem flowctl finds in a user's file, with where it is.

A diagnostic names a file and a JSON path into the document; the line and column are
looked up from the path only when the diagnostic is shown, so the happy path never pays
for positions.
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Iterable, Sequence

from .terminal import escape_controls

PathItem = str | int


def format_path(path: Sequence[PathItem]) -> str:
    """`('stages', 2, 'jobs', 0, 'due')` -> `$.stages[2].jobs[0].due`."""
    out = "$"
    for item in path:
        if isinstance(item, int):
            out += f"[{item}]"
        elif item.replace("_", "").replace("-", "").isalnum():
            out += f".{item}"
        else:
            out += "[" + repr(item) + "]"
    return out


@dataclasses.dataclass
class Diagnostic:
    file: str
    message: str
    path: tuple[PathItem, ...] = ()
    severity: str = "error"  # error | warning
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    kind: str = ""  # for a deal's problems: its row in severity.TABLE

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "message": self.message,
            "path": format_path(self.path),
        }

    def format(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        text = f"{where}: {self.severity}: {self.message}"
        if self.path:
            text += f" [{format_path(self.path)}]"
        return escape_controls(text)  # messages quote deal values; they are printed

    def sort_key(self) -> tuple:
        return (self.file, self.line or 0, self.column or 0, self.message)


class FlowctlError(Exception):
    """Invalid input: reported to the user as diagnostics, exit code 2."""

    def __init__(self, diagnostics: Diagnostic | Iterable[Diagnostic]):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a choice is close to word, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)
