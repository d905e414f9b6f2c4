"""Reading and parsing one file (engine/yamlio.py).

Only a regular UTF-8 text file of bounded size is read; anything else is a message naming
the file (and the place of a bad byte), never a hang or a traceback.

Deal files are built from libyaml's nodes by a short path of our own (yamlio._build)
instead of PyYAML's constructor. It must mean exactly what the constructor means: the
same values, of the same types, and the same errors at the same places."""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from flowctl import yamlio
from flowctl.diagnostics import FlowctlError


def outcome(text: str) -> tuple:
    """What a user gets from a file: its value (with every type spelled out), or the
    error's message and position."""
    try:
        return ("value", typed(yamlio.parse(text, "deal.yaml")))
    except FlowctlError as exc:
        return ("error", [(d.message, d.line, d.column) for d in exc.diagnostics])


def typed(value: Any) -> Any:
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    return (type(value).__name__, value)


def both_ways(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple, tuple]:
    fast = outcome(text)
    with monkeypatch.context() as m:
        def whole_constructor(loader: Any, node: Any) -> Any:
            raise yamlio._Unusual
        m.setattr(yamlio, "_build", whole_constructor)
        slow = outcome(text)
    return fast, slow


CASES = {
    "a deal": "id: D-1\nname: Acme\namount: 12000\nroi: 1.5\nwon: false\nnote: ~\ncreated: 2026-01-05\n"
              "jobs:\n  verify-prospect: {at: '2026-01-07', by: ana}\n  meet-producers: 2026-01-09\n"
              "activities:\n- {at: 2026-01-08, kind: call}\n",
    "YAML 1.1 scalars": "a: yes\nb: No\nc: 0o17\nd: 012\ne: 0x1F\nf: 1_000\ng: 1:20\nh: .inf\ni: -.Inf\nj: .nan\n"
                        "k: 1e3\nl: 1.0e3\nm: +12\nn: ''\no: '12'\np: \"true\"\nq: null\nr: Null\n",
    "a plain on: key means on": "on:\n  stage_entered: [a]\n'off': 1\nyes: 2\n",
    "numbers and null as keys": "1: one\n2.5: two and a half\n~: nothing\ntrue: yes\n",
    "explicit tags": "a: !!str 12\nb: !!int '12'\nc: !!float '1'\nd: !!binary aGVsbG8=\ne: !!set {x, y}\n"
                     "f: !!omap [{a: 1}, {b: 2}]\ng: !!timestamp 2026-01-01\n",
    "an unknown tag": "a: !custom thing\n",
    "the value tag": "a: =\n",
    "a merge key": "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n",
    "an inline merge": "d:\n  <<: {x: 1}\n  y: 2\n",
    "a duplicate key": "id: 1\nname: a\nid: 2\n",
    "a duplicate key nested": "jobs:\n  a: 1\n  b: 2\n  a: 3\n",
    "1 and true are the same key": "1: a\ntrue: b\n",
    "a list as a key": "? [a, b]\n: c\n",
    "a mapping as a key": "? {a: 1}\n: c\n",
    "an alias": "a: &x [1, 2]\nb: *x\n",
    "a top-level list": "- 1\n- two\n- {three: 3}\n",
    "a top-level scalar": "just text\n",
    "an empty document": "",
    "only a comment": "# nothing\n",
    "a syntax error": "a: [1, 2\nb: 3\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "a date that is not one": "created: 2026-02-30\n",
    "quoted and block strings": "a: 'it''s'\nb: \"tab\\tnew\\nline\"\nc: |\n  two\n  lines\nd: >\n  folded\n  text\n",
    "unicode": "name: Müller & Söhne — 株式会社\n",
}


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_the_short_path_means_what_the_constructor_means(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = both_ways(text, monkeypatch)
    assert fast == slow


def test_a_duplicate_key_is_still_reported_where_it_is() -> None:
    assert outcome(CASES["a duplicate key nested"]) == (
        "error", [("duplicate key 'a' (first defined on line 2)", 4, 3)])


def test_a_plain_on_key_is_the_word_on() -> None:
    assert yamlio.parse("on:\n  x: 1\n", "w.yaml") == {"on": {"x": 1}}


# Values a deal file may hold, written out by PyYAML in both of its styles.
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, width=64), st.text(max_size=12),
    st.sampled_from(["yes", "no", "on", "off", "~", "null", "1:20", "0o17", "012", "2026-01-05", "=", "<<", "1e3",
                     ".inf", "-", "'", "#", "a: b", "[x]"]),
)
_keys = st.one_of(st.text(max_size=8), st.integers(-5, 5), st.sampled_from(["on", "yes", "null", "1.5", "<<"]))
_documents = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(_keys, inner, max_size=4)), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(document=_documents, flow=st.booleans())
def test_any_document_means_the_same_both_ways(document: Any, flow: bool) -> None:
    text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow = both_ways(text, monkeypatch)
    assert fast == slow


