"""The surgical YAML edit of flowctl.dealedit: positions from ``yaml.compose`` and the
parser's events, the new key/value text from the YAML emitter, inserted into the old
text so comments, quoting, indentation and line endings survive (hand-written:
ruamel.yaml loses CRLF, BOMs and indentation and is 5x slower)."""
from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .dealedit_text import (AlreadyRecorded, _break_at, DealEditError, _describe, _is_blank_value, _line_end,
                            _LOADER, _matching_key, _MISSING, _newline, _NULL_TAG, _same, _STR_TAG)
from .yamlguards import line_col


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
        line, col = line_col(text, exc.position)
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
        start_mark, end_mark = event.start_mark, event.end_mark
        assert start_mark is not None and end_mark is not None  # the parser marks every event
        if not flows:
            if best is not None:
                break  # the collection is over
            if isinstance(event, kind) and start_mark.index == start:
                flows.append(False)
                best = (start, False)
            continue
        assert best is not None  # set when the collection's start event went by
        got: tuple[int, bool] | None = None
        if isinstance(event, yaml.CollectionStartEvent):
            flows.append(bool(event.flow_style))
        elif isinstance(event, yaml.CollectionEndEvent):
            if flows.pop():
                got = (end_mark.index, False)
        elif isinstance(event, yaml.AliasEvent):
            got = (end_mark.index, False)
        elif isinstance(event, yaml.ScalarEvent) and start_mark.index != end_mark.index:
            end = end_mark.index
            got = (end, False)
            if event.style in ("|", ">"):
                line_start = end - end_mark.column
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
    assert root is not None  # an empty document has no deal to find
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

