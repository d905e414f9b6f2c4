"""Reading YAML and JSON documents safely, fast, and with positions when needed.

The happy path parses with libyaml's CSafeLoader (`yaml_loader.Loader`) and keeps no
marks. When something is wrong, `yaml_positions` composes the text once more and maps
JSON paths to line and column.
"""
from __future__ import annotations

import json
import os
import re
import stat
from typing import Any

import yaml

from .diagnostics import Diagnostic, FlowctlError
from .yaml11 import bad_strings
from .yaml_loader import BOOL, MAP, MERGE, SEQ, STR, DuplicateKeyError, Loader, key_type_error, keep_id_text
from .yaml_positions import Positions, key_on_line, yaml_duplicate_position
from .yamlguards import check_aliases, check_depth, line_col, top_key_before

MAX_FILE_BYTES = 5 * 1024 * 1024  # a deal is ~1 KB, a workflow a few; more is a mistake or an attack


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
        raise FlowctlError(Diagnostic(name, f"{key_on_line(text, long.start())}a number of {len(long.group())} digits "
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


def _parse(text: str, name: str, notes: list[Diagnostic] | None) -> Any:
    if is_json_file(name):
        try:
            return json.loads(text, object_pairs_hook=_no_duplicates)
        except _Duplicate as dup:
            position = yaml_duplicate_position(text)
            raise FlowctlError(Diagnostic(name, f"duplicate key {dup.key!r}", line=position[0], column=position[1]))
        except json.JSONDecodeError as exc:
            line, column = line_col(text, exc.pos)  # json's own lineno counts LFs alone
            raise FlowctlError(Diagnostic(name, f"invalid JSON: {exc.msg}", line=line, column=column))
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
        line, column = line_col(text, exc.position)
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
        if node.tag == STR:
            return node.value
        return loader.construct_object(node)  # numbers, booleans, null, explicit tags
    if cls is _MAPPING_NODE and node.tag == MAP:
        out: dict = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is not _SCALAR_NODE:
                raise _Unusual
            tag = key_node.tag
            if tag == STR or (tag == BOOL and not key_node.style):  # a plain `on:` key means "on"
                key = key_node.value
            elif tag == MERGE:
                raise _Unusual
            else:
                key = loader.construct_object(key_node)
                if not isinstance(key, str):
                    raise key_type_error(key_node, key)
            if key == "id":
                keep_id_text(key_node, value_node)
            if key in out:
                raise _Unusual  # the whole constructor says where, as a DuplicateKeyError
            out[key] = _build(loader, value_node)
        return out
    if cls is _SEQUENCE_NODE and node.tag == SEQ:
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
            if is_key and tag not in (STR, MERGE) and not (tag == BOOL and not current.style):
                raise key_type_error(current, loader.construct_object(current))
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


def load(path: str | os.PathLike) -> Any:
    """Read and parse one file (see `parse`)."""
    return parse(read_text(path), str(path))