# --------------------------------------------------------------------------- reading a file


def refusal(path: Any, limit: int = yamlio.MAX_FILE_BYTES) -> tuple:
    with pytest.raises(FlowctlError) as info:
        yamlio.read_text(path, limit)
    [d] = info.value.diagnostics
    assert d.file == str(path)
    return d.message, d.line, d.column


def test_what_is_not_a_regular_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)  # reading it would wait for a writer for ever
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s.yaml"))
        for path in (fifo, Path("/dev/zero"), Path("/dev/null"), tmp_path / "s.yaml"):
            assert refusal(path)[0] == "not a regular file (a device, pipe or socket)", path
    assert refusal(tmp_path)[0] == "is a folder, not a file"
    assert refusal(tmp_path / "missing.yaml")[0] == "no such file"
    assert refusal(tmp_path / "missing" / "deal.yaml")[0] == "no such file"


def test_an_unreadable_file_says_why(tmp_path: Path) -> None:
    path = tmp_path / "deal.yaml"
    path.write_text("id: A\n")
    assert refusal(path / "below")[0].startswith("cannot read: ")  # a file used as a folder
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: every file is readable")
        assert refusal(path)[0].startswith("cannot read: ")
    finally:
        path.chmod(0o644)


@pytest.mark.parametrize("size, limit", [(11, 10), (1001, 1000), (2, 1)])
def test_a_file_over_the_limit_is_refused_with_its_size(tmp_path: Path, size: int, limit: int) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("#" * size)
    message = refusal(path, limit)[0]
    assert message.startswith("too large for a deal or workflow file") and f"the limit is {limit:,}" in message
    path.write_text("#" * limit)
    assert yamlio.read_text(path, limit) == "#" * limit


@settings(max_examples=100, deadline=None)
@given(before=st.lists(st.sampled_from(["a", "é", "\n", ": ", "日"]), max_size=30).map("".join),
       bad=st.sampled_from([b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]),
       after=st.text(max_size=5))
def test_a_byte_that_is_not_utf8_is_placed_by_line_and_column(tmp_path_factory: Any, before: str, bad: bytes,
                                                               after: str) -> None:
    path = tmp_path_factory.mktemp("bytes") / "deal.yaml"
    path.write_bytes(before.encode() + bad + after.encode())
    message, line, column = refusal(path)
    rows = before.split("\n")
    assert message.startswith(f"not UTF-8 text (byte 0x{bad[0]:02x} at offset {len(before.encode())})")
    assert (line, column) == (len(rows), len(rows[-1].encode()) + 1)


@pytest.mark.parametrize("data", [b"\x00", b"id: A\x00\n", b"\x7fELF\x02\x01\x01\x00\x00"])
def test_a_binary_file_is_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "deal.yaml"
    path.write_bytes(data)
    assert refusal(path)[0] == "binary file (it contains NUL bytes), not YAML or JSON"


def test_a_byte_order_mark_is_not_part_of_the_text(tmp_path: Path) -> None:
    path = tmp_path / "deal.yaml"
    path.write_bytes("\ufeffid: A\n".encode())
    assert yamlio.read_text(path) == "id: A\n"
    assert yamlio.load(path) == {"id": "A"}


@pytest.mark.parametrize("nl", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("name, lines, message, line", [
    ("deal.yaml", ["id: A", "x: \x07"], "YAML syntax error: unacceptable character", 2),
    ("deal.yaml", ["id: A", "x: [1,"], "YAML syntax error", 3),
    ("deal.json", ["{", '"id": "A",', "}"], "invalid JSON", 3),
])
def test_a_syntax_error_is_on_its_line_whatever_ends_the_lines(nl: str, name: str, lines: list[str], message: str,
                                                                line: int) -> None:
    with pytest.raises(FlowctlError) as info:
        yamlio.parse(nl.join(lines) + nl, name)
    [d] = info.value.diagnostics
    assert d.message.startswith(message) and d.line == line
