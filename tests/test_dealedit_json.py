"""Tests for flowctl.dealedit_json: the JSON edit inserts the new member in the file's own
layout and says where a file it cannot edit is wrong."""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from flowctl import dealedit_json
from flowctl.dealedit import AlreadyRecorded, DealEditError, record_job_done
from deal_edits import D, JOB, TEXT, done, get, put


# ---------------------------------------------------------------------------------
# JSON


def test_json_insert_member_matching_indent(tmp_path):
    old = json.dumps({"id": "A", "jobs": {"verify": "2026-10-03"}, "roi": 1.4}, indent=2) + "\n"
    new = done(tmp_path, old, name="deal.json")
    assert new == old.replace('"2026-10-03"', '"2026-10-03",\n    "send-offer": "2026-11-23"')


def test_json_insert_member_with_details(tmp_path):
    old = json.dumps({"id": "A", "jobs": {"verify": "2026-10-03"}}, indent=4)
    new = done(tmp_path, old, name="deal.json", by="alice", note='a "quote"')
    assert new == old.replace(
        '"2026-10-03"',
        '"2026-10-03",\n        "send-offer": {\n            "at": "2026-11-23",\n'
        '            "by": "alice",\n            "note": "a \\"quote\\""\n        }',
    )
    assert json.loads(new)["jobs"]["send-offer"] == {"at": "2026-11-23", "by": "alice", "note": 'a "quote"'}


def test_json_create_member(tmp_path):
    old = '{\n  "id": "A",\n  "amount": 1\n}\n'
    new = done(tmp_path, old, name="deal.json")
    assert new == '{\n  "id": "A",\n  "amount": 1,\n  "jobs": {\n    "send-offer": "2026-11-23"\n  }\n}\n'


def test_json_compact(tmp_path):
    old = '{"id": "A", "jobs": {"a": true}}'
    assert done(tmp_path, old, name="deal.json") == '{"id": "A", "jobs": {"a": true, "send-offer": "2026-11-23"}}'
    old = '{"id": "A"}'
    assert done(tmp_path, old, name="deal.json") == '{"id": "A", "jobs": {"send-offer": "2026-11-23"}}'


@pytest.mark.parametrize("empty", ["{}", "null", "{ }"])
def test_json_empty_or_null_section(tmp_path, empty):
    old = '{\r\n  "id": "A",\r\n  "jobs": ' + empty + ',\r\n  "roi": 2\r\n}'
    new = done(tmp_path, old, name="deal.json")
    assert new == old.replace(empty, '{\r\n    "send-offer": "2026-11-23"\r\n  }')


def test_json_deals_list_and_tabs(tmp_path):
    old = '{\n\t"deals": [\n\t\t{\n\t\t\t"id": "A"\n\t\t},\n\t\t{\n\t\t\t"id": "B",\n\t\t\t"jobs": {\n\t\t\t\t"x": "2026-10-01"\n\t\t\t}\n\t\t}\n\t]\n}\n'
    new = done(tmp_path, old, name="DEALS.JSON", deal="A")
    assert new == old.replace('"A"\n', '"A",\n\t\t\t"jobs": {\n\t\t\t\t"send-offer": "2026-11-23"\n\t\t\t}\n')
    new = done(tmp_path, old, name="deals.json", deal="B")
    assert new == old.replace('"2026-10-01"\n', '"2026-10-01",\n\t\t\t\t"send-offer": "2026-11-23"\n')


def test_json_key_needing_escapes(tmp_path):
    old = '{"id": "A", "jobs": {}}\n'
    new = done(tmp_path, old, name="deal.json", job='a "b"\\c')
    assert new == '{"id": "A", "jobs": {"a \\"b\\"\\\\c": "2026-11-23"}}\n'


def test_json_errors(tmp_path):
    with pytest.raises(DealEditError, match=r"deal\.json:1:12: "):
        record_job_done(put(tmp_path, '{"id": "A",, }', "deal.json"), "A", "x", at=D)
    with pytest.raises(DealEditError, match=r"deal\.json:3:11: `jobs` of deal A must be an object"):
        record_job_done(put(tmp_path, '{\n  "id": "A",\n  "jobs": ["x"]\n}', "deal.json"), "A", "x", at=D)
    path = put(tmp_path, '{"id": "A", "jobs": {"x": "2026-10-01"}}', "deal.json")
    assert record_job_done(path, "A", "x", at=D) is False


