"""Tests for flowctl.dealedit_yaml: the surgical YAML edit keeps every byte it does not
add (comments, quoting, indentation, line ends) and says where a file it cannot edit is wrong."""

from __future__ import annotations

import copy
import json
import os
import re
import string
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from flowctl import dealedit_yaml
from flowctl.dealedit import DealEditError, record_job_done
from deal_edits import D, JOB, TEXT, done, get, put
from deal_edits import each_loader  # noqa: F401  (the fixture pytestmark names)

pytestmark = pytest.mark.usefixtures("each_loader")  # every test with both YAML loaders


# ---------------------------------------------------------------------------------
# section present, block style


def test_block_section_simple(tmp_path):
    old = "id: A\njobs:\n  verify: 2026-10-03\n  meet: 2026-10-05\nroi: 1.4\n"
    new = done(tmp_path, old)
    assert new == old.replace("  meet: 2026-10-05\n", "  meet: 2026-10-05\n  send-offer: 2026-11-23\n")


def test_block_section_with_by_and_note(tmp_path):
    old = "id: A\njobs:\n  verify: 2026-10-03\n"
    new = done(tmp_path, old, by="alice", note="called twice")
    assert new == old + "  send-offer: {at: 2026-11-23, by: alice, note: called twice}\n"


def test_block_section_keeps_indentation_of_siblings(tmp_path):
    old = "id: A\njobs:\n    verify: 2026-10-03   # four spaces here\nowner: bob\n"
    new = done(tmp_path, old)
    assert new == old.replace("here\n", "here\n    send-offer: 2026-11-23\n")


def test_block_section_last_entry_nested_mapping_and_comments(tmp_path):
    old = (
        "id: A  # the deal\n"
        "jobs:\n"
        "  verify: 2026-10-03\n"
        "  meet:\n"
        "    at: 2026-10-05\n"
        "    by: alice   # she went alone\n"
        "    # more about the meeting\n"
        "\n"
        "# approvals come next\n"
        "approvals: {}\n"
    )
    new = done(tmp_path, old)
    assert new == old.replace("alone\n", "alone\n  send-offer: 2026-11-23\n")


def test_block_section_last_entry_block_scalar(tmp_path):
    old = "id: A\njobs:\n  meet:\n    at: 2026-10-05\n    note: |\n      long\n      text\n\n  # c\nroi: 1\n"
    new = done(tmp_path, old)
    assert new == old.replace("\n\n  # c\n", "\n\n  send-offer: 2026-11-23\n  # c\n")
    assert yaml.safe_load(new)["jobs"]["meet"]["note"] == "long\ntext\n"


def test_block_section_is_last_in_file_with_trailing_comments(tmp_path):
    old = "id: A\njobs:\n  verify: 2026-10-03\n\n# end of deal\n\n"
    new = done(tmp_path, old)
    assert new == "id: A\njobs:\n  verify: 2026-10-03\n  send-offer: 2026-11-23\n\n# end of deal\n\n"


def test_block_section_listed_job_with_null_value_gets_the_date(tmp_path):
    old = "id: A\njobs:\n  verify:   # to do\n  meet: ~\n"
    assert done(tmp_path, old, job="verify") == "id: A\njobs:\n  verify: 2026-11-23   # to do\n  meet: ~\n"
    assert done(tmp_path, old, job="meet") == "id: A\njobs:\n  verify:   # to do\n  meet: 2026-11-23\n"


# ---------------------------------------------------------------------------------
# section present, flow style, empty or null


def test_flow_section(tmp_path):
    old = "id: A\njobs: {a: 2026-10-01}  # flow\nroi: 2\n"
    assert done(tmp_path, old, job="b") == "id: A\njobs: {a: 2026-10-01, b: 2026-11-23}  # flow\nroi: 2\n"


