"""Text bound for a terminal: deal values never carry control sequences.

A deal name such as "\\x1b]0;pwned\\x07" or "\\x1b[2J" would retitle or clear the terminal
of whoever runs `flowctl status`; bidirectional overrides (U+202E) would show text other
than what the file says. Such characters are shown escaped (`\\x1b`, `\\u202e`).
Newlines and tabs are kept: they are the layout of the output itself.
"""
from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with every control or direction-override character written as an escape."""
    return _CONTROL.sub(_escaped, text) if _CONTROL.search(text) else text
