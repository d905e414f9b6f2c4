"""Tests for flowctl.yamlguards: the checks run before a YAML document is built (nesting
depth from the text, alias expansion from the composed node), and the positions they give."""
from __future__ import annotations

import pytest
import yaml

from flowctl.diagnostics import FlowctlError
from flowctl.yamlguards import MAX_DEPTH, MAX_EXPANDED, check_aliases, check_depth, line_col, top_key_before


def refusal(check, *args) -> tuple[str, int | None, int | None]:
    with pytest.raises(FlowctlError) as info:
        check(*args)
    [d] = info.value.diagnostics
    assert d.file == "f.yaml"
    return d.message, d.line, d.column


@pytest.mark.parametrize("text, offset, expected", [
    ("", 0, (1, 1)),
    ("abc", 2, (1, 3)),
    ("ab\ncd", 3, (2, 1)),
    ("ab\ncd", 4, (2, 2)),
    ("a\n\n\nb", 4, (4, 1)),
    ("ab\r\ncd", 5, (2, 2)),
    ("ab\rcd", 4, (2, 2)),  # a CR alone ends a line too
    ("a\r\rb", 3, (3, 1)),
    ("a\r\n\rb\nc", 6, (4, 1)),  # mixed: CRLF counts once
])
def test_line_col_is_one_based(text, offset, expected):
    assert line_col(text, offset) == expected


@pytest.mark.parametrize("text, expected", [
    ("", ""),
    ("[1, 2", ""),
    ("a: 1\nbb-c: [\n", " under 'bb-c'"),
    ("a: 1\n  nested: [\n", " under 'a'"),  # an indented key is not a top-level one
    ("$ref: 1\nx", " under '$ref'"),
    ("a: 1\nb: 2\n", " under 'b'"),  # the last before the offset
])
def test_top_key_before(text, expected):
    assert top_key_before(text, len(text)) == expected


@pytest.mark.parametrize("text", [
    "",
    "a: 1\n",
    "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH,  # as deep as allowed
    "a: " + "[]" * 1000,  # many brackets, none deep
    "a: " + "{" * MAX_DEPTH + "}" * MAX_DEPTH,
    "k:\n" + " " * (MAX_DEPTH * 2 + 1) + "x: 1\n",  # deep indentation in a short file: YAML copes
    "k:\n" + " " * (MAX_DEPTH * 2) + "x: 1\n" + "y" * 10_000,
])
def test_depth_within_the_limit_passes(text):
    check_depth(text, "f.yaml")


@pytest.mark.parametrize("text, line, column, under", [
    ("a: " + "[" * (MAX_DEPTH + 1), 1, MAX_DEPTH + 4, " under 'a'"),
    ("x: 1\nb:\n  c: " + "{" * (MAX_DEPTH + 1), 3, MAX_DEPTH + 6, " under 'b'"),
    ("[{" * (MAX_DEPTH // 2) + "[", 1, MAX_DEPTH + 1, ""),  # mixed brackets, no key
])
def test_brackets_nested_too_deep_are_refused_where_the_limit_is_passed(text, line, column, under):
    assert refusal(check_depth, text, "f.yaml") == (
        f"nesting too deep (more than {MAX_DEPTH} levels){under}", line, column)


def test_indentation_too_deep_in_a_long_file_is_refused():
    text = "k:\n" + " " * (MAX_DEPTH * 2 + 1) + "x: 1\n" + "y" * 10_000
    assert refusal(check_depth, text, "f.yaml") == (
        f"nesting too deep (indented {MAX_DEPTH * 2 + 1} columns) under 'k'", 2, 1)


def test_block_sequence_dashes_count_as_indentation():
    text = "k:\n" + "- " * (MAX_DEPTH + 1) + "x\n" + "y" * 10_000
    message, line, _ = refusal(check_depth, text, "f.yaml")
    assert message.startswith("nesting too deep (indented") and line == 2


@pytest.mark.parametrize("text", [
    "a: 1\n",
    "a: &x [1, 2]\nb: [*x, *x]\n",
    "a: &x {k: 1}\nb: *x\nc: *x\n",
    "a: &x 5\nb: [*x, *x, *x]\n",  # scalar aliases cost one value each
])
def test_a_few_aliases_pass(text):
    check_aliases(yaml.compose(text), "f.yaml")


def laughs(levels: int, width: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_aliases_expanding_up_to_the_limit_pass():
    check_aliases(yaml.compose(laughs(5)), "f.yaml")  # about 10**5 values


@pytest.mark.parametrize("levels", [7, 9])  # 10**7, 10**9 values once expanded
def test_aliases_expanding_past_the_limit_are_refused_at_the_collection(levels):
    message, line, column = refusal(check_aliases, yaml.compose(laughs(levels)), "f.yaml")
    assert message == f"too many YAML alias expansions: the document would grow past {MAX_EXPANDED:,} values"
    assert (line, column) == (6, 5)  # at a5 (10**6 values and their lists), from its anchor


@pytest.mark.parametrize("text, line, column", [
    ("a: &a [*a]\n", 1, 4),
    ("a: &a {k: [1, *a]}\n", 1, 11),
])
def test_an_alias_inside_its_own_anchor_is_refused(text, line, column):
    node = yaml.compose(text)
    assert refusal(check_aliases, node, "f.yaml") == (
        "an alias refers to a collection that contains it (an alias cycle)", line, column)


def test_depth_of_the_node_walk_has_no_recursion_limit():
    node = yaml.compose("a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH)
    check_aliases(node, "f.yaml")  # walked with a stack, not Python recursion
