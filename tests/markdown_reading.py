"""Reading the Markdown that flowctl prints for job summaries back into tables, as a
reader's eye would split them."""
from __future__ import annotations

import re


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table, as rows of cells (header first, the alignment row left out)."""
    out = []
    for block in re.findall(r"((?:^\|.*\|\n?)+)", markdown, re.M):
        rows = [re.split(r"(?<!\\)\|", line.strip())[1:-1] for line in block.strip().splitlines()]
        out.append([[c.strip() for c in row] for i, row in enumerate(rows) if i != 1])
    return out


def section(markdown: str, title: str) -> str:
    """The text under `### title`, up to the next heading of that level."""
    return markdown.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0]
