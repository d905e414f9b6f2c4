"""The one YAML loader (engine/yaml_loader.py): what a document means to flowctl. Keys are
text, a repeated key is refused where it is repeated, ids and dates stay as written, and a
value whose meaning depends on YAML 1.1 is noted where it is."""
from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from flowctl.yaml_loader import DuplicateKeyError, KeyTypeError, Loader


def load(text: str) -> Any:
    return yaml.load(text, Loader=Loader)


def surprises(text: str) -> list[tuple[int, int, str]]:
    loader = Loader(text)
    try:
        loader.get_single_data()
        return loader.surprises
    finally:
        loader.dispose()


@pytest.mark.parametrize("key, read_as", [
    ("~", "null"), ("null", "null"), ("1", "a number"), ("-7", "a number"), ("1.5", "a number"), (".inf", "a number"),
    ("0x1F", "a number"), ("1_000", "a number"), ("1:30", "a number"),
])
def test_a_key_that_is_not_text_is_refused_where_it_is(key: str, read_as: str) -> None:
    for text, line in ((f"{key}: x\n", 1), (f"a:\n  b: 1\n  {key}: x\n", 3), (f"- {{{key}: x}}\n", 1)):
        with pytest.raises(KeyTypeError) as info:
            load(text)
        assert info.value.problem == f"a key must be text: `{key}` is read as {read_as}; quote it"
        assert info.value.problem_mark is not None and info.value.problem_mark.line + 1 == line


@given(st.sampled_from(["on", "off", "yes", "no", "y", "n", "true", "False", "ON", "Yes"]))
def test_a_plain_boolean_key_is_its_word(word: str) -> None:
    assert load(f"{word}: 1\n") == {word: 1}


@pytest.mark.parametrize("key", ["'1'", '"null"', "'on'", "2026-01-02", "a b", "'~'"])
def test_a_quoted_key_or_a_date_is_text(key: str) -> None:
    assert list(load(f"{key}: 1\n")) == [yaml.safe_load(key) if key[0] in "'\"" else key]


@pytest.mark.parametrize("text, line", [
    ("a: 1\na: 2\n", 2), ("a: 1\nb: 2\n'a': 3\n", 3), ("x:\n  a: 1\n  a: 2\n", 3), ("{a: 1, a: 2}\n", 1),
    ("base: &b {a: 1}\nx:\n  <<: *b\n  c: 1\n  c: 2\n", 5),
])
def test_a_repeated_key_is_refused_where_it_is_repeated(text: str, line: int) -> None:
    with pytest.raises(DuplicateKeyError) as info:
        load(text)
    assert info.value.problem_mark is not None and info.value.problem_mark.line + 1 == line
    assert "(first defined on line " in str(info.value.problem)


def test_a_merged_key_may_be_overridden() -> None:
    assert load("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  a: 3\n")["x"] == {"a": 3, "b": 2}


@pytest.mark.parametrize("written", ["010", "1.50", "0x1F", "1:30", "1e3", "true", "no", "12_000", "007"])
def test_an_id_is_the_text_as_written(written: str) -> None:
    assert load(f"id: {written}\nother: {written}\n")["id"] == written


@pytest.mark.parametrize("text, value", [("id: ~\n", None), ("id: 'x'\n", "x"), ("id: [1]\n", [1])])
def test_an_id_that_is_no_plain_scalar_is_what_yaml_says(text: str, value: Any) -> None:
    assert load(text)["id"] == value


@pytest.mark.parametrize("written", ["2026-01-02", "2026-1-2", "2026-01-02 10:00:00", "2026-01-02T10:00:00Z",
                                     "2026-01-02t10:00:00.5+02:00"])
def test_dates_stay_as_written(written: str) -> None:
    assert load(f"created: {written}\n") == {"created": written}


@pytest.mark.parametrize("value, line, column", [
    ("yes", 2, 5), ("Off", 2, 5), ("1:30:00", 2, 5), ("017", 2, 5), ("0b101", 2, 5), ("1_000", 2, 5),
])
def test_a_yaml11_only_value_is_noted_where_it_is(value: str, line: int, column: int) -> None:
    noted = surprises(f"id: A\nok: {value}\n")
    assert [(n[0], n[1]) for n in noted] == [(line, column)] and f"`{value}`" in noted[0][2]
    assert surprises(f"id: A\nok: '{value}'\n") == []  # quoted: meant as text


@pytest.mark.parametrize("value", ["true", "false", "10", "-1.5", "0x1F", "0o17", "1e3", "text"])
def test_a_value_that_means_the_same_in_yaml_12_is_not_noted(value: str) -> None:
    assert surprises(f"ok: {value}\n") == []
