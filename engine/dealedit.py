"""Record work in a deal file without disturbing anything else in it.

`flowctl done DEAL JOB` and `flowctl approve DEAL GATE --role R` add one key to a
deal's ``jobs:`` or ``approvals:`` mapping.  Deal files are the people's record, so the
edit is *surgical*: the new text is the old text with a few characters inserted (or,
for ``jobs: null`` / ``job: null``, one null token replaced).  Comments, key order,
quoting, blank lines, indentation, CRLF line endings, a missing final newline and a
UTF-8 BOM all survive byte for byte.

How it works:

* positions come from ``yaml.compose`` (libyaml's ``CSafeLoader`` when available; its
  marks count characters of the ``str`` input, like the pure-Python loader's, except
  for a leading BOM, which is set aside first), and the true end of a block collection
  from the parser's events inside it (block end marks lie past trailing comments, and
  composed aliases carry the anchor's marks); ``.json`` files use a small
  span-recording JSON scanner;
* the new key/value text is produced by the YAML emitter (``SafeDumper``) or
  ``json.dumps``, never by pasting raw user text;
* a safety net parses the old and the new text with the safe loader and checks that
  the new document is exactly the old one plus the added key, else nothing is written;
* files are written atomically (temporary file in the same directory, flush + fsync,
  ``os.replace``, permission bits kept), and only if the file did not change on disk
  since it was read.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .atomic import write_atomic

__all__ = [
    "DealEditError",
    "AlreadyRecorded",
    "record_job_done",
    "record_approval",
    "edit_text",
]

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


# ---------------------------------------------------------------------------------
# public API


def record_job_done(
    path: Path,
    deal_id: str,
    job_id: str,
    *,
    at: date,
    by: str | None = None,
    note: str | None = None,
) -> bool:
    """Record job ``job_id`` of deal ``deal_id`` as done in the deal file ``path``.

    Adds ``job_id: 2026-11-23`` under the deal's ``jobs:`` mapping when only ``at`` is
    given, else ``job_id: {at: 2026-11-23, by: alice, note: ...}`` (JSON files get the
    equivalent member).  A job listed with a null or ``false`` value gets that value
    replaced.  Returns ``False`` and changes nothing when the job is already recorded;
    ``True`` when the file was written.  Raises :class:`DealEditError` for anything the
    user must fix (unknown deal, unparsable file, ``jobs`` not a mapping, ...).
    """
    _check_date(at, "at")
    value: Any
    if by is None and note is None:
        value = at
    else:
        value = {"at": at}
        if by is not None:
            value["by"] = _check_str(by, "by")
        if note is not None:
            if not isinstance(note, str):
                raise DealEditError(f"note must be a string, got {note!r}")
            value["note"] = note
    try:
        _record(Path(path), deal_id, "jobs", job_id, value)
    except AlreadyRecorded:
        return False
    return True


def record_approval(
    path: Path, deal_id: str, gate_id: str, *, role: str, by: str, at: date
) -> bool:
    """Record an approval of gate ``gate_id`` by ``by`` acting as ``role``.

    Adds ``gate_id: {by: ..., role: ..., at: ...}`` under the deal's ``approvals:``.
    Returns ``False`` and changes nothing when an approval of that gate by that role is
    already there; ``True`` when the file was written.  An approval of the same gate by
    another role cannot be stored next to it (one key per gate) and is a
    :class:`DealEditError`.
    """
    _check_date(at, "at")
    value = {"by": _check_str(by, "by"), "role": _check_str(role, "role"), "at": at}
    path = Path(path)
    try:
        _record(path, deal_id, "approvals", gate_id, value)
    except AlreadyRecorded as exc:
        existing = exc.existing
        entries = existing if isinstance(existing, list) else [existing]
        for entry in entries:
            if isinstance(entry, dict) and str(entry.get("role")) == role:
                return False
        raise DealEditError(
            f"{exc}; it is not an approval by role {role!r}, and a gate holds a single "
            "approval: edit the file by hand"
        ) from None
    return True


def edit_text(
    text: str,
    deal_id: str,
    section: str,
    key: str,
    value: object,
    *,
    json_format: bool = False,
    source: str = "<string>",
) -> str:
    """Return ``text`` with ``key: value`` added to the ``section`` mapping of deal ``deal_id``.

    Pure function (no I/O).  ``value`` is a date, a string, a number, a bool or a flat
    mapping of those (rendered as a YAML flow mapping / JSON object).  The section is
    created at the end of the deal when it is absent, filled when it is empty or null.
    ``source`` names the file in error messages.

    The result is verified: parsed, it must equal the parsed ``text`` plus exactly the
    added key, or :class:`DealEditError` is raised.  :class:`AlreadyRecorded` (a
    :class:`DealEditError`) is raised when the key is already there with a value other
    than null/false.
    """
    if not isinstance(text, str):
        raise TypeError("text must be str")
    for name, val in (("deal id", deal_id), ("section", section), ("key", key)):
        if not isinstance(val, str) or not val:
            raise DealEditError(f"{name} must be a non-empty string, got {val!r}")
    if len(key) > _MAX_KEY_CHARS:
        raise DealEditError(f"{key[:40]!r}...: a key longer than {_MAX_KEY_CHARS} characters cannot be written")
    new_text, loc = _compute_edit(text, deal_id, section, key, value, json_format, source)
    _verify(text, new_text, loc, section, key, value, json_format, source)
    return new_text


# ---------------------------------------------------------------------------------
# argument checks


def _check_date(value: Any, name: str) -> date:
    if not isinstance(value, date):
        raise DealEditError(f"{name} must be a date, got {value!r}")
    return value


def _check_str(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise DealEditError(f"{name} must be a non-empty string, got {value!r}")
    return value


# ---------------------------------------------------------------------------------
# file handling


def _record(path: Path, deal_id: str, section: str, key: str, value: Any) -> None:
    """Read ``path``, edit it, write it back atomically.  Raises on any problem.

    Two edits of one file at once take turns: each holds an advisory lock (``flock``) on
    the file from its read to its rename, so the second reads what the first wrote."""
    _check_str(deal_id, "deal id")
    _check_str(key, "job id" if section == "jobs" else "gate id")
    shown = str(path)
    real = os.path.realpath(path)  # edit the target of a symlink, keep the link
    with _locked(real, shown) as fh:
        before = os.fstat(fh.fileno())
        try:
            data = fh.read()
        except OSError as exc:
            raise DealEditError(f"{shown}: cannot read: {exc.strerror or exc}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DealEditError(f"{shown}: not UTF-8 text (byte {exc.start})") from None
        json_format = path.suffix.lower() == ".json"
        new_text = edit_text(text, deal_id, section, key, value, json_format=json_format, source=shown)
        try:
            new_data = new_text.encode("utf-8")
        except UnicodeEncodeError:
            raise DealEditError(f"{shown}: the new value cannot be encoded as UTF-8") from None
        _atomic_write(real, new_data, before, shown)


@contextlib.contextmanager
def _locked(real: str, shown: str) -> Iterator[BinaryIO]:
    """The file, open for reading and locked. A writer that held the lock before us
    renamed a new file into place: then the lock we got is on the old one, so retry."""
    while True:
        try:
            fh = open(real, "rb")
        except FileNotFoundError:
            raise DealEditError(f"{shown}: no such file") from None
        except OSError as exc:
            raise DealEditError(f"{shown}: cannot read: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            held, now = os.fstat(fh.fileno()), os.stat(real)
        except OSError:
            fh.close()
            raise
        if (held.st_ino, held.st_dev) == (now.st_ino, now.st_dev):
            break
        fh.close()
    try:
        yield fh
    finally:
        fh.close()  # releases the lock, after the rename


def _same_file_state(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_ino, a.st_dev, a.st_size, a.st_mtime_ns) == (b.st_ino, b.st_dev, b.st_size, b.st_mtime_ns)


def _atomic_write(real: str, data: bytes, before: os.stat_result, shown: str) -> None:
    def unchanged() -> None:
        try:
            now = os.stat(real)
        except OSError:
            now = None
        if now is None or not _same_file_state(before, now):
            raise DealEditError(f"{shown}: the file changed while it was being edited; nothing written, try again")

    try:
        write_atomic(real, data, mode=before.st_mode, owner=(before.st_uid, before.st_gid), before_rename=unchanged)
    except OSError as exc:
        raise DealEditError(f"{shown}: cannot write: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------------
# shared helpers


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


def _line_col(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of offset ``pos``."""
    line = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    return line, pos - start + 1


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


