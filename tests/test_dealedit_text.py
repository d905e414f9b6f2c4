"""Tests for flowctl.dealedit_text: the line-end helpers the YAML and JSON
edits share, how values are described in messages, and the type-strict deep equality of
the safety net."""
from __future__ import annotations

import math
from datetime import date

import pytest

from flowctl.dealedit_text import (_MISSING, AlreadyRecorded, DealEditError, _break_at, _describe, _is_blank_value,
                                   _line_end, _matching_key, _newline, _same)


@pytest.mark.parametrize("text, expected", [
    ("", "\n"),
    ("no break at all", "\n"),
    ("a\nb\n", "\n"),
    ("a\r\nb\r\n", "\r\n"),
    ("a\rb\r", "\r"),
    ("a\r\nb\nc\n", "\r\n"),  # any CRLF makes it a CRLF file
    ("a\rb\nc", "\n"),  # mixed CR and LF without CRLF: LF
])
def test_newline_is_the_files_own_line_break(text, expected):
    assert _newline(text) == expected


@pytest.mark.parametrize("text, pos, expected", [
    ("", 0, 0),
    ("abc", 0, 3),
    ("abc", 3, 3),
    ("ab\ncd", 0, 2),
    ("ab\ncd", 2, 2),
    ("ab\ncd", 3, 5),
    ("ab\r\ncd", 1, 2),
    ("ab\rcd\n", 0, 2),
    ("ab\rcd\n", 3, 5),
])
def test_line_end_is_the_break_ending_the_line(text, pos, expected):
    assert _line_end(text, pos) == expected


@pytest.mark.parametrize("text, pos, expected", [
    ("a\r\nb", 1, "\r\n"),
    ("a\nb", 1, "\n"),
    ("a\rb", 1, "\r"),
    ("ab", 2, "DEFAULT"),  # at the end of the text
    ("", 0, "DEFAULT"),
])
def test_break_at(text, pos, expected):
    assert _break_at(text, pos, "DEFAULT") == expected


@pytest.mark.parametrize("value, expected", [
    ([], "a list"),
    ([1, 2], "a list"),
    (None, "null"),
    ("", "the text ''"),
    ("done", "the text 'done'"),
    (3, "the value 3"),
    (True, "the value True"),
    (date(2026, 1, 2), "the value datetime.date(2026, 1, 2)"),
])
def test_describe_names_what_was_found(value, expected):
    assert _describe(value) == expected


@pytest.mark.parametrize("value, blank", [
    (None, True), (False, True), (0, False), ("", False), ([], False), ({}, False), (True, False),
    (date(2026, 1, 1), False),
])
def test_only_null_and_false_say_not_recorded_yet(value, blank):
    assert _is_blank_value(value) is blank


@pytest.mark.parametrize("mapping, key, expected", [
    ({}, "x", _MISSING),
    ({"x": 1}, "x", "x"),
    ({123: 1}, "123", 123),
    ({1.5: 1}, "1.5", 1.5),
    ({date(2026, 1, 2): 1}, "2026-01-02", date(2026, 1, 2)),
    ({True: 1}, "True", _MISSING),  # a YAML boolean key is not the text "True"
    ({"123": 1, 123: 2}, "123", "123"),  # the text key first
    ({"a": 1}, "b", _MISSING),
])
def test_matching_key(mapping, key, expected):
    assert _matching_key(mapping, key) is expected or _matching_key(mapping, key) == expected


@pytest.mark.parametrize("a, b", [
    (1, 1), ("a", "a"), (None, None), ([], []), ({}, {}),
    ({"a": [1, {"b": 2.0}]}, {"a": [1, {"b": 2.0}]}),
    (math.nan, math.nan), ([math.nan], [math.nan]),
    (date(2026, 1, 1), date(2026, 1, 1)),
])
def test_same_values(a, b):
    assert _same(a, b)


@pytest.mark.parametrize("a, b", [
    (1, True), (1, 1.0), (0, False), ("1", 1), (None, False),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}),  # key order counts: the edit must not reorder
    ({"a": 1}, {"a": 1, "b": 2}), ([1], [1, 2]), ([1, 2], [2, 1]),
    ({"a": [1]}, {"a": [True]}), (math.nan, 1.0),
])
def test_different_values(a, b):
    assert not _same(a, b)
    assert not _same(b, a)


def test_already_recorded_is_a_deal_edit_error_carrying_the_value():
    exc = AlreadyRecorded("d.yaml:3:3: x is already recorded for deal A", {"at": date(2026, 1, 1)})
    assert isinstance(exc, DealEditError)
    assert str(exc) == "d.yaml:3:3: x is already recorded for deal A"
    assert exc.existing == {"at": date(2026, 1, 1)}
