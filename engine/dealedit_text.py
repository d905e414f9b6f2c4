"""What the YAML and JSON edits of flowctl.dealedit share: the safe loader, the errors
(the user-facing message names the file, and line:col where there is one) and small
text helpers (line ends, descriptions of values; positions are flowctl.yamlguards.line_col)."""
from __future__ import annotations

import math
from datetime import date
from typing import Any

import yaml


#: Safe loader only.  libyaml's marks index characters of a ``str`` input (checked),
#: except that it does not count a leading BOM: we strip the BOM before composing.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOM = "\ufeff"
_MAX_KEY_CHARS = 1000  # YAML implicit keys are limited to 1024 characters


class DealEditError(Exception):
    """Carries a user-facing message (it names the file, and line:col where there is one)."""


class AlreadyRecorded(DealEditError):
    """The key is already in the section; ``existing`` is its current (parsed) value."""

    def __init__(self, message: str, existing: Any) -> None:
        super().__init__(message)
        self.existing = existing


def _newline(text: str) -> str:
    """The file's line break: CRLF if it has any, else CR alone, else LF."""
    if "\r\n" in text:
        return "\r\n"
    if "\r" in text and "\n" not in text:
        return "\r"
    return "\n"


def _line_end(text: str, pos: int) -> int:
    """Index of the line break ending the line that contains ``pos`` (or len(text))."""
    ends = [i for i in (text.find("\r", pos), text.find("\n", pos)) if i >= 0]
    return min(ends) if ends else len(text)


def _break_at(text: str, pos: int, default: str) -> str:
    """The line break starting at ``pos`` (``default`` at end of text)."""
    if text.startswith("\r\n", pos):
        return "\r\n"
    if pos < len(text) and text[pos] in "\r\n":
        return text[pos]
    return default


def _describe(obj: Any) -> str:
    if isinstance(obj, list):
        return "a list"
    if obj is None:
        return "null"
    if isinstance(obj, str):
        return f"the text {obj!r}"
    return f"the value {obj!r}"


def _is_blank_value(obj: Any) -> bool:
    """A listed key whose value says "not recorded yet": null or false."""
    return obj is None or obj is False


def _matching_key(mapping: dict, key: str) -> Any:
    """The key of ``mapping`` that stands for ``key`` (``123`` stands for "123"), or a sentinel."""
    if key in mapping:
        return key
    for k in mapping:
        if not isinstance(k, bool) and isinstance(k, (int, float, date)) and str(k) == key:
            return k
    return _MISSING


_MISSING = object()


def _same(a: Any, b: Any) -> bool:
    """Deep equality that also compares types (1 != True != 1.0), key order, and NaN == NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            _same(ka, kb) and _same(va, vb) for (ka, va), (kb, vb) in zip(a.items(), b.items())
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b
