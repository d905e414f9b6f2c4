"""Guards run before a YAML document is constructed: nesting depth and alias expansion."""
from __future__ import annotations

import re

import yaml

from .diagnostics import Diagnostic, FlowctlError

MAX_EXPANDED = 1_000_000  # values in a document with its aliases expanded
MAX_DEPTH = 200  # nesting of lists and mappings: libyaml recurses in C and would crash far deeper


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset``; CRLF, CR and LF each end a line, as in the
    YAML parser's marks and in editors (a CR-only file is not one long line)."""
    line = text.count("\n", 0, offset) + text.count("\r", 0, offset) - text.count("\r\n", 0, offset) + 1
    return line, offset - max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset))


def top_key_before(text: str, offset: int) -> str:
    """The top-level key under which offset lies, for messages."""
    for match in reversed(list(re.finditer(r"^([\w$-]+)\s*:", text[:offset], re.M))):
        return f" under '{match.group(1)}'"
    return ""


def check_depth(text: str, name: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH (lists and mappings, the top one included)
    before a parser recurses into it. The cheap look (str.count, in C) clears nearly every
    file; a file it cannot clear is walked as libyaml's events, which need no recursion
    and see what the text means: brackets inside quotes, comments or block text, or
    a deep indentation of plain text, are no nesting."""
    if not _may_be_too_deep(text):
        return
    depth = 0
    try:
        for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    offset = event.start_mark.index if event.start_mark else 0
                    line, column = line_col(text, offset)
                    raise FlowctlError(Diagnostic(name, f"nesting too deep (more than {MAX_DEPTH} levels)"
                                                  f"{top_key_before(text, offset)}", line=line, column=column))
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return  # no deeper than where it stops: the parser reports the mistake itself


def _may_be_too_deep(text: str) -> bool:
    """Whether the text could nest deeper than MAX_DEPTH: each bracket opens at most one
    level, and block nesting at most one per column of indentation (spaces and dashes)."""
    brackets = text.count("[") + text.count("{")
    if brackets >= MAX_DEPTH:
        return True
    return re.search("^[ -]{%d}" % (MAX_DEPTH - brackets), text, re.M) is not None


def check_aliases(node: yaml.Node, name: str) -> None:
    """Refuse documents whose aliases would expand without bound ("billion laughs") or
    refer to a collection that contains them (`a: &a [*a]`, which no code can walk):
    what matters is the size of the document once every alias is expanded."""
    # Depth-first, without recursion (nesting may be deep); the expanded size of each
    # node is counted once (memoised), so the check is linear in the document as written.
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        key = id(current)
        if isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        elif isinstance(current, yaml.SequenceNode):
            children = current.value
        else:
            sizes[key] = 1
            continue
        if done:
            open_nodes.discard(key)
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > MAX_EXPANDED:
                raise FlowctlError(Diagnostic(
                    name, f"too many YAML alias expansions: the document would grow past {MAX_EXPANDED:,} values",
                    line=current.start_mark.line + 1, column=current.start_mark.column + 1))
            sizes[key] = total
            continue
        if key in sizes:
            continue
        open_nodes.add(key)
        stack.append((current, True))
        for child in children:
            if id(child) in open_nodes:
                raise FlowctlError(Diagnostic(
                    name, "an alias refers to a collection that contains it (an alias cycle)",
                    line=current.start_mark.line + 1, column=current.start_mark.column + 1))
            if id(child) not in sizes:
                stack.append((child, False))
