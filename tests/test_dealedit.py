"""Tests for flowctl.dealedit, the API: record_job_done, record_approval and edit_text,
the file handling (UTF-8, BOM, atomic write, lock, symlinks) and the safety net."""

from __future__ import annotations

import os
import stat

import pytest

from flowctl import dealedit
from flowctl.dealedit import AlreadyRecorded, DealEditError, edit_text, record_approval, record_job_done
from deal_edits import D, done, get, put
from deal_edits import each_loader  # noqa: F401  (the fixture pytestmark names)

pytestmark = pytest.mark.usefixtures("each_loader")  # every test with both YAML loaders


# ---------------------------------------------------------------------------------
# line endings, BOM, final newline


def test_utf8_bom_is_kept(tmp_path):
    old = "\ufeffid: A\nname: Señor\n"
    assert done(tmp_path, old) == old + "jobs:\n  send-offer: 2026-11-23\n"


# ---------------------------------------------------------------------------------
# errors


def test_not_utf8_and_missing_file(tmp_path):
    path = tmp_path / "deal.yaml"
    path.write_bytes(b"id: A\nname: \xff\n")
    with pytest.raises(DealEditError, match="not UTF-8"):
        record_job_done(path, "A", "x", at=D)
    with pytest.raises(DealEditError, match="no such file"):
        record_job_done(tmp_path / "nope.yaml", "A", "x", at=D)


def test_bad_arguments(tmp_path):
    path = put(tmp_path, "id: A\n")
    with pytest.raises(DealEditError):
        record_job_done(path, "A", "", at=D)
    with pytest.raises(DealEditError):
        record_job_done(path, "A", "x", at="2026-11-23")  # type: ignore[arg-type]
    assert get(path) == "id: A\n"


# ---------------------------------------------------------------------------------
# already recorded


@pytest.mark.parametrize(
    "text",
    [
        "id: A\njobs:\n  send-offer: 2026-10-01\n",
        "id: A\njobs: {send-offer: true}\n",
        "id: A\njobs:\n  send-offer: {at: 2026-10-01, by: bob}\n",
    ],
)
def test_job_already_recorded(tmp_path, text):
    path = put(tmp_path, text)
    before = os.stat(path)
    assert record_job_done(path, "A", "send-offer", at=D, by="alice") is False
    assert get(path) == text
    assert os.stat(path).st_ino == before.st_ino and os.stat(path).st_mtime_ns == before.st_mtime_ns


def test_edit_text_raises_already_recorded():
    with pytest.raises(AlreadyRecorded) as info:
        edit_text("id: A\njobs: {x: 1}\n", "A", "jobs", "x", D)
    assert info.value.existing == 1


# ---------------------------------------------------------------------------------
# approvals


def test_record_approval(tmp_path):
    old = "id: A\njobs:\n  a: 2026-10-01\napprovals:\n  bant: {by: carol, role: sales, at: 2026-10-02}\nroi: 1\n"
    path = put(tmp_path, old)
    assert record_approval(path, "A", "price-approved", role="management", by="bob@example.com", at=D) is True
    expected = old.replace(
        "2026-10-02}\n", "2026-10-02}\n  price-approved: {by: bob@example.com, role: management, at: 2026-11-23}\n"
    )
    assert get(path) == expected
    assert record_approval(path, "A", "price-approved", role="management", by="eve", at=D) is False
    assert get(path) == expected
    with pytest.raises(DealEditError, match="not an approval by role 'finance'"):
        record_approval(path, "A", "price-approved", role="finance", by="eve", at=D)
    assert get(path) == expected


def test_record_approval_absent_section(tmp_path):
    old = "deals:\n  - id: A\n    amount: 1\n  - id: B\n"
    path = put(tmp_path, old)
    assert record_approval(path, "A", "g", role="legal", by="x y", at=D) is True
    assert get(path) == old.replace(
        "1\n", "1\n    approvals:\n      g: {by: x y, role: legal, at: 2026-11-23}\n"
    )