def test_flow_section_multiline(tmp_path):
    old = "id: A\njobs: {\n  a: 2026-10-01,  # first\n  c: 2026-10-02   # second\n}\n"
    new = done(tmp_path, old, job="b")
    assert new == "id: A\njobs: {\n  a: 2026-10-01,  # first\n  c: 2026-10-02,   # second\n  b: 2026-11-23\n}\n"


@pytest.mark.parametrize(
    "old, expected",
    [
        ("id: A\njobs: {}\nroi: 1\n", "id: A\njobs: {b: 2026-11-23}\nroi: 1\n"),
        ("id: A\njobs: { }\n", "id: A\njobs: {b: 2026-11-23}\n"),
        ("id: A\njobs:\nroi: 1\n", "id: A\njobs:\n  b: 2026-11-23\nroi: 1\n"),
        ("id: A\njobs:  # nothing yet\nroi: 1\n", "id: A\njobs:  # nothing yet\n  b: 2026-11-23\nroi: 1\n"),
        ("id: A\njobs: null\nroi: 1\n", "id: A\njobs:\n  b: 2026-11-23\nroi: 1\n"),
        ("id: A\njobs: ~  # none\nroi: 1\n", "id: A\njobs:  # none\n  b: 2026-11-23\nroi: 1\n"),
        ("id: A\njobs: ~", "id: A\njobs:\n  b: 2026-11-23"),
        (
            "deals:\n  - id: A\n    bant:\n        need: true\n    jobs:\n  - id: B\n",
            "deals:\n  - id: A\n    bant:\n        need: true\n    jobs:\n        b: 2026-11-23\n  - id: B\n",
        ),
    ],
)
def test_empty_or_null_section(tmp_path, old, expected):
    assert done(tmp_path, old, job="b") == expected


# ---------------------------------------------------------------------------------
# section absent


def test_absent_section_single_deal(tmp_path):
    old = "# ACME deal\nid: A\nname: Fleet telemetry\nbant: {budget: true}\n"
    new = done(tmp_path, old)
    assert new == old + "jobs:\n  send-offer: 2026-11-23\n"


def test_absent_section_uses_the_files_indent_step(tmp_path):
    old = "id: A\nbant:\n    budget: true\nroi: 1.4\n"
    assert done(tmp_path, old) == old + "jobs:\n    send-offer: 2026-11-23\n"


def test_absent_section_after_block_sequence_and_comments(tmp_path):
    old = (
        "id: A\n"
        "activities:\n"
        "  - {at: 2026-11-20, kind: call}\n"
        "  - at: 2026-11-21\n"
        "    kind: mail   # follow-up\n"
        "\n"
        "# --- end of ACME ---\n"
    )
    new = done(tmp_path, old)
    assert new == old.replace("follow-up\n", "follow-up\njobs:\n  send-offer: 2026-11-23\n")


def test_absent_section_after_block_scalar_at_end(tmp_path):
    old = "id: A\nnotes: >\n  folded\n  text\n\n\n"
    new = done(tmp_path, old)
    assert new == old + "jobs:\n  send-offer: 2026-11-23\n"


DEALS = (
    "# pipeline\n"
    "deals:\n"
    "  - id: A\n"
    "    amount: 100   # k€\n"
    "\n"
    "  # B is new\n"
    "  - id: B\n"
    "    amount: 200\n"
    "    bant:\n"
    "      need: true\n"
    "  - id: C\n"
    "    amount: 300\n"
    "# end\n"
)


def test_absent_section_first_deal_of_list(tmp_path):
    new = done(tmp_path, DEALS, deal="A")
    assert new == DEALS.replace("k€\n", "k€\n    jobs:\n      send-offer: 2026-11-23\n")


def test_absent_section_middle_deal_of_list(tmp_path):
    new = done(tmp_path, DEALS, deal="B")
    assert new == DEALS.replace("need: true\n", "need: true\n    jobs:\n      send-offer: 2026-11-23\n")


