"""Values whose meaning depends on YAML 1.1 resolution, and text that cannot be stored.

PyYAML follows YAML 1.1, where `1:30:00` is the number 5400, `010` is 8, `1_000` is
1000 and `yes`/`off` are booleans. A reader of the file (and YAML 1.2 tools) sees
something else, so flowctl warns where a plain value took one of those forms. `id:`
values are kept as the text written (SPEC section 1) and are never surprising.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from .diagnostics import Diagnostic, PathItem

# Forms YAML 1.2's core schema reads differently (as text, or as another number).
_SEXAGESIMAL = re.compile(r"^[-+]?\d[\d_]*(:[0-5]?\d)+(\.\d*)?$")
_OCTAL_11 = re.compile(r"^[-+]?0[0-7_]+$")
_BINARY = re.compile(r"^[-+]?0b[01_]+$")
_UNDERSCORE = re.compile(r"^[-+]?[\d.]*_[\d_.]*(e[-+]?\d+)?$", re.I)
_BOOL_11 = {"yes", "no", "on", "off", "y", "n"}


def surprise(text: str, value: Any) -> str | None:
    """Why the plain scalar `text`, read by YAML 1.1 as `value`, may not mean what it
    seems; None when YAML 1.1 and 1.2 agree."""
    if isinstance(value, bool):
        if text.lower() in _BOOL_11:
            return f"`{text}` is read as {'true' if value else 'false'} (a YAML 1.1 boolean); quote it if you mean the text"
        return None
    if _SEXAGESIMAL.match(text):
        return f"`{text}` is read as the number {value} (YAML 1.1 base 60); quote it if you mean the text"
    if _OCTAL_11.match(text) and text.lstrip("+-") != "0":
        return f"`{text}` is read as the number {value} (YAML 1.1 octal); write {value} or quote it"
    if _BINARY.match(text):
        return f"`{text}` is read as the number {value} (YAML 1.1 binary); write {value} or quote it"
    if "_" in text and _UNDERSCORE.match(text):
        return f"`{text}` is read as the number {value} (YAML 1.1 digit separators); write {value} or quote it"
    return None


def bad_text(value: str) -> str | None:
    """Why a string cannot be stored or shown: NUL, or a lone surrogate (JSON `\\ud800`)."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which cannot be stored"
    for ch in value:
        if "\ud800" <= ch <= "\udfff":
            return f"contains a lone surrogate (\\u{ord(ch):04x}), which is not a character"
    return None


def bad_strings(doc: Any) -> Iterator[tuple[tuple[PathItem, ...], bool, str]]:
    """(path, at_key, why) of every key or string in a parsed document that `bad_text`
    refuses. Iterative (nesting may be deep); shared (aliased) values are walked once."""
    seen: set[int] = set()
    stack: list[tuple[Any, tuple[PathItem, ...]]] = [(doc, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            why = bad_text(value)
            if why:
                yield path, False, why
        elif isinstance(value, (dict, list)):
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, dict):
                for key, item in value.items():
                    why = bad_text(key) if isinstance(key, str) else None
                    if why:
                        yield path + (key,), True, why
                    stack.append((item, path + (key,)))
            else:
                stack.extend((item, path + (i,)) for i, item in enumerate(value))


def notes_for(notes: list[Diagnostic], starts: list[int]) -> list[list[Diagnostic]]:
    """Warnings split by the deal they fall in, given the first line of each deal."""
    out: list[list[Diagnostic]] = [[] for _ in starts]
    for note in notes:
        index = 0
        for i, start in enumerate(starts):
            if note.line is not None and note.line >= start:
                index = i
        out[index].append(note)
    return out