def test_record_approval_json(tmp_path):
    old = '{\n  "id": "A",\n  "approvals": {}\n}\n'
    path = put(tmp_path, old, "deal.json")
    assert record_approval(path, "A", "g", role="legal", by="bob", at=D) is True
    assert get(path) == (
        '{\n  "id": "A",\n  "approvals": {\n    "g": {\n      "by": "bob",\n'
        '      "role": "legal",\n      "at": "2026-11-23"\n    }\n  }\n}\n'
    )
    assert record_approval(path, "A", "g", role="legal", by="eve", at=D) is False


# ---------------------------------------------------------------------------------
# edit_text itself


def test_edit_text_is_pure_and_reports_source():
    text = "id: A\njobs: [x]\n"
    with pytest.raises(DealEditError, match=r"^d\.yaml:2:7: "):
        edit_text(text, "A", "jobs", "y", D, source="d.yaml")
    assert edit_text("id: A\n", "A", "jobs", "y", D) == "id: A\njobs:\n  y: 2026-11-23\n"
    assert edit_text('{"id": "A"}', "A", "jobs", "y", True, json_format=True) == '{"id": "A", "jobs": {"y": true}}'


# ---------------------------------------------------------------------------------
# atomicity and the safety net


def test_atomic_write_replaces_inode_keeps_mode_and_leaves_no_temp(tmp_path):
    path = put(tmp_path, "id: A\n")
    os.chmod(path, 0o640)
    ino = os.stat(path).st_ino
    assert record_job_done(path, "A", "x", at=D) is True
    st_after = os.stat(path)
    assert st_after.st_ino != ino
    assert stat.S_IMODE(st_after.st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deal.yaml"]


def test_symlink_is_followed_and_kept(tmp_path):
    real = put(tmp_path, "id: A\n", "real.yaml")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    assert record_job_done(link, "A", "x", at=D) is True
    assert link.is_symlink()
    assert get(real) == "id: A\njobs:\n  x: 2026-11-23\n"


def test_safety_net_refuses_and_keeps_bytes(tmp_path, monkeypatch):
    text = "id: A  # keep me\njobs:\n  a: 2026-10-01\nroi: 1\n"
    path = put(tmp_path, text)
    real_compute = dealedit._compute_edit

    def sloppy(*args):
        new, loc = real_compute(*args)
        return new.replace("roi: 1", "roi: 2"), loc

    monkeypatch.setattr(dealedit, "_compute_edit", sloppy)
    with pytest.raises(DealEditError, match="internal check failed, nothing written"):
        record_job_done(path, "A", "x", at=D)
    assert path.read_bytes() == text.encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deal.yaml"]


def test_safety_net_refuses_unparsable_result(tmp_path, monkeypatch):
    text = "id: A\n"
    path = put(tmp_path, text)
    monkeypatch.setattr(dealedit, "_compute_edit", lambda *a: ("id: [A\n", ()))
    with pytest.raises(DealEditError, match="does not parse"):
        record_job_done(path, "A", "x", at=D)
    assert path.read_bytes() == text.encode()


def test_safety_net_catches_a_real_corner(tmp_path):
    # A literal block scalar that ends the file without a final newline: anything
    # appended after it would add a line break to its value, so the edit is refused.
    text = "id: A\nnotes: |\n  hi"
    path = put(tmp_path, text)
    with pytest.raises(DealEditError, match="internal check failed"):
        record_job_done(path, "A", "x", at=D)
    assert path.read_bytes() == text.encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deal.yaml"]


def test_file_changed_between_read_and_write(tmp_path, monkeypatch):
    text = "id: A\n"
    path = put(tmp_path, text)
    real_edit = dealedit.edit_text

    def racing(*args, **kwargs):
        result = real_edit(*args, **kwargs)
        path.write_bytes(b"id: A\nname: someone else's edit\n")
        return result

    monkeypatch.setattr(dealedit, "edit_text", racing)
    with pytest.raises(DealEditError, match="changed while it was being edited"):
        record_job_done(path, "A", "x", at=D)
    assert get(path) == "id: A\nname: someone else's edit\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deal.yaml"]