def test_absent_section_last_deal_of_list(tmp_path):
    new = done(tmp_path, DEALS, deal="C")
    assert new == DEALS.replace("300\n", "300\n    jobs:\n      send-offer: 2026-11-23\n")


def test_absent_section_indentless_list(tmp_path):
    old = "deals:\n- id: A\n  amount: 1\n- id: B\n  amount: 2\n"
    assert done(tmp_path, old, deal="A") == old.replace("1\n", "1\n  jobs:\n    send-offer: 2026-11-23\n")
    assert done(tmp_path, old, deal="B") == old + "  jobs:\n    send-offer: 2026-11-23\n"


def test_flow_deals(tmp_path):
    old = "deals: [{id: A, amount: 1}, {id: B}]\n"
    new = done(tmp_path, old, deal="A")
    assert new == "deals: [{id: A, amount: 1, jobs: {send-offer: 2026-11-23}}, {id: B}]\n"


def test_section_in_list_deal_present(tmp_path):
    old = "deals:\n  - id: A\n    jobs:\n      x: 2026-10-01\n  - id: B\n    jobs:\n      x: 2026-10-02\n"
    assert done(tmp_path, old, deal="B") == old + "      send-offer: 2026-11-23\n"
    assert done(tmp_path, old, deal="A") == old.replace("10-01\n", "10-01\n      send-offer: 2026-11-23\n")


def test_top_level_sequence_of_deals(tmp_path):
    old = "- id: A\n  amount: 1\n- id: B\n"
    assert done(tmp_path, old, deal="A") == "- id: A\n  amount: 1\n  jobs:\n    send-offer: 2026-11-23\n- id: B\n"


# ---------------------------------------------------------------------------------
# line endings, BOM, final newline


def test_crlf_block(tmp_path):
    old = "id: A\r\njobs:\r\n  a: 2026-10-01\r\n# c\r\n"
    assert done(tmp_path, old) == "id: A\r\njobs:\r\n  a: 2026-10-01\r\n  send-offer: 2026-11-23\r\n# c\r\n"


def test_crlf_absent_and_null(tmp_path):
    old = "id: A\r\nname: x\r\n"
    assert done(tmp_path, old) == old + "jobs:\r\n  send-offer: 2026-11-23\r\n"
    old = "id: A\r\njobs: ~\r\nroi: 1\r\n"
    assert done(tmp_path, old) == "id: A\r\njobs:\r\n  send-offer: 2026-11-23\r\nroi: 1\r\n"


def test_crlf_without_final_newline(tmp_path):
    old = "id: A\r\njobs:\r\n  a: 2026-10-01"
    assert done(tmp_path, old) == old + "\r\n  send-offer: 2026-11-23"


@pytest.mark.parametrize(
    "old, expected",
    [
        ("id: A\njobs:\n  a: 2026-10-01", "id: A\njobs:\n  a: 2026-10-01\n  send-offer: 2026-11-23"),
        ("id: A\nname: x  # c", "id: A\nname: x  # c\njobs:\n  send-offer: 2026-11-23"),
        ("id: A\njobs:", "id: A\njobs:\n  send-offer: 2026-11-23"),
        ("id: A\njobs: {a: 1}", "id: A\njobs: {a: 1, send-offer: 2026-11-23}"),
    ],
)
def test_no_final_newline(tmp_path, old, expected):
    assert done(tmp_path, old) == expected


# ---------------------------------------------------------------------------------
# quoting


@pytest.mark.parametrize(
    "line, deal_id",
    [
        ('id: "ACME: 001"', "ACME: 001"),
        ("id: '#42'", "#42"),
        ("id: 'it''s'", "it's"),
        ("id: 001", "001"),
        ("id: 2026", "2026"),
        ('id: "caf\\u00e9 \\"x\\""', 'café "x"'),
    ],
)
def test_deal_ids_that_need_quoting(tmp_path, line, deal_id):
    old = f"deals:\n  - id: other\n  - {line}\n    amount: 1\n"
    new = done(tmp_path, old, deal=deal_id)
    assert new == old + "    jobs:\n      send-offer: 2026-11-23\n"


