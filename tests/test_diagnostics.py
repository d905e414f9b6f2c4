"""engine/diagnostics.py: problems with where they are, as text and JSON."""
from __future__ import annotations

import pytest

from flowctl.diagnostics import Diagnostic, FlowctlError, did_you_mean, format_path, has_errors


@pytest.mark.parametrize("path,text", [
    ((), "$"),
    (("stages", 2, "jobs", 0, "due"), "$.stages[2].jobs[0].due"),
    (("fields", "close_date"), "$.fields.close_date"),
    (("fields", "my-field"), "$.fields.my-field"),
    (("fields", "a b"), "$.fields['a b']"),
    (("fields", "a.b"), "$.fields['a.b']"),
    (("fields", ""), "$.fields['']"),
    (("x", "_"), "$.x['_']"),
    ((0,), "$[0]"),
    (("jobs", "é"), "$.jobs.é"),
])
def test_format_path(path, text):
    assert format_path(path) == text


@pytest.mark.parametrize("diagnostic,text", [
    (Diagnostic("d.yaml", "bad"), "d.yaml: error: bad"),
    (Diagnostic("d.yaml", "bad", ("amount",)), "d.yaml: error: bad [$.amount]"),
    (Diagnostic("d.yaml", "odd", severity="warning", line=3, column=5), "d.yaml:3:5: warning: odd"),
    (Diagnostic("d.yaml", "bad", line=3), "d.yaml:3:1: error: bad"),  # no column: the line's start
    (Diagnostic("d.yaml", "bad", ("jobs", 0), line=2, column=4), "d.yaml:2:4: error: bad [$.jobs[0]]"),
])
def test_format(diagnostic, text):
    assert diagnostic.format() == text


def test_format_escapes_control_characters_a_deal_value_may_bring():
    text = Diagnostic("d.yaml", "bad value 'a\x1b[31mred\x07'").format()
    assert "\x1b" not in text and "\x07" not in text and text.startswith("d.yaml: error: bad value")


def test_to_json_keys():
    d = Diagnostic("d.yaml", "bad", ("stages", 1), severity="warning", line=4, column=2)
    assert d.to_json() == {"file": "d.yaml", "line": 4, "column": 2, "severity": "warning", "message": "bad",
                           "path": "$.stages[1]"}
    assert Diagnostic("d.yaml", "bad").to_json()["line"] is None


def test_sort_key_orders_by_file_then_position_then_message():
    ds = [Diagnostic("b.yaml", "x", line=1), Diagnostic("a.yaml", "z", line=2), Diagnostic("a.yaml", "y", line=2),
          Diagnostic("a.yaml", "w"), Diagnostic("a.yaml", "v", line=2, column=1)]
    assert [(d.file, d.message) for d in sorted(ds, key=Diagnostic.sort_key)] == \
        [("a.yaml", "w"), ("a.yaml", "y"), ("a.yaml", "z"), ("a.yaml", "v"), ("b.yaml", "x")]


@pytest.mark.parametrize("given", [Diagnostic("a.yaml", "one"), [Diagnostic("a.yaml", "one"), Diagnostic("b", "two")],
                                   (d for d in [Diagnostic("a.yaml", "one")]), []])
def test_flowctl_error_keeps_its_diagnostics_and_says_them(given):
    expected = [given] if isinstance(given, Diagnostic) else list(given) if isinstance(given, list) else None
    error = FlowctlError(given)
    if expected is not None:
        assert error.diagnostics == expected
    assert str(error) == "\n".join(d.format() for d in error.diagnostics)


@pytest.mark.parametrize("word,choices,hint", [
    ("prospct", ["prospect", "qualified"], " (did you mean 'prospect'?)"),
    ("qualifed", ["prospect", "qualified"], " (did you mean 'qualified'?)"),
    ("zzz", ["prospect", "qualified"], ""),
    ("x", [], ""),
    ("prospect", iter(["prospect"]), " (did you mean 'prospect'?)"),
])
def test_did_you_mean(word, choices, hint):
    assert did_you_mean(word, choices) == hint


@pytest.mark.parametrize("severities,errors", [([], False), (["warning"], False), (["warning", "error"], True),
                                               (["error"], True)])
def test_has_errors(severities, errors):
    assert has_errors(Diagnostic("f", "m", severity=s) for s in severities) is errors
