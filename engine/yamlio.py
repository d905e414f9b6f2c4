"""Reading YAML and JSON documents safely, fast, and with positions when needed.

The happy path parses with libyaml's CSafeLoader and keeps no marks. When something is
wrong, `Positions` composes the text once more and maps JSON paths to line and column.
Dates stay ISO strings, so a YAML deal and a JSON deal mean the same thing.
"""
from __future__ import annotations

import json
import os
import re
import stat
import sys
import warnings
from typing import Any, Sequence

import yaml

from .diagnostics import Diagnostic, FlowctlError, PathItem

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
if not getattr(yaml, "__with_libyaml__", False):  # pragma: no cover - depends on the build
    warnings.warn(
        "PyYAML was built without libyaml: flowctl will parse about 7x slower. "
        "Install a PyYAML wheel with libyaml (pip install --force-reinstall PyYAML).",
        RuntimeWarning,
        stacklevel=2,
    )

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_BOOL = "tag:yaml.org,2002:bool"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
MAX_EXPANDED = 1_000_000  # values in a document with its aliases expanded
MAX_FILE_BYTES = 5 * 1024 * 1024  # a deal is ~1 KB, a workflow a few; more is a mistake or an attack
MAX_DEPTH = 200  # nesting of lists and mappings: libyaml recurses in C and would crash far deeper


class DuplicateKeyError(yaml.MarkedYAMLError):
    pass


class Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that refuses duplicate keys and keeps dates as ISO strings."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }

    if not _BaseLoader.yaml_path_resolvers and None not in yaml_implicit_resolvers:
        def resolve(self, kind: type, value: Any, implicit: Any) -> str:
            """BaseResolver.resolve without what safe loading never has (path and
            wildcard resolvers): libyaml calls it for every value of every file."""
            if kind is yaml.ScalarNode:
                if implicit[0]:
                    for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                        if regexp.match(value):
                            return tag
                return _STR
            return _MAP if kind is yaml.MappingNode else _SEQ

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep=deep)
        own = list(node.value)  # the keys written here, before `<<` merges add any
        merges = False
        for key_node, _ in own:
            tag = key_node.tag
            if tag == _BOOL and not key_node.style:
                key_node.tag = _STR  # YAML 1.1 reads a plain `on:` key as true; in a workflow it means "on"
            elif tag == _MERGE:
                merges = True
        mapping = super().construct_mapping(node, deep=deep)
        if merges or len(mapping) < len(own):
            self._refuse_duplicates(own)
        return mapping

    def _refuse_duplicates(self, pairs: list) -> None:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in pairs:
            if key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node, deep=True)
            first = seen.get(key)
            if first is not None:
                raise DuplicateKeyError(
                    None, None, f"duplicate key {key!r} (first defined on line {first.start_mark.line + 1})",
                    key_node.start_mark)
            seen[key] = key_node


def _construct_timestamp_as_str(loader: yaml.BaseLoader, node: yaml.Node) -> str:
    return loader.construct_scalar(node)


Loader.add_constructor(_TIMESTAMP, _construct_timestamp_as_str)