@pytest.mark.parametrize(
    "job, rendered",
    [
        ("a: b", "'a: b'"),
        ("x #1", "'x #1'"),
        ("null", "'null'"),
        ("yes", "'yes'"),
        ("123", "'123'"),
        ("- dash", "'- dash'"),
        ("{brace}", "'{brace}'"),
        ("it's", "it's"),
        ("Überprüfung", "Überprüfung"),
    ],
)
def test_job_ids_that_need_quoting(tmp_path, job, rendered):
    old = "id: A\njobs:\n  a: 2026-10-01\n"
    new = done(tmp_path, old, job=job)
    assert new == old + f"  {rendered}: 2026-11-23\n"
    assert yaml.safe_load(new)["jobs"][job] == D
    flow = "id: A\njobs: {a: 2026-10-01}\n"
    new = done(tmp_path, flow, job=job)
    assert new == f"id: A\njobs: {{a: 2026-10-01, {rendered}: 2026-11-23}}\n"


@pytest.mark.parametrize(
    "note",
    [
        'he said "yes"',
        "it's done, #1: signed",
        "two\nlines\r\nand a tab\t",
        "  leading and trailing  ",
        "{not: a mapping}",
        "ümlaut ✓ 😀",
        "- a list? no",
        "null",
    ],
)
def test_notes_that_need_quoting(tmp_path, note):
    old = "id: A\njobs:\n  a: 2026-10-01\n"
    new = done(tmp_path, old, by="o'brien@example.com", note=note)
    added = new[len(old):]
    assert new.startswith(old) and added.startswith("  send-offer: {at: 2026-11-23, by: ")
    assert added.count("\n") == 1 and added.endswith("}\n")
    assert yaml.safe_load(new)["jobs"]["send-offer"] == {"at": D, "by": "o'brien@example.com", "note": note}


def test_note_rendering_exact(tmp_path):
    old = "id: A\njobs: {}\n"
    new = done(tmp_path, old, by="alice", note='said "ok"\nthen left')
    assert new == 'id: A\njobs: {send-offer: {at: 2026-11-23, by: alice, note: "said \\"ok\\"\\nthen left"}}\n'


# ---------------------------------------------------------------------------------
# errors


def test_unknown_deal(tmp_path):
    path = put(tmp_path, DEALS)
    with pytest.raises(DealEditError) as info:
        record_job_done(path, "Z", "x", at=D)
    assert str(info.value) == f"deal Z not found in {path}"
    assert get(path) == DEALS


def test_duplicate_deal_ids(tmp_path):
    path = put(tmp_path, "deals:\n- id: A\n- id: A\n")
    with pytest.raises(DealEditError, match="appears 2 times"):
        record_job_done(path, "A", "x", at=D)


@pytest.mark.parametrize(
    "text, where, found",
    [
        ("id: A\njobs:\n  - verify\n", "3:3", "a list"),
        ("id: A\njobs: done\n", "2:7", "the text 'done'"),
        ("deals:\n  - id: A\n    jobs: 3\n", "3:11", "the value 3"),
    ],
)
def test_section_not_a_mapping(tmp_path, text, where, found):
    path = put(tmp_path, text)
    with pytest.raises(DealEditError) as info:
        record_job_done(path, "A", "x", at=D)
    assert str(info.value) == f"{path}:{where}: `jobs` of deal A must be a mapping, found {found}"
    assert get(path) == text


