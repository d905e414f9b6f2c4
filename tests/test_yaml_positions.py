"""Positions of JSON paths in YAML and JSON text (engine/yaml_positions.py): every value
and key of any document is found where it is written, a path that goes further than the
document stops at its deepest node, text that does not compose has no positions."""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowctl.diagnostics import Diagnostic
from flowctl.yaml_positions import Positions, key_on_line, locate_all, yaml_duplicate_position

# Text YAML can read unescaped, as JSON writes it (JSON leaves DEL and U+0080..U+009F as they are).
PRINTABLE = st.characters(exclude_categories=("Cs", "Cc", "Cn"))
KEYS = st.text(PRINTABLE, min_size=1, max_size=8)
SCALARS = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(PRINTABLE, max_size=10)
DOCUMENTS = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                         max_leaves=20)


def paths(value: Any, prefix: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (path, value) in a document, the document itself first."""
    yield prefix, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from paths(child, (*prefix, key))


def offset(text: str, line: int, column: int) -> int:
    return sum(len(row) + 1 for row in text.split("\n")[: line - 1]) + column - 1


@settings(max_examples=150, deadline=None)
@given(DOCUMENTS.filter(lambda d: isinstance(d, (dict, list))), st.sampled_from([None, 1, 2, 4]))
def test_every_value_and_key_of_a_json_document_is_where_it_is_written(document: Any, indent: int | None) -> None:
    # JSON is YAML: a value's position starts its JSON text, a key's position its quoted name.
    # (Characters past U+FFFF stay unescaped: their surrogate escapes are no YAML, so such a
    # key is not found by its text, and its mapping stands for it.)
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    positions = Positions(text)
    for path, value in paths(document):
        line, column = positions.locate(path)
        assert line is not None and column is not None, path
        written = text[offset(text, line, column):]
        if isinstance(value, dict):
            assert written.startswith("{"), path
        elif isinstance(value, list):
            assert written.startswith("["), path
        else:
            assert written.startswith(json.dumps(value, ensure_ascii=False)), path
        if path and isinstance(path[-1], str):
            line, column = positions.locate(path, key=True)
            assert text[offset(text, line, column):].startswith(json.dumps(path[-1], ensure_ascii=False)), path


@pytest.mark.parametrize("text, path, where", [
    ("a:\n  b: 1\n", ("a", "b", "c", "d"), (2, 6)),  # further than a scalar: the scalar
    ("a:\n  b: 1\n", ("a", "x"), (2, 3)),  # a key that is not there: its mapping
    ("a: [1, 2]\n", ("a", 5), (1, 4)),  # an index past the end: the list
    ("a: [1, 2]\n", ("a", -1), (1, 4)),  # negative indexes are not Python's here
    ("a: {b: 1}\n", ("a", 0), (1, 4)),  # an index into a mapping
    ("- x\n- y\n", ("k",), (1, 1)),  # a key into a list
    ("", ("a",), (None, None)),  # an empty document
])
def test_a_path_further_than_the_document_stops_at_its_deepest_node(text: str, path: tuple, where: tuple) -> None:
    assert Positions(text).locate(path) == where


def test_a_key_is_found_by_its_text_whatever_yaml_makes_of_it() -> None:
    text = "on: 1\n010: 2\nnull: 3\n2026-01-01: 4\n"
    positions = Positions(text)
    assert [positions.locate((key,), key=True) for key in ("on", "010", "null", "2026-01-01")] == \
        [(1, 1), (2, 1), (3, 1), (4, 1)]


def test_a_repeated_key_is_found_at_its_first_occurrence() -> None:
    assert Positions("a: 1\nb: 2\na: 3\n").locate(("a",), key=True) == (1, 1)


@pytest.mark.parametrize("text", ["a: [1\n", "a: 'open\n", "{{{", "a:\tb: c\n  - d\n", "- a\nb: 1\n", "\x07"])
def test_text_that_does_not_compose_has_no_positions(text: str) -> None:
    assert Positions(text).locate(("a",)) == (None, None)


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\ud83d\\ude00", "\\uDBFF"])
def test_json_with_surrogate_escapes_keeps_its_positions(escape: str) -> None:
    # YAML refuses what JSON allows: the escape is replaced by one of the same length.
    text = '{\n  "id": "A",\n  "name": "' + escape + '",\n  "owner": "x"\n}'
    assert Positions(text).locate(("owner",)) == (4, 12)
    assert Positions(text).locate(("name",), key=True) == (3, 3)


def test_locate_all_fills_in_only_what_has_a_path_and_no_position() -> None:
    texts = {"d.yaml": "id: A\njobs:\n  x: 1\n"}
    placed = Diagnostic("d.yaml", "placed already", ("jobs", "x"), line=9, column=9)
    value = Diagnostic("d.yaml", "a value", ("jobs", "x"))
    key = Diagnostic("d.yaml", "a key", ("jobs", "x"))
    key.at_key = True  # type: ignore[attr-defined]
    elsewhere = Diagnostic("other.yaml", "another file", ("jobs",))
    locate_all([placed, value, key, elsewhere], texts)
    assert [(d.line, d.column) for d in (placed, value, key, elsewhere)] == [(9, 9), (3, 6), (3, 3), (None, None)]


@pytest.mark.parametrize("line, expected", [
    ("amount: ", "amount: "), ("  amount:   ", "amount: "), ('"amount": ', "amount: "), ("'a-b$': ", "a-b$: "),
    ("- ", ""), ("", ""), ("amount: [1, ", ""), ("text ", ""),
])
def test_the_key_on_a_line_names_the_value_that_follows(line: str, expected: str) -> None:
    text = "first: 1\n" + line + "123"
    assert key_on_line(text, len(text) - 3) == expected


@pytest.mark.parametrize("text, where", [
    ('{"a": 1, "a": 2}', (1, 10)),
    ('{\n  "a": {\n    "b": 1,\n    "b": 2\n  }\n}', (4, 5)),
    ('[{"x": 1}, {"y": 1, "y": 2}]', (1, 21)),
    ('{"a": 1}', (None, None)),  # no duplicate
    ('{"a": "\\ud800", "a": 1}', (None, None)),  # not YAML: JSON alone says what is repeated
])
def test_a_repeated_json_key_is_placed_by_the_yaml_loader(text: str, where: tuple) -> None:
    assert yaml_duplicate_position(text) == where