# ---------------------------------------------------------------------------------
# more corners


JSON_DEAL = st.fixed_dictionaries(
    {"name": TEXT, "amount": st.integers(0, 10**6)},
    optional={"jobs": st.dictionaries(JOB, st.sampled_from(["2026-10-01", True]), max_size=3)},
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    deals=st.lists(JSON_DEAL, min_size=1, max_size=3),
    target=st.integers(0, 2),
    wrapped=st.booleans(),
    indent=st.sampled_from([None, 2, 4, "\t"]),
    nl=st.sampled_from(["\n", "\r\n"]),
    final_newline=st.booleans(),
    job=JOB,
    by=st.one_of(st.none(), TEXT),
)
def test_property_json(deals, target, wrapped, indent, nl, final_newline, job, by):
    target %= len(deals)
    deals = [{"id": f"D{i}", **d} for i, d in enumerate(deals)]
    assume(job not in deals[target].get("jobs", {}))
    doc = {"deals": deals} if wrapped or len(deals) > 1 else deals[0]
    text = json.dumps(doc, indent=indent, ensure_ascii=False).replace("\n", nl) + (nl if final_newline else "")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deal.json"
        path.write_bytes(text.encode("utf-8"))
        assert record_job_done(path, f"D{target}", job, at=D, by=by) is True
        new = path.read_bytes().decode("utf-8")
        assert os.listdir(tmp) == ["deal.json"]
    expected = copy.deepcopy(doc)
    deal = expected["deals"][target] if "deals" in expected else expected
    deal.setdefault("jobs", {})[job] = "2026-11-23" if by is None else {"at": "2026-11-23", "by": by}
    assert json.loads(new) == expected
    # the edit is one contiguous insertion (or, for an empty `{}`, a replacement of it)
    # and, pretty-printed files stay exactly as json.dumps would have written them
    if indent is not None:
        assert new == json.dumps(expected, indent=indent, ensure_ascii=False).replace("\n", nl) + (
            nl if final_newline else ""
        )
    if deals[target].get("jobs", None) != {}:
        p = len(os.path.commonprefix([text, new]))
        assert new[p + len(new) - len(text):] == text[p:]


# ---------------------------------------------------------------------------------
# the module's functions, directly


@pytest.mark.parametrize("text, deal, loc", [
    ('{"id": "A"}', "A", ()),
    ('{"id": 7}', "7", ()),
    ('{"deals": 3, "id": "A"}', "A", ()),  # a deal with an `id` is the deal, whatever `deals` holds
    ('{"deals": [{"id": "B"}, {"id": "A"}]}', "A", ("deals", 1)),
    ('{"deals": [3, {"id": "A"}]}', "A", ("deals", 1)),  # non-objects are skipped, positions kept
    ('[3, {"id": "A"}]', "A", (1,)),
])
def test_edit_json_locates_the_deal_in_every_layout(text, deal, loc):
    new, where = dealedit_json._edit_json(text, deal, "jobs", "x", 1, "d.json")
    assert where == loc
    doc = json.loads(new)
    for step in loc:
        doc = doc[step]
    assert doc["jobs"] == {"x": 1}


@pytest.mark.parametrize("text", [
    "42", '"A"', "[]", "[1, 2]", "NaN", '{"deals": []}', '{"deals": [{"id": "B"}]}', '{"name": "x"}',
    '{"id": "A", "id": "B"}',  # the last of repeated keys counts, as json.loads says
])
def test_edit_json_without_the_deal_says_so(text):
    with pytest.raises(DealEditError) as info:
        dealedit_json._edit_json(text, "A", "jobs", "x", 1, "d.json")
    assert str(info.value) == "deal A not found in d.json"


@pytest.mark.parametrize("text, message", [
    ("", "d.json:1:1: Expecting value"),
    ("   ", "d.json:1:4: Expecting value"),
    ('{"id": "A"} x', "d.json:1:13: Extra data"),
    ("[" * 100_000 + "]" * 100_000, "d.json: the document nests too deeply"),
    ('{"deals": [{"id": "A"},\n {"id": "A"}]}', "deal A appears 2 times in d.json (lines 1, 2)"),
    ('{"id": "A", "jobs": 3}', "d.json:1:21: `jobs` of deal A must be an object, found the value 3"),
    ('{"id": "A", "jobs": "x"}', "d.json:1:21: `jobs` of deal A must be an object, found the text 'x'"),
])
def test_edit_json_bad_input_says_where(text, message):
    with pytest.raises(DealEditError) as info:
        dealedit_json._edit_json(text, "A", "jobs", "x", 1, "d.json")
    assert str(info.value) == message


