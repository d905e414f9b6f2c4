"""Text for GitHub-flavoured Markdown: values escaped so that they stay text (no HTML,
no link, no broken table, no control sequence), and tables."""
from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

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
