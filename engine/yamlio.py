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
from .yaml11 import bad_strings, surprise
from .yamlguards import MAX_DEPTH, MAX_EXPANDED, check_aliases, check_depth, line_col, top_key_before

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
_NULL = "tag:yaml.org,2002:null"
MAX_FILE_BYTES = 5 * 1024 * 1024  # a deal is ~1 KB, a workflow a few; more is a mistake or an attack


class DuplicateKeyError(yaml.MarkedYAMLError):
    pass


class KeyTypeError(DuplicateKeyError):
    """A key that YAML reads as null, a boolean, a number or a date: every key flowctl
    knows is text, and code that meets such a key (sorting, messages) would fail."""


def _key_type_error(key_node: yaml.Node, key: Any) -> KeyTypeError:
    what = "null" if key is None else type(key).__name__.replace("bool", "a boolean").replace("int", "a number").replace("float", "a number")
    return KeyTypeError(None, None, f"a key must be text: `{key_node.value}` is read as {what}; quote it", key_node.start_mark)


def _keep_id_text(key_node: yaml.Node, value_node: yaml.Node) -> None:
    """`id: 010` is the id "010" (SPEC section 1), whatever YAML 1.1 makes of it."""
    if (key_node.value == "id" and value_node.__class__ is yaml.ScalarNode and not value_node.style
            and value_node.tag not in (_STR, _NULL) and value_node.tag.startswith("tag:yaml.org,2002:")
            and value_node.value):
        value_node.tag = _STR


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

    def __init__(self, stream: Any):
        super().__init__(stream)
        self.surprises: list[tuple[int, int, str]] = []  # (line, column, why), 1-based

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep=deep)
        own = list(node.value)  # the keys written here, before `<<` merges add any
        merges = False
        for key_node, value_node in own:
            tag = key_node.tag
            if tag == _BOOL and not key_node.style:
                key_node.tag = _STR  # YAML 1.1 reads a plain `on:` key as true; in a workflow it means "on"
            elif tag == _MERGE:
                merges = True
            elif key_node.__class__ is yaml.ScalarNode and tag != _STR:
                raise _key_type_error(key_node, self.construct_object(key_node))
            _keep_id_text(key_node, value_node)
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


def _construct_timestamp_as_str(loader: yaml.BaseLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


Loader.add_constructor(_TIMESTAMP, _construct_timestamp_as_str)


def _noting_surprises(tag: str) -> None:
    """Wrap the constructor of `tag` so that YAML 1.1-only forms are noted as warnings."""
    base = _BaseLoader.yaml_constructors[tag]

    def construct(loader: Loader, node: yaml.ScalarNode) -> Any:
        value = base(loader, node)
        if not node.style:
            why = surprise(node.value, value)
            if why:
                loader.surprises.append((node.start_mark.line + 1, node.start_mark.column + 1, why))
        return value

    Loader.add_constructor(tag, construct)


for _tag in (_BOOL, "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
    _noting_surprises(_tag)


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


def parse(text: str, name: str, notes: list[Diagnostic] | None = None) -> Any:
    """Parse one YAML or JSON document; syntax errors, non-text keys and text that cannot
    be stored become a positioned FlowctlError. Warnings about values whose meaning
    depends on YAML 1.1 are appended to `notes` when it is given."""
    check_depth(text, name)
    try:
        doc = _parse(text, name, notes)
    except ValueError as exc:  # an integer of more than 4,300 digits
        long = re.search(r"\d{4000,}", text)
        if long is None:
            raise FlowctlError(Diagnostic(name, f"a value cannot be read: {exc}"))
        line, column = line_col(text, long.start())
        raise FlowctlError(Diagnostic(name, f"{_key_on_line(text, long.start())}a number of {len(long.group())} digits "
                                            f"is too long to read{top_key_before(text, long.start())}",
                                      line=line, column=column))
    if "\\" in text:  # NUL and surrogates only come from escapes
        for path, at_key, why in bad_strings(doc):
            where: tuple[int, int] | tuple[None, None] = Positions(text).locate(path, key=at_key)
            escape = re.search(r"\\(u[dD][89a-fA-F]|u0000|0|x00)", text)
            if where[0] is None and escape:  # JSON with a lone surrogate is not YAML: the escape says where
                where = line_col(text, escape.start())
            raise FlowctlError(Diagnostic(name, f"{'a key' if at_key else 'a text value'} {why}", path,
                                          line=where[0], column=where[1]))
    return doc


def _key_on_line(text: str, offset: int) -> str:
    """`amount: ` when the line at offset starts with a key (for messages), else ''."""
    start = text.rfind("\n", 0, offset) + 1
    match = re.search(r"[\"']?([\w$-]+)[\"']?\s*:\s*$", text[start:offset])
    return f"{match.group(1)}: " if match else ""


def _parse(text: str, name: str, notes: list[Diagnostic] | None) -> Any:
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
            check_aliases(node, name)
        else:
            try:
                return _build(loader, node)
            except _Unusual:
                loader.surprises.clear()  # construct_document notes them again
        _refuse_odd_keys(loader, node)  # in document order, as _build does: the constructor goes its own way
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
        if notes is not None:
            notes.extend(Diagnostic(name, why, severity="warning", line=line, column=column)
                         for line, column, why in loader.surprises)
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
                if not isinstance(key, str):
                    raise _key_type_error(key_node, key)
            if key == "id":
                _keep_id_text(key_node, value_node)
            if key in out:
                raise _Unusual  # the whole constructor says where, as a DuplicateKeyError
            out[key] = _build(loader, value_node)
        return out
    if cls is _SEQUENCE_NODE and node.tag == _SEQ:
        return [_build(loader, child) for child in node.value]
    raise _Unusual


def _refuse_odd_keys(loader: Loader, node: yaml.Node) -> None:
    """The first key (in document order) that is not text, as a KeyTypeError."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]  # (node, is a key)
    while stack:
        current, is_key = stack.pop()
        if current.__class__ is _SCALAR_NODE:
            tag = current.tag
            if is_key and tag not in (_STR, _MERGE) and not (tag == _BOOL and not current.style):
                raise _key_type_error(current, loader.construct_object(current))
            continue
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.__class__ is _MAPPING_NODE:
            stack.extend(item for key_node, value_node in reversed(current.value)
                         for item in ((value_node, False), (key_node, True)))
        else:
            stack.extend((child, False) for child in reversed(current.value))


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
        mark = exc.problem_mark
        assert mark is not None  # the constructor raises it with the repeated key's mark
        return mark.line + 1, mark.column + 1
    except yaml.YAMLError:
        pass
    return None, None


def load(path: str | os.PathLike) -> Any:
    """Read and parse one file (see `parse`)."""
    return parse(read_text(path), str(path))


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


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