# ---------------------------------------------------------------------------------
# YAML


class _FlowDumper(yaml.SafeDumper):
    """SafeDumper that keeps every scalar on one line (line breaks become escapes)."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = '"' if any(c in data for c in "\n\r\x85\u2028\u2029") else None
    return dumper.represent_scalar(_STR_TAG, data, style=style)


_FlowDumper.add_representer(str, _represent_str)


def _yaml_flow(obj: Any) -> str:
    """``obj`` as YAML text valid in flow context (and so in block context), one line."""
    last_error: Exception | None = None
    for allow_unicode in (True, False):
        try:
            out = yaml.dump(
                [obj],
                Dumper=_FlowDumper,
                default_flow_style=True,
                width=float("inf"),
                allow_unicode=allow_unicode,
                sort_keys=False,
            )
        except yaml.YAMLError as exc:
            raise DealEditError(f"cannot write {obj!r} into a deal file: {exc}") from None
        out = out.rstrip("\n")
        if not (out.startswith("[") and out.endswith("]")) or "\n" in out or "\r" in out:
            last_error = DealEditError(f"cannot write {obj!r} on one line")
            continue
        inner = out[1:-1]
        try:  # the emitter and libyaml disagree on a few characters: round-trip it
            back = yaml.load("[" + inner + "]", Loader=_LOADER)
        except yaml.YAMLError as exc:
            last_error = exc
            continue
        if _same(back, [obj]):
            return inner
        last_error = DealEditError(f"{obj!r} does not survive a round trip")
    raise DealEditError(f"cannot write {obj!r} into a deal file ({last_error})")


def _yaml_error(exc: yaml.YAMLError, text: str, source: str) -> DealEditError:
    """A parser error as ``FILE:line:col: message`` (1-based, as editors count)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        msg = ": ".join(parts) or "invalid YAML"
    elif isinstance(exc, yaml.reader.ReaderError):
        msg = f"unacceptable character #x{exc.character:04x}" if isinstance(exc.character, int) else str(exc.reason)
        line, col = _line_col(text, exc.position)
        return DealEditError(f"{source}:{line}:{col}: {msg}")
    else:
        msg = str(exc)
    if mark is not None:
        return DealEditError(f"{source}:{mark.line + 1}:{mark.column + 1}: {msg}")
    return DealEditError(f"{source}: {msg}")