@pytest.mark.parametrize(
    "text, where",
    [
        ("id: A\njobs: {a: 1\nx: 2\n", ":3:2: "),
        ("id: A\n  bad: indent\n", ":2:6: "),
        ("id: A\n\tjobs: {}\n", ":2:1: "),
        ("id: A\nx: \x07\n", ":2:4: unacceptable character #x0007"),
        ("---\nid: A\n---\nid: B\n", ":3:1: "),
    ],
)
def test_unparsable_file(tmp_path, text, where):
    path = put(tmp_path, text)
    with pytest.raises(DealEditError) as info:
        record_job_done(path, "A", "x", at=D)
    assert str(info.value).startswith(f"{path}{where}")
    assert "Traceback" not in str(info.value)
    assert get(path) == text


def test_alias_and_merge_sections_are_refused(tmp_path):
    text = "base: &j {a: 1}\ndeals:\n  - id: A\n    jobs: *j\n"
    path = put(tmp_path, text)
    with pytest.raises(DealEditError, match="alias"):
        record_job_done(path, "A", "x", at=D)
    text = "deals:\n  - &b {id: B, jobs: {a: 1}}\n  - <<: *b\n    id: A\n"
    path = put(tmp_path, text)
    with pytest.raises(DealEditError, match="merge key"):
        record_job_done(path, "A", "x", at=D)
    assert get(path) == text


# ---------------------------------------------------------------------------------
# already recorded


def test_numeric_job_id_already_recorded(tmp_path):
    path = put(tmp_path, "id: A\njobs:\n  123: 2026-10-01\n")
    assert record_job_done(path, "A", "123", at=D) is False


# ---------------------------------------------------------------------------------
# property test


COMMENT = st.text(alphabet=string.ascii_letters + string.digits + " #:'\"-{}[],\t", max_size=16)


OPT_COMMENT = st.one_of(st.just(""), COMMENT.map(lambda c: "  # " + c))


SECTION = st.sampled_from(["absent", "block", "flow", "empty-flow", "bare", "null", "tilde"])


@st.composite
def deal_files(draw):
    ids = draw(st.lists(TEXT, min_size=1, max_size=4, unique=True))
    target = draw(st.integers(0, len(ids) - 1))
    single = len(ids) == 1 and draw(st.booleans())
    step = draw(st.sampled_from([2, 4]))
    pad = draw(st.sampled_from(["", "  "]))
    jobs = draw(st.lists(JOB, max_size=4, unique=True))
    new_job = draw(JOB)
    assume(new_job not in jobs)
    kind = draw(SECTION)
    if kind in ("block", "flow") and not jobs:
        kind = "absent"
    where = draw(st.sampled_from(["middle", "end"]))
    lines: list[str] = []
    if draw(st.booleans()):
        lines.append("# " + draw(COMMENT))
    indent = "" if single else pad + "  "
    if not single:
        lines.append("deals:" + draw(OPT_COMMENT))
    info = {}
    for n, deal_id in enumerate(ids):
        first = f"id: {json.dumps(deal_id, ensure_ascii=False)}" + draw(OPT_COMMENT)
        lines.append(first if single else f"{pad}- {first}")
        body = [f"{indent}name: {json.dumps(draw(TEXT), ensure_ascii=False)}" + draw(OPT_COMMENT)]
        if draw(st.booleans()):
            body.append(f"{indent}bant:")
            body.append(f"{indent}{' ' * step}need: true" + draw(OPT_COMMENT))
        if draw(st.booleans()):
            body.append(f"{indent}# " + draw(COMMENT))
        if n == target:
            section: list[str] = []
            header = f"{indent}jobs:"
            if kind == "block":
                section = [header + draw(OPT_COMMENT)]
                section += [f"{indent}{' ' * step}{j}: 2026-10-0{i + 1}" + draw(OPT_COMMENT) for i, j in enumerate(jobs)]
                if draw(st.booleans()):
                    section.append(f"{indent}{' ' * step}# " + draw(COMMENT))
            elif kind == "flow":
                section = [header + " {" + ", ".join(f"{j}: true" for j in jobs) + "}"]
            elif kind == "empty-flow":
                section = [header + " {}"]
            elif kind == "bare":
                section = [header]
            elif kind == "null":
                section = [header + " null"]
            elif kind == "tilde":
                section = [header + " ~"]
            info["section"] = section
            info["indent"] = indent
            if where == "middle":
                body = body[:1] + section + body[1:]
            else:
                body = body + section
        lines += body
        if draw(st.booleans()):
            lines.append("")
    if draw(st.booleans()):
        lines.append("# the end " + draw(COMMENT))
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    text = nl.join(lines) + (nl if draw(st.booleans()) else "")
    details = draw(st.one_of(st.none(), st.fixed_dictionaries({"by": TEXT, "note": st.text(max_size=30)})))
    if details is not None:
        assume(all(c not in details["note"] for c in "\x00\ufeff") and not any(0xD800 <= ord(c) <= 0xDFFF for c in details["note"]))
    return dict(text=text, nl=nl, deal=ids[target], target=target, single=single, kind=kind, step=step,
                job=new_job, details=details, **info)


