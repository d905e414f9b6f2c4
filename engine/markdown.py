"""Text for GitHub-flavoured Markdown: values escaped so that they stay text (no HTML,
no link, no broken table, no control sequence), and tables."""
from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

MAX_ROWS = 200  # rows per table; the rest are counted (a step summary is limited to 1 MiB)

_SPECIAL = re.compile(r"([\\`|\[\]])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escape(value: Any) -> str:
    """Text safe in Markdown and in a table cell: lines joined, `<` and `>` as entities
    (no raw HTML reaches a renderer), control characters dropped, backslashes, backticks,
    pipes and brackets escaped (no code span, broken table or link). Other characters
    stay as they are: a value reads as written."""
    if value is None:
        return ""
    text = _CONTROL.sub(" ", str(value))
    text = " ".join(text.split())
    return _SPECIAL.sub(r"\\\1", text).replace("<", "&lt;").replace(">", "&gt;")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """A table; cells are taken as Markdown already (escape values first); the columns
    in `right` are aligned right (numbers)."""
    align = ["--:" if i in right else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def money(value: float, currency: str) -> str:
    return f"{value:,.0f} {currency}"


def change(before: float | None, after: float, currency: str | None = None) -> str:
    """The signed difference, "±0" for none, "" when there is nothing to compare with."""
    if before is None:
        return ""
    delta = after - before
    if abs(delta) < 0.005:
        return "±0"
    text = f"{abs(delta):,.0f}" + (f" {currency}" if currency else "")
    return ("+" if delta > 0 else "−") + text


def capped(rows: Sequence[Any], what: str) -> tuple[list, str]:
    """At most MAX_ROWS rows, and a line counting the rest."""
    if len(rows) <= MAX_ROWS:
        return list(rows), ""
    return list(rows[:MAX_ROWS]), f"\n\n… and {len(rows) - MAX_ROWS:,} more {what}."