def _yaml_parse(text: str, source: str) -> tuple[Node | None, Any]:
    """Compose and construct ``text`` (BOM already removed) with the safe loader."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
        doc = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source) from None
    except RecursionError:
        raise DealEditError(f"{source}: the document nests too deeply") from None
    return root, doc


def _yaml_get(mapping: MappingNode, name: str) -> tuple[Node, Node] | None:
    """The last (key, value) pair whose key is the string ``name`` (the one a loader keeps)."""
    found = None
    for k, v in mapping.value:
        if isinstance(k, ScalarNode) and k.tag == _STR_TAG and k.value == name:
            found = (k, v)
    return found


def _pos(node: Node) -> str:
    return f"{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _yaml_candidates(root: Node | None, doc: Any) -> list[tuple[MappingNode, dict, tuple]]:
    """Every deal of the document: (node, parsed mapping, location path)."""
    if isinstance(root, MappingNode) and isinstance(doc, dict):
        pair = _yaml_get(root, "deals")
        items = doc.get("deals")
        if pair is not None and isinstance(pair[1], SequenceNode) and isinstance(items, list) and "id" not in doc:
            return [
                (n, d, ("deals", i))
                for i, (n, d) in enumerate(zip(pair[1].value, items))
                if isinstance(n, MappingNode) and isinstance(d, dict)
            ]
        return [(root, doc, ())]
    if isinstance(root, SequenceNode) and isinstance(doc, list):
        return [
            (n, d, (i,))
            for i, (n, d) in enumerate(zip(root.value, doc))
            if isinstance(n, MappingNode) and isinstance(d, dict)
        ]
    return []


def _yaml_find_deal(root: Node | None, doc: Any, deal_id: str, source: str) -> tuple[MappingNode, dict, tuple]:
    matches = []
    for node, data, loc in _yaml_candidates(root, doc):
        pair = _yaml_get(node, "id")
        if pair is None or not isinstance(pair[1], ScalarNode):
            continue
        if pair[1].value == deal_id or ("id" in data and str(data["id"]) == deal_id):
            matches.append((node, data, loc))
    if not matches:
        raise DealEditError(f"deal {deal_id} not found in {source}")
    if len(matches) > 1:
        lines = ", ".join(str(n.start_mark.line + 1) for n, _, _ in matches)
        raise DealEditError(f"deal {deal_id} appears {len(matches)} times in {source} (lines {lines})")
    return matches[0]


def _block_end(text: str, node: Node) -> tuple[int, bool]:
    """Where the text of block collection ``node`` really ends: (index, at_line_start).

    Block collections' own end marks lie beyond trailing comments and blank lines, and
    composed nodes carry no position for aliases (``*name`` nodes are the anchor's), so
    this walks the parser's events inside the collection and keeps the furthest end of
    a scalar, an alias or a flow collection.  ``at_line_start`` is True when that is a
    block scalar (``|``/``>``) whose end mark is the start (or indentation) of the line
    after its last line: new lines go at the start of that line.  Otherwise the index is
    just after the last character, and new lines go at the end of its line.  Empty
    scalars (``key:``) take no room and are skipped.
    """
    start = node.start_mark.index
    kind = yaml.MappingStartEvent if isinstance(node, MappingNode) else yaml.SequenceStartEvent
    best: tuple[int, bool] | None = None
    flows: list[bool] = []
    for event in yaml.parse(text, Loader=_LOADER):
        if not flows:
            if best is not None:
                break  # the collection is over
            if isinstance(event, kind) and event.start_mark.index == start:
                flows.append(False)
                best = (start, False)
            continue
        got: tuple[int, bool] | None = None
        if isinstance(event, yaml.CollectionStartEvent):
            flows.append(bool(event.flow_style))
        elif isinstance(event, yaml.CollectionEndEvent):
            if flows.pop():
                got = (event.end_mark.index, False)
        elif isinstance(event, yaml.AliasEvent):
            got = (event.end_mark.index, False)
        elif isinstance(event, yaml.ScalarEvent) and event.start_mark.index != event.end_mark.index:
            end = event.end_mark.index
            got = (end, False)
            if event.style in ("|", ">"):
                line_start = end - event.end_mark.column
                if text[line_start:end].strip(" ") == "":
                    got = (line_start, True)
        if got is not None and got[0] > best[0]:
            best = got
    return best if best is not None else (start, False)


def _insert_lines(text: str, node: Node, lines: list[str]) -> str:
    """Insert whole ``lines`` after the last line of block collection ``node``."""
    pos, at_line_start = _block_end(text, node)
    default = _newline(text)
    if at_line_start:
        nl = "\r\n" if text.endswith("\r\n", 0, pos) else (text[pos - 1] if pos and text[pos - 1] in "\r\n" else default)
        return text[:pos] + "".join(line + nl for line in lines) + text[pos:]
    eol = _line_end(text, pos)
    nl = _break_at(text, eol, default)
    return text[:eol] + "".join(nl + line for line in lines) + text[eol:]


_ALIAS_AFTER_KEY = re.compile(r"[ \t]*:[ \t]*\*[^\s,\[\]{}]+")


def _pair_end(text: str, k: Node, v: Node) -> int:
    """Index just after the text of the pair (k, v) inside a flow mapping."""
    k_end = k.end_mark.index
    if v.start_mark.index < k_end:  # an alias: the node's marks are the anchor's
        m = _ALIAS_AFTER_KEY.match(text, k_end)
        if m is None:
            raise DealEditError(f"cannot find the end of the entry at {_pos(k)}")
        return m.end()
    return max(k_end, v.end_mark.index)


def _flow_add(text: str, mapping: MappingNode, entry: str) -> str:
    """Add ``entry`` (``key: value``) to the flow mapping ``mapping``."""
    start, end = mapping.start_mark.index, mapping.end_mark.index
    if not mapping.value:
        brace = text.index("{", start, end)
        inner = text[brace + 1:end - 1]
        if inner.strip(" \t\r\n") == "":
            return text[:brace] + "{" + entry + "}" + text[end:]
        return text[:brace + 1] + entry + text[brace + 1:]
    k, v = mapping.value[-1]
    pos = _pair_end(text, k, v)
    eol = _line_end(text, pos)
    rest = text[pos:eol]
    trailing_comma = rest.lstrip(" \t").startswith(",")
    after_comma = rest.lstrip(" \t")[1:] if trailing_comma else rest
    line_start = text.rfind("\n", 0, k.start_mark.index) + 1
    line_start = max(line_start, text.rfind("\r", 0, k.start_mark.index) + 1)
    indent = text[line_start:k.start_mark.index]
    own_line = indent.strip(" \t") == "" and k.start_mark.line > mapping.start_mark.line
    rest_is_comment = after_comma.strip(" \t") == "" or after_comma.lstrip(" \t").startswith("#")
    if own_line and rest_is_comment and eol < end:
        nl = _break_at(text, eol, _newline(text))
        if trailing_comma:
            return text[:eol] + nl + indent + entry + "," + text[eol:]
        return text[:pos] + "," + text[pos:eol] + nl + indent + entry + text[eol:]
    return text[:pos] + ", " + entry + text[pos:]


def _colon_after_key(text: str, k: Node) -> int | None:
    """Index just after the ``:`` that follows key ``k`` on its line, if it does."""
    m = re.compile(r"[ \t]*:").match(text, k.end_mark.index)
    return m.end() if m else None


def _fill_null_value(text: str, k: Node, v: ScalarNode, rendered: str) -> str:
    """Replace the null scalar ``v`` (the value of key ``k``) by ``rendered``."""
    if v.start_mark.index == v.end_mark.index:  # `key:` with nothing after
        colon = _colon_after_key(text, k)
        if colon is None:
            return text[:k.end_mark.index] + ": " + rendered + text[k.end_mark.index:]
        return text[:colon] + " " + rendered + text[colon:]
    return text[:v.start_mark.index] + rendered + text[v.end_mark.index:]


def _is_shared(root: Node, target: Node) -> bool:
    """Whether ``target`` is reached from more than one place (an anchor used by aliases)."""
    refs = 0
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            children = [c for pair in node.value for c in pair]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        else:
            continue
        for child in children:
            if child is target:
                refs += 1
            stack.append(child)
    return refs > 1


def _indent_step(deal: MappingNode, root: Node) -> int:
    """The file's indentation step: how far nested block mappings sit from their key.

    The most common step inside the deal, else in the whole file, else 2.  Sequences
    are not looked at: ``deals:`` lists are often written indentless.
    """

    def deltas(node: Node, out: list[int], seen: set[int]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for k, v in node.value:
                if isinstance(v, MappingNode) and not v.flow_style and v.value:
                    first = v.value[0][0]
                    if first.start_mark.line > k.start_mark.line:
                        d = first.start_mark.column - k.start_mark.column
                        if d > 0:
                            out.append(d)
                deltas(v, out, seen)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                deltas(item, out, seen)

    for scope in (deal, root):
        found: list[int] = []
        deltas(scope, found, set())
        if found:
            return max(set(found), key=lambda d: (found.count(d), -d))
    return 2


def _edit_yaml(text: str, deal_id: str, section: str, key: str, value: Any, source: str) -> tuple[str, tuple]:
    root, doc = _yaml_parse(text, source)
    deal, deal_data, loc = _yaml_find_deal(root, doc, deal_id, source)
    entry = f"{_yaml_flow(key)}: {_yaml_flow(value)}"
    pair = _yaml_get(deal, section)

    if pair is None:
        if section in deal_data:
            raise DealEditError(
                f"{source}:{_pos(deal)}: `{section}` of deal {deal_id} comes from a merge key (<<); edit it by hand"
            )
        if deal.flow_style:
            return _flow_add(text, deal, f"{section}: {{{entry}}}"), loc
        col = deal.value[0][0].start_mark.column
        step = _indent_step(deal, root)
        return _insert_lines(text, deal, [" " * col + f"{section}:", " " * (col + step) + entry]), loc

    k, v = pair
    if v.start_mark.index < k.end_mark.index:
        raise DealEditError(
            f"{source}:{_pos(k)}: `{section}` of deal {deal_id} is an alias (*name); edit it by hand"
        )
    if isinstance(v, ScalarNode) and v.tag == _NULL_TAG:
        if deal.flow_style:
            return _fill_null_value(text, k, v, "{" + entry + "}"), loc
        step = _indent_step(deal, root)
        line = " " * (k.start_mark.column + step) + entry
        colon = _colon_after_key(text, k)
        if v.start_mark.index != v.end_mark.index:
            between = text[colon:v.start_mark.index] if colon is not None else "\n"
            if colon is None or between.strip(" \t") != "":
                return _fill_null_value(text, k, v, "{" + entry + "}"), loc
            text = text[:colon] + text[v.end_mark.index:]  # `jobs: ~  # c` -> `jobs:  # c`
        eol = _line_end(text, k.end_mark.index)
        nl = _break_at(text, eol, _newline(text))
        return text[:eol] + nl + line + text[eol:], loc
    if not isinstance(v, MappingNode):
        raise DealEditError(
            f"{source}:{_pos(v)}: `{section}` of deal {deal_id} must be a mapping, "
            f"found {_describe(deal_data.get(section))}"
        )
    if _is_shared(root, v):
        raise DealEditError(
            f"{source}:{_pos(v)}: `{section}` of deal {deal_id} is anchored (&name) and used elsewhere; "
            "edit it by hand"
        )

    section_data = deal_data.get(section)
    if isinstance(section_data, dict):
        existing_key = _matching_key(section_data, key)
        if existing_key is not _MISSING:
            existing = section_data[existing_key]
            hit = next(
                ((kk, vv) for kk, vv in reversed(v.value) if isinstance(kk, ScalarNode) and kk.value == str(key)),
                None,
            )
            if not _is_blank_value(existing) or hit is None or not isinstance(hit[1], ScalarNode):
                where = f"{source}:{_pos(hit[0])}" if hit else source
                raise AlreadyRecorded(f"{where}: {key} is already recorded for deal {deal_id}", existing)
            hk, hv = hit
            if hv.start_mark.index < hk.end_mark.index:
                raise AlreadyRecorded(f"{source}:{_pos(hk)}: {key} is an alias; edit it by hand", existing)
            return _fill_null_value(text, hk, hv, _yaml_flow(value)), loc
    if v.flow_style:
        return _flow_add(text, v, entry), loc
    col = v.value[0][0].start_mark.column
    return _insert_lines(text, v, [" " * col + entry]), loc


# ---------------------------------------------------------------------------------
# JSON


@dataclass
class _JNode:
    kind: str  # object | array | scalar
    start: int
    end: int = -1
    members: list[tuple[str, int, int, "_JNode"]] = field(default_factory=list)
    items: list["_JNode"] = field(default_factory=list)


_JWS = re.compile(r"[ \t\n\r]*")
_JSCALAR = re.compile(
    r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|NaN|-?Infinity"
)


def _jparse(text: str, i: int) -> _JNode:
    """Spans of the JSON value at ``i`` (text already validated by json.loads)."""
    i = _JWS.match(text, i).end()
    c = text[i]
    if c == "{":
        node = _JNode("object", i)
        i = _JWS.match(text, i + 1).end()
        if text[i] == "}":
            node.end = i + 1
            return node
        while True:
            i = _JWS.match(text, i).end()
            key_start = i
            key, i = json.decoder.scanstring(text, i + 1, False)
            key_end = i
            i = _JWS.match(text, i).end()
            assert text[i] == ":"
            val = _jparse(text, i + 1)
            node.members.append((key, key_start, key_end, val))
            i = _JWS.match(text, val.end).end()
            if text[i] == ",":
                i += 1
                continue
            assert text[i] == "}"
            node.end = i + 1
            return node
    if c == "[":
        node = _JNode("array", i)
        i = _JWS.match(text, i + 1).end()
        if text[i] == "]":
            node.end = i + 1
            return node
        while True:
            val = _jparse(text, i)
            node.items.append(val)
            i = _JWS.match(text, val.end).end()
            if text[i] == ",":
                i += 1
                continue
            assert text[i] == "]"
            node.end = i + 1
            return node
    if c == '"':
        _, end = json.decoder.scanstring(text, i + 1, False)
        return _JNode("scalar", i, end)
    m = _JSCALAR.match(text, i)
    assert m is not None
    return _JNode("scalar", i, m.end())


def _jdefault(obj: Any) -> Any:
    if isinstance(obj, date):
        return obj.isoformat()
    raise TypeError(f"cannot write {type(obj).__name__} to a JSON deal file")


def _json_value(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=_jdefault))


def _json_render(obj: Any, base: str | None, step: str, nl: str) -> str:
    """JSON text of ``obj``: compact when ``base`` is None, else pretty, continuation lines at ``base``."""
    try:
        if base is None or not isinstance(obj, (dict, list)) or not obj:
            return json.dumps(obj, ensure_ascii=False, default=_jdefault)
        out = json.dumps(obj, ensure_ascii=False, default=_jdefault, indent=step)
    except (TypeError, ValueError) as exc:
        raise DealEditError(str(exc)) from None
    return out.replace("\n", nl + base)


def _line_indent(text: str, pos: int) -> tuple[str, bool]:
    """Leading whitespace of the line holding ``pos``; whether ``pos`` is its first non-blank."""
    start = max(text.rfind("\n", 0, pos), text.rfind("\r", 0, pos)) + 1
    prefix = text[start:pos]
    if prefix.strip(" \t") == "":
        return prefix, True
    return prefix[: len(prefix) - len(prefix.lstrip(" \t"))], False


def _json_layout(text: str, obj: _JNode) -> tuple[str | None, str]:
    """(member indent or None when the object is on one line, indentation step)."""
    if not obj.members:
        return None, "  "
    indent, own_line = _line_indent(text, obj.members[-1][1])
    if not own_line:
        return None, "  "
    outer, _ = _line_indent(text, obj.start)
    if indent.startswith(outer) and len(indent) > len(outer):
        return indent, indent[len(outer):]
    return indent, "\t" if "\t" in indent else "  "


def _json_add_member(text: str, obj: _JNode, key: str, value: Any, step: str, nl: str) -> str:
    """Append member ``"key": value`` to the non-empty object ``obj``."""
    indent, own_step = _json_layout(text, obj)
    key_s = json.dumps(key, ensure_ascii=False)
    last = obj.members[-1][3]
    if indent is None:
        return text[:last.end] + ", " + key_s + ": " + _json_render(value, None, step, nl) + text[last.end:]
    member = key_s + ": " + _json_render(value, indent, own_step, nl)
    return text[:last.end] + "," + nl + indent + member + text[last.end:]


def _edit_json(text: str, deal_id: str, section: str, key: str, value: Any, source: str) -> tuple[str, tuple]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DealEditError(f"{source}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise DealEditError(f"{source}: the document nests too deeply") from None
    try:
        root = _jparse(text, 0)
    except (AssertionError, IndexError, ValueError, RecursionError):
        raise DealEditError(f"{source}: cannot locate the deals in this JSON file") from None

    candidates: list[tuple[_JNode, dict, tuple]] = []
    if root.kind == "object" and isinstance(doc, dict):
        deals = [m for m in root.members if m[0] == "deals"]
        if deals and deals[-1][3].kind == "array" and isinstance(doc.get("deals"), list) and "id" not in doc:
            candidates = [
                (n, d, ("deals", i))
                for i, (n, d) in enumerate(zip(deals[-1][3].items, doc["deals"]))
                if n.kind == "object" and isinstance(d, dict)
            ]
        else:
            candidates = [(root, doc, ())]
    elif root.kind == "array" and isinstance(doc, list):
        candidates = [(n, d, (i,)) for i, (n, d) in enumerate(zip(root.items, doc)) if n.kind == "object" and isinstance(d, dict)]
    matches = [c for c in candidates if "id" in c[1] and str(c[1]["id"]) == deal_id]
    if not matches:
        raise DealEditError(f"deal {deal_id} not found in {source}")
    if len(matches) > 1:
        lines = ", ".join(str(_line_col(text, n.start)[0]) for n, _, _ in matches)
        raise DealEditError(f"deal {deal_id} appears {len(matches)} times in {source} (lines {lines})")
    deal, deal_data, loc = matches[0]

    nl = _newline(text)
    deal_indent, step = _json_layout(text, deal)
    members = [m for m in deal.members if m[0] == section]
    if not members:
        return _json_add_member(text, deal, section, {key: value}, step, nl), loc
    _, k_start, _, sec = members[-1]
    sec_data = deal_data.get(section)
    sec_indent = _line_indent(text, k_start)[0] if deal_indent is not None else None
    if sec_data is None or (isinstance(sec_data, dict) and not sec_data):
        rendered = _json_render({key: value}, sec_indent, step, nl)
        return text[:sec.start] + rendered + text[sec.end:], loc
    if not isinstance(sec_data, dict):
        line, col = _line_col(text, sec.start)
        raise DealEditError(
            f"{source}:{line}:{col}: `{section}` of deal {deal_id} must be an object, found {_describe(sec_data)}"
        )
    if key in sec_data:
        existing = sec_data[key]
        hit = [m for m in sec.members if m[0] == key][-1]
        if not _is_blank_value(existing):
            line, col = _line_col(text, hit[1])
            raise AlreadyRecorded(f"{source}:{line}:{col}: {key} is already recorded for deal {deal_id}", existing)
        val = hit[3]
        base = _line_indent(text, hit[1])[0] if _json_layout(text, sec)[0] is not None else None
        return text[:val.start] + _json_render(value, base, step, nl) + text[val.end:], loc
    return _json_add_member(text, sec, key, value, step, nl), loc


# ---------------------------------------------------------------------------------
# the edit and its safety net


def _compute_edit(
    text: str, deal_id: str, section: str, key: str, value: Any, json_format: bool, source: str
) -> tuple[str, tuple]:
    """The new text and the location of the deal in the parsed document."""
    bom = _BOM if text.startswith(_BOM) else ""
    body = text[len(bom):]
    if json_format:
        new_body, loc = _edit_json(body, deal_id, section, key, value, source)
    else:
        new_body, loc = _edit_yaml(body, deal_id, section, key, value, source)
    return bom + new_body, loc


def _load(text: str, json_format: bool) -> Any:
    if json_format:
        return json.loads(text[1:] if text.startswith(_BOM) else text)
    return yaml.load(text, Loader=_LOADER)


def _tree_copy(obj: Any) -> Any:
    """A deep copy that does NOT keep sharing (anchors/aliases): editing one place of
    the copy must not silently edit another, or the safety net would miss it."""
    if isinstance(obj, dict):
        return {k: _tree_copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_tree_copy(v) for v in obj]
    return copy.copy(obj)


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


def _verify(
    old: str, new: str, loc: tuple, section: str, key: str, value: Any, json_format: bool, source: str
) -> None:
    """Raise unless ``new`` parses to ``old`` plus exactly ``section[key] = value`` in the deal."""
    refuse = f"{source}: internal check failed, nothing written"
    try:
        before = _load(old, json_format)
        after = _load(new, json_format)
    except (yaml.YAMLError, ValueError) as exc:
        raise DealEditError(f"{refuse} (the edited text does not parse: {exc})") from None
    try:
        expected = _tree_copy(before)
        deal = expected
        for step in loc:
            deal = deal[step]
        sec = deal.get(section)
        if sec is None:
            sec = deal[section] = {}
        target = _matching_key(sec, key)
        if target is _MISSING:
            target = key
        sec[target] = _json_value(value) if json_format else value
        ok = _same(expected, after)
    except (KeyError, IndexError, TypeError, AttributeError, RecursionError):
        ok = False
    if not ok:
        raise DealEditError(f"{refuse} (the edit would change more than {section}.{key})")