def find_deal(doc, example):
    return doc if example["single"] else doc["deals"][example["target"]]


# 150 examples with each YAML loader, 300 in all (the suite stays fast); DEALEDIT_EXAMPLES=5000 searches deeper.
@settings(max_examples=int(os.environ.get("DEALEDIT_EXAMPLES", "150")), deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(deal_files())
@example({"text": 'deals:\n- id: "0"\n  name: "0"', "nl": "\n", "deal": "0", "target": 0, "single": False,
          "kind": "absent", "step": 2, "job": "on", "details": None, "section": [], "indent": "  "})  # `on` is quoted
def test_property_record_job_done(example):
    text, nl, job = example["text"], example["nl"], example["job"]
    details = example["details"] or {}
    # the generated file must be what we think it is
    old_doc = yaml.safe_load(text)
    assert find_deal(old_doc, example)["id"] == example["deal"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deal.yaml"
        path.write_bytes(text.encode("utf-8"))
        assert record_job_done(path, example["deal"], job, at=D, **details) is True
        new = path.read_bytes().decode("utf-8")
        assert os.listdir(tmp) == ["deal.yaml"]
        # a second time is a no-op
        assert record_job_done(path, example["deal"], job, at=D) is False
        assert path.read_bytes().decode("utf-8") == new

    # 1. the parsed document changed by the added job only
    expected = copy.deepcopy(old_doc)
    deal = find_deal(expected, example)
    if deal.get("jobs") is None:
        deal["jobs"] = {}
    deal["jobs"][job] = {"at": D, **details} if details else D
    assert yaml.safe_load(new) == expected

    # 2. removing the added line(s) gives back the original text
    old_lines, new_lines = text.split(nl), new.split(nl)
    kind, indent, step = example["kind"], example["indent"], example["step"]
    # the step of a new section comes from the file's nested mappings (default 2)
    # a job named like a YAML 1.1 boolean or null (on, no, null) is written quoted
    key = rf"""(?:{re.escape(job)}|'{re.escape(job)}'|"{re.escape(job)}")"""
    entry = re.compile(rf"{indent}{' ' * step if kind == 'block' else ' +'}{key}: ")
    if kind in ("flow", "empty-flow"):
        assert len(new_lines) == len(old_lines)
        changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b]
        assert len(changed) == 1
        a, b = old_lines[changed[0]], new_lines[changed[0]]
        cut = a.rindex("}")
        assert b.startswith(a[:cut]) and b.endswith(a[cut:])
        inserted = b[cut:len(b) - len(a) + cut]
        assert re.match((", " if kind == "flow" else "") + key + ": ", inserted)
        return
    if kind == "absent":
        added = [f"{indent}jobs:", None]
    else:
        added = [None]
    if kind in ("null", "tilde"):
        header = example["section"][0]
        assert header in old_lines and f"{indent}jobs:" in new_lines
        new_lines[new_lines.index(f"{indent}jobs:")] = header
    n = len(added)
    ok = False
    for i in range(len(new_lines) - n + 1):
        chunk = new_lines[i:i + n]
        if entry.match(chunk[-1]) and all(a is None or a == c for a, c in zip(added, chunk)):
            if new_lines[:i] + new_lines[i + n:] == old_lines:
                ok = True
                break
    assert ok, (text, new)


# ---------------------------------------------------------------------------------
# more corners


def test_anchored_section_used_elsewhere_is_refused(tmp_path, monkeypatch):
    text = "id: A\njobs: &j\n  a: 1\nother: *j\n"
    path = put(tmp_path, text)
    with pytest.raises(DealEditError, match=r":2:7: `jobs` of deal A is anchored"):
        record_job_done(path, "A", "x", at=D)
    # without that check, the safety net still sees that `other` would change too
    monkeypatch.setattr(dealedit_yaml, "_is_shared", lambda root, node: False)
    with pytest.raises(DealEditError, match="internal check failed"):
        record_job_done(path, "A", "x", at=D)
    assert get(path) == text


def test_anchored_section_not_used_elsewhere_is_fine(tmp_path):
    old = "id: A\njobs: &j\n  a: 1\n"
    assert done(tmp_path, old) == old + "  send-offer: 2026-11-23\n"


def test_cr_only_line_endings(tmp_path):
    old = "id: A\rjobs:\r  a: 1\r# c\r"
    assert done(tmp_path, old) == "id: A\rjobs:\r  a: 1\r  send-offer: 2026-11-23\r# c\r"


@pytest.mark.parametrize(
    "old, expected",
    [
        ("- {id: A, jobs: ~}\n", "- {id: A, jobs: {send-offer: 2026-11-23}}\n"),
        ("- {id: A, jobs}\n", "- {id: A, jobs: {send-offer: 2026-11-23}}\n"),
        ("- {id: A, jobs: {}}\n", "- {id: A, jobs: {send-offer: 2026-11-23}}\n"),
        ("{id: A, jobs: {a: 1}}", "{id: A, jobs: {a: 1, send-offer: 2026-11-23}}"),
    ],
)
def test_flow_deal_sections(tmp_path, old, expected):
    assert done(tmp_path, old) == expected


def test_directives_and_document_markers(tmp_path):
    old = "%YAML 1.1\n---\nid: A\nname: x\n...\n"
    assert done(tmp_path, old) == old.replace("x\n", "x\njobs:\n  send-offer: 2026-11-23\n")


def test_deal_mapping_after_comment_on_dash_line(tmp_path):
    old = "deals:\n  -   # the first one\n    id: A\n    x: 1\n  - id: B\n"
    assert done(tmp_path, old) == old.replace("x: 1\n", "x: 1\n    jobs:\n      send-offer: 2026-11-23\n")


def test_last_content_is_an_alias(tmp_path):
    old = "deals:\n- id: A\n  at: &d 2026-10-01\n- id: B\n  seen:\n  - 1\n  - *d   # same day\n# c\n"
    new = done(tmp_path, old, deal="B")
    assert new == old.replace("day\n", "day\n  jobs:\n    send-offer: 2026-11-23\n")
    old = "x: &x 5\nid: A\njobs: {a: 1, b: *x}\n"
    assert done(tmp_path, old) == "x: &x 5\nid: A\njobs: {a: 1, b: *x, send-offer: 2026-11-23}\n"
    old = "x: &x 5\nid: A\njobs:\n  a: 1\n  b: *x\n"
    assert done(tmp_path, old) == old + "  send-offer: 2026-11-23\n"


# ---------------------------------------------------------------------------------
# the module's functions, directly


@pytest.mark.parametrize("text, deal, loc", [
    ("id: A\n", "A", ()),
    ("id: 7\n", "7", ()),
    ("deals: 3\nid: A\n", "A", ()),  # a deal with an `id` is the deal, whatever `deals` holds
    ("deals:\n  - id: B\n  - id: A\n", "A", ("deals", 1)),
    ("deals:\n  - 3\n  - id: A\n", "A", ("deals", 1)),  # non-mappings are skipped, positions kept
    ("- id: B\n- id: A\n", "A", (1,)),
    ("[{id: A}]\n", "A", (0,)),
])
def test_edit_yaml_locates_the_deal_in_every_layout(text, deal, loc):
    new, where = dealedit_yaml._edit_yaml(text, deal, "jobs", "x", 1, "d.yaml")
    assert where == loc
    doc = yaml.safe_load(new)
    for step in loc:
        doc = doc[step]
    assert doc["jobs"] == {"x": 1}


@pytest.mark.parametrize("text", [
    "", "# only a comment\n", "just text\n", "42\n", "[]\n", "- 1\n- 2\n", "deals: []\n",
    "deals:\n  - id: B\n", "id: [A]\n", "id:\n", "name: no id\n",
])
def test_edit_yaml_without_the_deal_says_so(text):
    with pytest.raises(DealEditError) as info:
        dealedit_yaml._edit_yaml(text, "A", "jobs", "x", 1, "d.yaml")
    assert str(info.value) == "deal A not found in d.yaml"


@pytest.mark.parametrize("value, rendered", [
    (D, "2026-11-23"),
    ("plain", "plain"),
    ("a: b", "'a: b'"),
    ("yes", "'yes'"),
    ("", "''"),
    ("line\nbreak", '"line\\nbreak"'),
    ("\x85", '"\\N"'),
    ("\ufeff", '"\\uFEFF"'),
    ("ü😀", "ü😀"),
    (True, "true"),
    (None, "null"),
    (1.5, "1.5"),
    ({"at": D, "by": "x"}, "{at: 2026-11-23, by: x}"),
])
def test_yaml_flow_is_one_line_that_reads_back_as_the_value(value, rendered):
    out = dealedit_yaml._yaml_flow(value)
    assert out == rendered
    assert yaml.load(f"[{out}]", Loader=dealedit_yaml._LOADER) == [value]
    assert yaml.load(f"k: {out}\n", Loader=dealedit_yaml._LOADER) == {"k": value}  # block context too


def test_yaml_flow_refuses_what_yaml_cannot_write():
    with pytest.raises(DealEditError, match="cannot write .* into a deal file"):
        dealedit_yaml._yaml_flow(object())


@pytest.mark.parametrize("text, shared", [
    ("a: &x {k: 1}\nb: *x\nc: {k: 1}\n", [True, True, False]),
    ("a: &x {k: 1}\nb: {k: 1}\n", [False, False]),  # an anchor no alias uses
    ("a: [&x {k: 1}, *x]\nb: 2\n", [False, False]),  # the sequence itself is not shared
])
def test_is_shared(text, shared):
    root = yaml.compose(text)
    assert [dealedit_yaml._is_shared(root, value) for _, value in root.value] == shared


@pytest.mark.parametrize("text, step", [
    ("id: A\n", 2),
    ("id: A\nbant:\n    need: true\n", 4),
    ("id: A\nbant:\n   need: true\nx:\n   y: 1\nz:\n     w: 1\n", 3),  # the most common step
    ("id: A\nbant: {need: true}\n", 2),  # flow mappings say nothing
])
def test_indent_step(text, step):
    root = yaml.compose(text)
    assert dealedit_yaml._indent_step(root, root) == step


@pytest.mark.parametrize("nl", ["\n", "\r\n", "\r"])
def test_an_unacceptable_character_is_placed_on_its_line(nl):
    with pytest.raises(DealEditError) as info:
        dealedit_yaml._edit_yaml(nl.join(["id: A", "x: \x07", ""]), "A", "jobs", "x", 1, "d.yaml")
    assert str(info.value) == "d.yaml:2:4: unacceptable character #x0007"
