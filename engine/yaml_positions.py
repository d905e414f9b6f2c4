"""Where things are in a YAML or JSON document, found only when something is wrong:
the happy path keeps no marks, `Positions` composes the text once more and maps JSON
paths to line and column."""
from __future__ import annotations

import re
from typing import Sequence

import yaml

from .diagnostics import Diagnostic, PathItem
from .yaml_loader import DuplicateKeyError, Loader


def key_on_line(text: str, offset: int) -> str:
    """`amount: ` when the line at offset starts with a key (for messages), else ''."""
    start = text.rfind("\n", 0, offset) + 1
    match = re.search(r"[\"']?([\w$-]+)[\"']?\s*:\s*$", text[start:offset])
    return f"{match.group(1)}: " if match else ""


def yaml_duplicate_position(text: str) -> tuple[int | None, int | None]:
    """Where a JSON document repeats a key: JSON is YAML, and our loader says where."""
    try:
        yaml.load(text, Loader=Loader)
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        assert mark is not None  # the constructor raises it with the repeated key's mark
        return mark.line + 1, mark.column + 1
    except yaml.YAMLError:
        pass
    return None, None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class Positions:
    """Maps JSON paths in a document to 1-based (line, column); composed on first use."""

    def __init__(self, text: str):
        self._text = text
        self._root: yaml.Node | None = None
        self._failed = False
        self._index: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def _keys(self, node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The mapping's pairs by key text (first one wins), built once: locating every key
        of a mapping with 20,000 keys must not read the mapping 20,000 times."""
        index = self._index.get(id(node))
        if index is None:
            index = self._index[id(node)] = {}
            for k, v in node.value:
                index.setdefault(str(k.value), (k, v))
        return index

    def _compose(self) -> yaml.Node | None:
        if self._root is None and not self._failed:
            try:
                self._root = yaml.compose(self._text, Loader=Loader)
            except yaml.YAMLError:
                # JSON's surrogate escapes (`\ud83d\ude00`, a lone `\ud800`) are no YAML: the
                # same number of characters of another escape keeps every position.
                text = _SURROGATE_ESCAPE.sub(r"\\u0041", self._text)
                try:
                    self._root = yaml.compose(text, Loader=Loader) if text != self._text else None
                except yaml.YAMLError:
                    pass
                self._failed = self._root is None
        return self._root

    def locate(self, path: Sequence[PathItem], key: bool = False) -> tuple[int, int] | tuple[None, None]:
        """Position of the value at `path` (or of its key, with key=True); the deepest
        node that exists when the path goes further than the document."""
        node = self._compose()
        if node is None:
            return (None, None)
        key_node = None
        for item in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                pair = self._keys(node).get(str(item))
                if pair is not None:
                    key_node, child = pair
            elif isinstance(node, yaml.SequenceNode) and isinstance(item, int) and 0 <= item < len(node.value):
                key_node, child = None, node.value[item]
            if child is None:
                break
            node = child
        else:
            if key and key_node is not None:
                node = key_node
        mark = node.start_mark
        return (mark.line + 1, mark.column + 1)


def locate_all(diagnostics: list[Diagnostic], texts: dict[str, str]) -> None:
    """Fill in line and column of diagnostics that have a path but no position."""
    cache: dict[str, Positions] = {}
    for d in diagnostics:
        if d.line is not None or d.file not in texts:
            continue
        pos = cache.get(d.file)
        if pos is None:
            pos = cache[d.file] = Positions(texts[d.file])
        d.line, d.column = pos.locate(d.path, key=getattr(d, "at_key", False))