def read_text(path: str | os.PathLike, limit: int = MAX_FILE_BYTES) -> str:
    """The file's text; a missing, unreadable, special, oversized, binary or non-UTF-8
    file is a FlowctlError."""
    name = str(path)
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(st.st_mode):
            raise FlowctlError(Diagnostic(name, "not a regular file (a device, pipe or socket)"))
        if st.st_size > limit:
            raise FlowctlError(Diagnostic(name, f"too large for a deal or workflow file ({st.st_size:,} bytes; "
                                                f"the limit is {limit:,})"))
        with open(path, "rb") as f:
            data = f.read(st.st_size + 1)  # sized by the stat: a buffer of `limit` bytes each time costs
            if len(data) > st.st_size:  # it grew meanwhile
                data += f.read(limit + 1 - len(data))
        if len(data) > limit:
            raise FlowctlError(Diagnostic(name, f"too large (over {limit:,} bytes)"))
    except IsADirectoryError:
        raise FlowctlError(Diagnostic(name, "is a folder, not a file"))
    except FileNotFoundError:
        raise FlowctlError(Diagnostic(name, "no such file"))
    except OSError as exc:
        raise FlowctlError(Diagnostic(name, f"cannot read: {exc.strerror or exc}"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FlowctlError(Diagnostic(
            name, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            line=line, column=column))
    if "\x00" in text:
        raise FlowctlError(Diagnostic(name, "binary file (it contains NUL bytes), not YAML or JSON"))
    return text


def is_json_file(name: str) -> bool:
    return name.lower().endswith(".json")


def parse(text: str, name: str) -> Any:
    """Parse one YAML or JSON document; syntax errors become a positioned FlowctlError."""
    _check_depth(text, name)
    try:
        return _parse(text, name)
    except ValueError as exc:  # an integer of more than 4,300 digits
        long = re.search(r"\d{4000,}", text)
        if long is None:
            raise FlowctlError(Diagnostic(name, f"a value cannot be read: {exc}"))
        line, column = _line_col(text, long.start())
        raise FlowctlError(Diagnostic(name, f"{_key_on_line(text, long.start())}a number of {len(long.group())} digits "
                                            f"is too long to read{_top_key_before(text, long.start())}",
                                      line=line, column=column))


def _line_col(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def _key_on_line(text: str, offset: int) -> str:
    """`amount: ` when the line at offset starts with a key (for messages), else ''."""
    start = text.rfind("\n", 0, offset) + 1
    match = re.search(r"[\"']?([\w$-]+)[\"']?\s*:\s*$", text[start:offset])
    return f"{match.group(1)}: " if match else ""


def _top_key_before(text: str, offset: int) -> str:
    """The top-level key under which offset lies, for messages."""
    for match in reversed(list(re.finditer(r"^([\w$-]+)\s*:", text[:offset], re.M))):
        return f" under '{match.group(1)}'"
    return ""


def _check_depth(text: str, name: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH before a parser recurses into it. Counting
    brackets (str.count, in C) is the cheap first look; indentation the second."""
    if text.count("[") + text.count("{") > MAX_DEPTH:
        depth = 0
        for i, ch in enumerate(text):
            if ch in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    line, column = _line_col(text, i)
                    raise FlowctlError(Diagnostic(name, f"nesting too deep (more than {MAX_DEPTH} levels)"
                                                  f"{_top_key_before(text, i)}", line=line, column=column))
            elif ch in "]}" and depth:
                depth -= 1
    if len(text) > MAX_DEPTH * 2 * 20:  # block nesting needs long lines of indentation
        offset = 0
        for number, line in enumerate(text.split("\n"), 1):
            indent = len(line) - len(line.lstrip(" -"))
            if indent > MAX_DEPTH * 2:
                raise FlowctlError(Diagnostic(name, f"nesting too deep (indented {indent} columns)"
                                                    f"{_top_key_before(text, offset)}", line=number, column=1))
            offset += len(line) + 1


def _parse(text: str, name: str) -> Any:
    if is_json_file(name):
        try:
            return json.loads(text, object_pairs_hook=_no_duplicates)
        except _Duplicate as dup:
            position = _yaml_duplicate_position(text)
            raise FlowctlError(Diagnostic(name, f"duplicate key {dup.key!r}", line=position[0], column=position[1]))
        except json.JSONDecodeError as exc:
            raise FlowctlError(Diagnostic(name, f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno))
        except RecursionError:
            raise FlowctlError(Diagnostic(name, "nesting too deep"))
    loader = Loader(text)
    try:
        if not loader.check_node():
            return None
        node = loader.get_node()
        if loader.check_node():
            extra = loader.get_node()
            raise FlowctlError(Diagnostic(
                name, "more than one YAML document in the file (one deal or workflow per file, or a list under `deals:`)",
                line=extra.start_mark.line + 1, column=extra.start_mark.column + 1))
        if "*" in text:  # aliases are rare in deal files: walk only when one may be there
            _check_aliases(node, name)
        else:
            try:
                return _build(loader, node)
            except _Unusual:
                pass
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or str(exc)
        if exc.context and not isinstance(exc, DuplicateKeyError):
            message = f"{message} ({exc.context})"
        raise FlowctlError(Diagnostic(
            name, f"YAML syntax error: {message}" if not isinstance(exc, DuplicateKeyError) else message,
            line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None))
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: its position is an offset
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        char = chr(exc.character) if isinstance(exc.character, int) else exc.character
        raise FlowctlError(Diagnostic(name, f"YAML syntax error: unacceptable character {char!r} (U+{ord(char[:1] or ' '):04X})",
                                      line=line, column=column))
    except yaml.YAMLError as exc:
        raise FlowctlError(Diagnostic(name, f"YAML error: {exc}"))
    except RecursionError:
        raise FlowctlError(Diagnostic(name, "nesting too deep"))
    finally:
        loader.dispose()


class _Unusual(Exception):
    """The document needs PyYAML's whole constructor: a merge key, a repeated or
    unhashable key, a tagged collection."""


_SCALAR_NODE, _MAPPING_NODE, _SEQUENCE_NODE = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode


def _build(loader: Loader, node: yaml.Node) -> Any:
    """What `loader.construct_document(node)` returns, for a document without aliases
    (each node then holds one value): plain strings, nearly every value in a deal, are
    taken straight from their nodes instead of through PyYAML's per-node dispatch."""
    cls = node.__class__
    if cls is _SCALAR_NODE:
        if node.tag == _STR:
            return node.value
        return loader.construct_object(node)  # numbers, booleans, null, explicit tags
    if cls is _MAPPING_NODE and node.tag == _MAP:
        out: dict = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is not _SCALAR_NODE:
                raise _Unusual
            tag = key_node.tag
            if tag == _STR or (tag == _BOOL and not key_node.style):  # a plain `on:` key means "on"
                key = key_node.value
            elif tag == _MERGE:
                raise _Unusual
            else:
                key = loader.construct_object(key_node)
            if key in out:
                raise _Unusual  # the whole constructor says where, as a DuplicateKeyError
            out[key] = _build(loader, value_node)
        return out
    if cls is _SEQUENCE_NODE and node.tag == _SEQ:
        return [_build(loader, child) for child in node.value]
    raise _Unusual


class _Duplicate(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return out


def _yaml_duplicate_position(text: str) -> tuple[int | None, int | None]:
    """Where a JSON document repeats a key: JSON is YAML, and our loader says where."""
    try:
        yaml.load(text, Loader=Loader)
    except DuplicateKeyError as exc:
        return exc.problem_mark.line + 1, exc.problem_mark.column + 1
    except yaml.YAMLError:
        pass
    return None, None


def _check_aliases(node: yaml.Node, name: str) -> None:
    """Refuse documents whose aliases would expand without bound ("billion laughs"):
    what matters is the size of the document once every alias is expanded."""
    # The composer shares aliased nodes; the expanded size of each node is counted once
    # (memoised), so the check is linear in the document as written.
    sizes: dict[int, int] = {}
    order: list[yaml.Node] = []
    stack = [node]
    while stack:  # post-order without recursion: nesting may be deep
        current = stack.pop()
        if id(current) in sizes:
            continue
        sizes[id(current)] = -1
        order.append(current)
        if isinstance(current, yaml.MappingNode):
            stack.extend(n for pair in current.value for n in pair)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    for current in reversed(order):
        if isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        elif isinstance(current, yaml.SequenceNode):
            children = current.value
        else:
            children = []
        total = 1 + sum(max(sizes[id(c)], 1) for c in children)
        if total > MAX_EXPANDED:
            raise FlowctlError(Diagnostic(
                name, f"too many YAML alias expansions: the document would grow past {MAX_EXPANDED:,} values",
                line=current.start_mark.line + 1, column=current.start_mark.column + 1))
        sizes[id(current)] = total


def load(path: str | os.PathLike) -> Any:
    """Read and parse one file (see `parse`)."""
    return parse(read_text(path), str(path))


class Positions:
    """Maps JSON paths in a document to 1-based (line, column); composed on first use."""

    def __init__(self, text: str):
        self._text = text
        self._root: yaml.Node | None = None
        self._failed = False

    def _compose(self) -> yaml.Node | None:
        if self._root is None and not self._failed:
            try:
                self._root = yaml.compose(self._text, Loader=Loader)
            except yaml.YAMLError:
                self._failed = True
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
                for k, v in node.value:
                    if k.value == str(item) or k.value == item:
                        key_node, child = k, v
                        break
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


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
