"""engine/filenames.py: file names made from deal ids are readable, distinct and contained."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowctl.filenames import MAX_READABLE, safe_file_name

IDS = ["A/B", "A_B", "A:B", "../../x", "A B", "A\\B", ".A_B", "A_B.", "a/b", "A~B", "", ".", "..", "x" * 400]


def _contained(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".") \
        and name not in (".", "..") and "\0" not in name


def test_artifact_names_are_distinct_readable_and_contained():
    names = [safe_file_name(i) for i in IDS]
    assert len(set(names)) == len(IDS)
    assert all(_contained(n) and len(n) < 120 for n in names)
    assert safe_file_name("ACME-2026-001") == "ACME-2026-001" and safe_file_name("A/B").startswith("A_B~")


@pytest.mark.parametrize("deal_id", ["ACME-2026-001", "a", "A.B", "a_b-c.d", "0", "x" * MAX_READABLE])
def test_safe_ids_are_kept(deal_id):
    assert safe_file_name(deal_id) == deal_id


@pytest.mark.parametrize("deal_id,readable", [
    ("A/B", "A_B"), ("A:B", "A_B"), ("../../x", "x"), ("A  B", "A_B"), (".hidden", "hidden"), ("x.", "x"),
    ("A~B", "A_B"), ("", "x"), (".", "x"), ("..", "x"), ("é", "x"), ("x" * (MAX_READABLE + 1), "x" * MAX_READABLE),
])
def test_unsafe_ids_get_a_readable_part_and_a_digest(deal_id, readable):
    name = safe_file_name(deal_id)
    head, _, digest = name.partition("~")
    assert head == readable
    assert len(digest) == 12 and all(c in "0123456789abcdef" for c in digest)


def test_the_name_is_stable():
    assert safe_file_name("A/B") == safe_file_name("A/B")


def test_lone_surrogates_do_not_raise():
    assert _contained(safe_file_name("a\udcff"))


@given(st.lists(st.text(max_size=30), min_size=2, max_size=8, unique=True))
def test_distinct_ids_never_share_a_name(ids):
    names = [safe_file_name(i) for i in ids]
    assert len(set(names)) == len(ids)
    assert all(_contained(n) for n in names)
