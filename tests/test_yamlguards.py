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


N = MAX_DEPTH


@pytest.mark.parametrize("text", [
    "",
    "a: " + "[" * (N - 1) + "]" * (N - 1),  # as deep as allowed: the top mapping is a level too
    "[" * N + "]" * N,
    "a: " + "[]" * 1000,  # many brackets, none deep
    "a: " + "{" * (N - 1) + "}" * (N - 1),
    "k:\n" + " " * (N * 2 + 1) + "x: 1\n",  # deep indentation in a short file: YAML copes
    "k:\n" + " " * (N * 2 + 1) + "x: 1\n" + "y: " + "z" * 10_000,  # indented, yet two levels
    # brackets that are text, not nesting: quoted, in a comment, in block text, escaped
    'notes: "' + "[" * 5000 + '"\n',
    "notes: '" + "{[" * 5000 + "'\n",
    "a: 1  # " + "{" * 5000 + "\n",
    "# " + "[" * 5000 + "\nid: A\n",
    "notes: |\n  " + "[" * 5000 + "\n" + " " * 500 + "deeply indented text\n",
    "notes: >\n" + "".join(" " * 450 + "[{\n" for _ in range(300)),
    "plain: a" + "[" * 0 + " b" + " {x}" * 300 + "\n",
])
def test_depth_within_the_limit_passes(text):
    check_depth(text, "f.yaml")


@pytest.mark.parametrize("text, line, column, under", [
    ("a: " + "[" * N, 1, N + 3, " under 'a'"),  # the top mapping, then the N-th bracket
    ("x: 1\nb:\n  c: " + "{" * N, 3, N + 4, " under 'b'"),  # two block levels, then the 199th bracket
    ("[{" * (N // 2) + "[", 1, N + 1, ""),  # mixed brackets, no key
    ("id: A\nx: " + "[" * 20_000 + "]" * 20_000 + "\n", 2, N + 3, " under 'x'"),
    ('notes: "' + "[" * 300 + '"\nx: ' + "[" * N, 2, N + 3, " under 'x'"),  # text brackets do not count
])
def test_brackets_nested_too_deep_are_refused_where_the_limit_is_passed(text, line, column, under):
    assert refusal(check_depth, text, "f.yaml") == (
        f"nesting too deep (more than {MAX_DEPTH} levels){under}", line, column)


@pytest.mark.parametrize("indent", [1, 2, 4])
def test_block_nesting_too_deep_is_refused(indent):
    rows = ["k:"] + [" " * (indent * level) + f"k{level}:" for level in range(1, N + 1)]
    message, line, _ = refusal(check_depth, "\n".join(rows) + " 1\n", "f.yaml")
    assert message.startswith("nesting too deep (more than") and line == N + 1


def test_block_sequence_dashes_are_nesting():
    message, line, _ = refusal(check_depth, "k:\n" + "- " * N + "x\n", "f.yaml")
    assert message.startswith("nesting too deep (more than") and line == 2


def test_a_file_that_does_not_parse_is_left_to_the_parser():
    check_depth("a: [" + '"' + "[" * 500 + "\n  b: : :\n", "f.yaml")  # the loader reports its mistake


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
