"""The surgical JSON edit of flowctl.dealedit: a small span-recording JSON scanner finds
the deal, and the new member, rendered by ``json.dumps``, is inserted in the file's own
layout (indentation, newline style)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from .dealedit_text import AlreadyRecorded, DealEditError, _describe, _is_blank_value, _newline
from .yamlguards import line_col


@dataclass
class _JNode:
    kind: str  # object | array | scalar
    start: int
    end: int = -1
    members: list[tuple[str, int, int, "_JNode"]] = field(default_factory=list)
    items: list["_JNode"] = field(default_factory=list)


_JWS = re.compile(r"[ \t\n\r]*")
# typeshed's json.decoder declares only JSONDecoder and JSONDecodeError, but the module has
# always exported scanstring (the C scanner, or its pure-Python fallback): (string, end).
_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_JSCALAR = re.compile(
    r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|NaN|-?Infinity"
)


def _skip_ws(text: str, i: int) -> int:
    """The index of the first non-whitespace character at or after ``i``."""
    m = _JWS.match(text, i)
    assert m is not None  # `*` matches the empty string anywhere
    return m.end()


def _jparse(text: str, i: int) -> _JNode:
    """Spans of the JSON value at ``i`` (text already validated by json.loads)."""
    i = _skip_ws(text, i)
    c = text[i]
    if c == "{":
        node = _JNode("object", i)
        i = _skip_ws(text, i + 1)
        if text[i] == "}":
            node.end = i + 1
            return node
        while True:
            i = _skip_ws(text, i)
            key_start = i
            key, i = _scanstring(text, i + 1, False)
            key_end = i
            i = _skip_ws(text, i)
            assert text[i] == ":"
            val = _jparse(text, i + 1)
            node.members.append((key, key_start, key_end, val))
            i = _skip_ws(text, val.end)
            if text[i] == ",":
                i += 1
                continue
            assert text[i] == "}"
            node.end = i + 1
            return node
    if c == "[":
        node = _JNode("array", i)
        i = _skip_ws(text, i + 1)
        if text[i] == "]":
            node.end = i + 1
            return node
        while True:
            val = _jparse(text, i)
            node.items.append(val)
            i = _skip_ws(text, val.end)
            if text[i] == ",":
                i += 1
                continue
            assert text[i] == "]"
            node.end = i + 1
            return node
    if c == '"':
        _, end = _scanstring(text, i + 1, False)
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
    except json.JSONDecodeError as exc:  # its lineno counts LFs alone: wrong in a CR-only file
        line, col = line_col(text, exc.pos)
        raise DealEditError(f"{source}:{line}:{col}: {exc.msg}") from None
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
        lines = ", ".join(str(line_col(text, n.start)[0]) for n, _, _ in matches)
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
        line, col = line_col(text, sec.start)
        raise DealEditError(
            f"{source}:{line}:{col}: `{section}` of deal {deal_id} must be an object, found {_describe(sec_data)}"
        )
    if key in sec_data:
        existing = sec_data[key]
        hit = [m for m in sec.members if m[0] == key][-1]
        if not _is_blank_value(existing):
            line, col = line_col(text, hit[1])
            raise AlreadyRecorded(f"{source}:{line}:{col}: {key} is already recorded for deal {deal_id}", existing)
        val = hit[3]
        base = _line_indent(text, hit[1])[0] if _json_layout(text, sec)[0] is not None else None
        return text[:val.start] + _json_render(value, base, step, nl) + text[val.end:], loc
    return _json_add_member(text, sec, key, value, step, nl), loc

