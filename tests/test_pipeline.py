"""engine/pipeline.py: the one reader of deal files: read, check, admit, evaluate."""
from __future__ import annotations

import datetime as dt

import pytest

from flowctl.compiled import CompiledWorkflow
from flowctl.deals import DealDoc
from flowctl.diagnostics import Diagnostic, FlowctlError
from flowctl.evaluate import Facts
from flowctl.expressions import WrongType
from flowctl.pipeline import Item, admit, evaluate_all, read_checked, safely
from flowctl.store import StoreError
from flowctl.workflow import load_workflow

NOW = dt.date(2026, 3, 1)


@pytest.fixture
def cw(project):
    return CompiledWorkflow(load_workflow(project.workflow)[0])


def test_read_checked_gives_each_deal_with_its_diagnostics(cw, project):
    path = project.deals / "two.yaml"
    path.write_text("deals:\n  - {id: A, amount: 1, created: 2026-01-01}\n"
                    "  - {id: B, amount: 1, created: 2026-01-01, outcome: lost}\n")
    text, docs, problems = read_checked(cw, str(path))
    assert problems == [] and text is not None and [d.deal["id"] for d, _ in docs] == ["A", "B"]
    (warning,) = docs[1][1]
    assert warning.kind == "lost_without_date" and warning.line == 3  # positions filled in


@pytest.mark.parametrize("body", ["", "- 1\n", "id: [\n"])
def test_read_checked_of_an_unreadable_file_gives_file_problems(cw, project, body):
    path = project.deals / "bad.yaml"
    path.write_text(body)
    text, docs, problems = read_checked(cw, str(path))
    assert (text, docs) == (None, []) and problems and all(p.severity == "error" for p in problems)


def test_read_checked_evaluates_a_deal_without_what_it_cannot_read(cw, project):
    path = project.deal("A", "roi: high\njobs: {verfy: 2026-01-05}\n")
    _, ((doc, found),), _ = read_checked(cw, str(path))
    assert {d.kind for d in found} == {"wrong_field_type", "unknown_job"}
    assert doc.raw is not None and doc.raw["roi"] == "high"  # the deal as written
    assert isinstance(doc.deal["roi"], WrongType) and doc.deal["jobs"] == {"verfy": doc.raw["jobs"]["verfy"]}


def test_read_checked_keeps_a_deal_with_nothing_to_mask_as_it_is(cw, project):
    _, ((doc, found),), _ = read_checked(cw, str(project.deal("A", "jobs: {verfy: 2026-01-05}\n")))
    assert [d.kind for d in found] == ["unknown_job"] and doc.raw is None


def test_admit_refuses_errors_and_duplicate_ids():
    seen: dict[str, str] = {}
    doc = DealDoc("a.yaml", {"id": "A"})
    first = admit("a.yaml", doc, [], seen)
    assert (first.failed, first.deal_id, seen) == (False, "A", {"A": "a.yaml"})
    again = admit("b.yaml", DealDoc("b.yaml", {"id": "A"}), [], seen)
    assert again.failed and "duplicate deal id 'A'" in again.diagnostics[0].message
    broken = admit("c.yaml", DealDoc("c.yaml", {"id": "C"}), [Diagnostic("c.yaml", "bad")], seen)
    assert broken.failed and "C" not in seen
    warned = admit("d.yaml", DealDoc("d.yaml", {"id": "D"}), [Diagnostic("d.yaml", "odd", severity="warning")], seen)
    assert not warned.failed and warned.state is None and not warned.ok


def test_safely_turns_an_unforeseen_failure_into_the_deals_error():
    doc = DealDoc("a.yaml", {"id": "A"}, 1)
    assert safely(doc, lambda: 3) == 3
    got = safely(doc, lambda: {}["x"])
    assert isinstance(got, Diagnostic) and got.message == "cannot evaluate this deal: KeyError: 'x'"
    assert got.path == ("deals", 1, "id")


@pytest.mark.parametrize("error", [StoreError("db down"), FlowctlError(Diagnostic("t", "bad template"))])
def test_safely_lets_command_failures_through(error):
    def fail() -> None:
        raise error

    with pytest.raises(type(error)):
        safely(DealDoc("a.yaml", {"id": "A"}), fail)


def test_evaluate_all(cw, project):
    project.deal("A", "jobs: {verify: 2026-01-05}\n")
    project.deal("B", "outcome: lost\n")  # a warning: still evaluated
    project.deal("A", name="dup.yaml")  # the same id again
    (project.deals / "bad.yaml").write_text("id: [\n")
    items = {(i.file.rsplit("/", 1)[1], i.deal_id): i for i in evaluate_all(cw, [str(project.deals)], NOW)}
    assert set(items) == {("A.yaml", "A"), ("B.yaml", "B"), ("dup.yaml", "A"), ("bad.yaml", None)}
    assert items["A.yaml", "A"].state.stage == "qualified" and items["A.yaml", "A"].ok
    assert items["B.yaml", "B"].state.warnings and items["B.yaml", "B"].state.outcome == "lost"
    assert items["dup.yaml", "A"].failed and items["bad.yaml", None].failed


def test_evaluate_all_as_of_a_past_date_leaves_out_deals_not_there_yet(cw, project):
    project.deal("OLD")
    late = project.deal("NEW")
    late.write_text(late.read_text().replace("2026-01-01", "2026-02-15"))
    left_out: list[str] = []
    items = list(evaluate_all(cw, [str(project.deals)], NOW, when=dt.date(2026, 2, 1), left_out=left_out))
    assert [i.deal_id for i in items] == ["OLD"] and left_out == ["NEW"]


def test_evaluate_all_uses_each_deals_facts(cw, project):
    project.deal("A", "jobs: {verify: true}\n")
    asked: list[str] = []

    def facts(deal_id: str) -> Facts:
        asked.append(deal_id)
        return Facts()

    (item,) = evaluate_all(cw, [str(project.deals)], NOW, facts=facts)
    assert asked == ["A"] and isinstance(item, Item) and item.ok