def test_a_syntax_error_says_its_line_and_column():
    with pytest.raises(DealEditError) as info:
        dealedit_json._edit_json('{\n  "id": "A",\n}', "A", "jobs", "x", 1, "d.json")
    assert str(info.value).startswith("d.json:3:1: ")  # then json's words, which vary by Python version


@pytest.mark.parametrize("nl", ["\n", "\r\n", "\r"])
def test_positions_count_every_kind_of_line_break(nl):
    with pytest.raises(DealEditError, match=r"^d\.json:3:11: `jobs` of deal A must be an object"):
        dealedit_json._edit_json(nl.join(["{", '  "id": "A",', '  "jobs": [1]', "}"]), "A", "jobs", "x", 1, "d.json")
    with pytest.raises(DealEditError, match=r"^d\.json:3:1: "):
        dealedit_json._edit_json(nl.join(["{", '  "id": "A",', "}"]), "A", "jobs", "x", 1, "d.json")


@pytest.mark.parametrize("existing", ["null", "false"])
def test_a_listed_job_not_yet_done_gets_the_value(existing):
    text = '{"id": "A", "jobs": {"x": ' + existing + "}}"
    assert dealedit_json._edit_json(text, "A", "jobs", "x", 1, "d.json")[0] == '{"id": "A", "jobs": {"x": 1}}'


@pytest.mark.parametrize("existing", ["1", "true", '"2026-01-01"', "{}", "0"])
def test_a_job_done_already_is_reported_with_its_value(existing):
    text = '{"id": "A", "jobs": {"x": ' + existing + "}}"
    with pytest.raises(AlreadyRecorded) as info:
        dealedit_json._edit_json(text, "A", "jobs", "x", 1, "d.json")
    assert str(info.value) == "d.json:1:22: x is already recorded for deal A"
    assert info.value.existing == json.loads(existing)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=100, deadline=None, database=None)
@given(value=JSON_VALUES, indent=st.sampled_from([None, 0, 2, "\t"]), pad=st.sampled_from(["", " \n\t"]))
def test_jparse_spans_cover_each_value(value, indent, pad):
    text = pad + json.dumps(value, indent=indent) + pad
    node = dealedit_json._jparse(text, 0)

    def check(node, value):
        assert json.loads(text[node.start:node.end]) == value
        if isinstance(value, dict):
            assert [m[0] for m in node.members] == list(value)
            for key, key_start, key_end, child in node.members:
                assert json.loads(text[key_start:key_end]) == key
                check(child, value[key])
        elif isinstance(value, list):
            assert len(node.items) == len(value)
            for child, item in zip(node.items, value):
                check(child, item)

    check(node, value)


@pytest.mark.parametrize("value, base, rendered", [
    ({"a": 1}, None, '{"a": 1}'),
    ({"a": 1}, "  ", '{\n    "a": 1\n  }'),
    ({}, "  ", "{}"),  # empty: on one line
    ([1], "\t", "[\n\t\t1\n\t]"),
    ("ü", "  ", '"ü"'),  # written as is, not escaped
    (D, None, '"2026-11-23"'),
])
def test_json_render(value, base, rendered):
    assert dealedit_json._json_render(value, base, "  " if base != "\t" else "\t", "\n") == rendered


def test_json_render_refuses_what_json_cannot_write():
    with pytest.raises(DealEditError, match="cannot write object to a JSON deal file"):
        dealedit_json._json_render(object(), None, "  ", "\n")


@pytest.mark.parametrize("text, pos, expected", [
    ("abc", 0, ("", True)),
    ("  abc", 2, ("  ", True)),
    ("\t\tabc", 2, ("\t\t", True)),
    ("  a bc", 4, ("  ", False)),  # not the first on its line
    ("x\n    y", 6, ("    ", True)),
    ("x\r    y", 6, ("    ", True)),
])
def test_line_indent(text, pos, expected):
    assert dealedit_json._line_indent(text, pos) == expected
