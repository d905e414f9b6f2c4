"""engine/markdown.py: values that stay text in GitHub-flavoured Markdown, tables, and
the figures' shared formatting."""
from __future__ import annotations

from hypothesis import given, strategies as st

from flowctl.markdown import MAX_ROWS, capped, change, escape, money, table


def test_tables_align_numbers_right():
    assert table(("a", "b"), [(1, 2)], right=(1,)) == "| a | b |\n|---|--:|\n| 1 | 2 |"


def test_escape_joins_lines_drops_controls_and_neutralises_markup():
    assert escape("a\nb  c") == "a b c" and escape(None) == "" and escape("x\x07y") == "x y"
    assert escape("|*_[]`\\") == "\\|*_\\[\\]\\`\\\\"
    assert escape("<img src=x>") == "&lt;img src=x&gt;"


@given(st.text())
def test_an_escaped_value_never_breaks_a_table_row(value):
    cell = escape(value)
    assert "\n" not in cell and "<" not in cell and ">" not in cell
    assert all(ch not in cell for ch in "\x00\x1b\x07\x9b")
    # Every pipe is escaped: the row keeps its two cells.
    assert cell.count("|") == cell.count("\\|")


def test_long_lists_are_cut_and_counted():
    rows = [(str(i),) for i in range(MAX_ROWS + 5)]
    kept, more = capped(rows, "moves")
    assert len(kept) == MAX_ROWS and more.strip() == "… and 5 more moves."
    assert capped(rows[:3], "moves") == (rows[:3], "")


def test_money_and_change():
    assert money(1234.5, "EUR") == "1,234 EUR" or money(1234.5, "EUR") == "1,235 EUR"
    assert change(None, 5) == "" and change(5, 5.001) == "±0"
    assert change(100, 350, "EUR") == "+250 EUR" and change(350, 100) == "−250"
