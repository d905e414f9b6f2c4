"""engine/deals.py: finding deal files, splitting them into deals, and checking each deal."""
from __future__ import annotations

import pytest

from flowctl.compiled import CompiledWorkflow
from flowctl.deals import DealDoc, check_deal, find_files, read_deals, split_deals
from flowctl.diagnostics import FlowctlError
from flowctl.workflow import load_workflow

BASE = {"id": "D1", "owner": "bob@example.com", "amount": 1000, "created": "2026-01-01"}


def test_find_files_walks_folders_sorted_and_skips_hidden(tmp_path):
    for name in ("b.yaml", "a.json", "c.yml", "notes.txt", ".hidden.yaml", "sub/d.yaml", ".git/e.yaml", "sub/.x/f.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("id: x\n")
    found = [p[len(str(tmp_path)) + 1:] for p in find_files([tmp_path])]
    assert found == ["a.json", "b.yaml", "c.yml", "sub/d.yaml"]
    assert list(find_files([str(tmp_path / "notes.txt"), "missing.yaml"])) == [str(tmp_path / "notes.txt"), "missing.yaml"]
    assert list(find_files([])) == []


def test_split_a_single_deal_and_a_list():
    (one,) = split_deals({"id": "A"}, "f.yaml")
    assert (one.deal, one.index, one.prefix) == ({"id": "A"}, None, ())
    many = split_deals({"deals": [{"id": "A"}, {"id": "B"}]}, "f.yaml")
    assert [(d.deal["id"], d.index, d.prefix) for d in many] == [("A", 0, ("deals", 0)), ("B", 1, ("deals", 1))]
    assert split_deals({"deals": []}, "f.yaml") == []
    assert split_deals({"id": "A", "deals": 3}, "f.yaml")[0].deal == {"id": "A", "deals": 3}  # an id: one deal


@pytest.mark.parametrize("doc,message,path", [
    (None, "empty file: expected a deal (id, name, amount, …) or `deals:`", ()),
    ([1, 2], "a deal file must be a mapping (id, name, amount, …) or `deals:` with a list", ()),
    ("text", "a deal file must be a mapping (id, name, amount, …) or `deals:` with a list", ()),
    ({"deals": {"id": "A"}}, "`deals:` must be a list of deals", ("deals",)),
    ({"deals": [{"id": "A"}, "B"]}, "each entry of `deals:` must be a mapping (a deal)", ("deals", 1)),
    ({"deals": [], "owner": "x"}, "unknown key 'owner' beside `deals:`", ("owner",)),
])
def test_split_refuses_what_is_not_deals(doc, message, path):
    with pytest.raises(FlowctlError) as caught:
        split_deals(doc, "f.yaml")
    (d,) = caught.value.diagnostics
    assert (d.file, d.message, d.path) == ("f.yaml", message, path)


def test_read_deals(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("deals:\n  - {id: A}\n  - {id: B}\n")
    text, docs = read_deals(str(path))
    assert text.startswith("deals:") and [d.deal["id"] for d in docs] == ["A", "B"]
    with pytest.raises(FlowctlError):
        read_deals(str(tmp_path / "missing.yaml"))


@pytest.fixture
def cw(project):
    return CompiledWorkflow(load_workflow(project.workflow)[0])


def _check(cw, index: int | None = None, **extra):
    return check_deal(cw, DealDoc("d.yaml", {**BASE, **extra}, index))


def test_a_good_deal_has_no_problem(cw):
    assert _check(cw) == []
    assert _check(cw, jobs={"verify": "2026-01-05"}, approvals={"price-approved": {"role": "management", "by": "carol@example.com", "at": "2026-01-09"}},
                  history=[{"stage": "qualified", "at": "2026-01-03"}]) == []


@pytest.mark.parametrize("extra,kind,path,words", [
    ({"created": "2026-02-30"}, "bad_date", ("created",), "'2026-02-30' is not a date on the calendar"),
    ({"closed_at": "0999-01-01"}, "bad_date", ("closed_at",), "outside the years 1000-8999"),
    ({"jobs": {"verify": "2026-13-01"}}, "bad_entry", ("jobs", "verify"), "not a date on the calendar"),
    ({"jobs": {"verfy": "2026-01-05"}}, "unknown_job", ("jobs", "verfy"), "unknown job 'verfy', ignored (did you mean 'verify'?)"),
    ({"approvals": {"roi-okk": {"role": "x"}}}, "unknown_gate", ("approvals", "roi-okk"), "did you mean 'roi-ok'?"),
    ({"approvals": {"roi-ok": {"role": "x"}}}, "approval_not_asked", ("approvals", "roi-ok"), "takes no approval"),
    ({"approvals": {"price-approved": {"role": "sales"}}}, "wrong_role", ("approvals", "price-approved", "role"),
     "needs an approval by role 'management', not 'sales'"),
    ({"history": [{"stage": "qualifed", "at": "2026-01-02"}]}, "unknown_stage", ("history", 0, "stage"),
     "unknown stage 'qualifed', ignored (did you mean 'qualified'?)"),
    ({"stage": "won"}, "unknown_stage", ("stage",), "in the `stage:` claim, not checked"),
    ({"outcome": "lost"}, "lost_without_date", ("outcome",), "a lost deal should say when"),
])
def test_each_problem_names_its_kind_and_path(cw, extra, kind, path, words):
    found = [d for d in _check(cw, **extra) if d.kind == kind]
    assert found, _check(cw, **extra)
    assert found[0].path == path and words in found[0].message and found[0].file == "d.yaml"


def test_a_listed_deals_problems_are_under_its_entry(cw):
    (d,) = _check(cw, 2, outcome="lost")
    assert d.path == ("deals", 2, "outcome")


def test_did_you_mean_hints_are_bounded(cw):
    found = _check(cw, jobs={f"verif{i}": True for i in range(60)})
    assert len(found) == 60 and sum("did you mean" in d.message for d in found) == 50


def test_a_schema_problem_does_not_stop_the_workflow_checks(cw):
    found = _check(cw, amount="lots", outcome="lost")
    assert {d.kind for d in found} >= {"lost_without_date"} and any("amount" in str(d.path) for d in found)
