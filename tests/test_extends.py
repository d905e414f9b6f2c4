"""engine/extends.py: an overlay merged onto a base workflow by id, every element keeping
the file and JSON path it came from."""
from __future__ import annotations

import copy

import pytest

from flowctl.diagnostics import Diagnostic
from flowctl.extends import annotate, duplicate_ids, merge, strip, where

BASE = {"flowctl": 1, "name": "base", "fields": {"roi": {"type": "number"}}, "quotas": {"a": 1},
        "stages": [{"id": "lead", "jobs": [{"id": "call"}, {"id": "mail"}], "gates": [{"id": "g", "when": "true"}]},
                   {"id": "won", "terminal": True}],
        "metrics": [{"id": "m1", "kind": "count"}]}


def _merge(overlay: dict) -> tuple[dict, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    base = annotate(copy.deepcopy(BASE), "base.yaml")
    merged = merge(base, annotate(copy.deepcopy(overlay), "co.yaml"), diagnostics)
    return merged, diagnostics


def _ids(items: list) -> list:
    return [x["id"] for x in items]


def test_annotate_records_where_each_element_came_from():
    doc = annotate(copy.deepcopy(BASE), "base.yaml")
    assert doc["stages"][0]["__src__"] == ("base.yaml", ("stages", 0))
    assert doc["stages"][0]["jobs"][1]["__src__"] == ("base.yaml", ("stages", 0, "jobs", 1))
    assert doc["stages"][0]["gates"][0]["__src__"] == ("base.yaml", ("stages", 0, "gates", 0))
    assert doc["metrics"][0]["__src__"] == ("base.yaml", ("metrics", 0))
    assert doc["__top__"]["name"] == ("base.yaml", ("name",)) and "__top__" not in doc["__top__"]


def test_annotate_skips_what_is_not_a_mapping():
    doc = annotate({"stages": ["x", {"id": "a", "jobs": [3]}], "metrics": None}, "f.yaml")
    assert doc["stages"][0] == "x" and doc["stages"][1]["jobs"] == [3]


@pytest.mark.parametrize("element,field,src", [
    ({"__src__": ("f.yaml", ("stages", 1))}, None, ("f.yaml", ("stages", 1))),
    ({"__src__": ("f.yaml", ("stages", 1))}, "id", ("f.yaml", ("stages", 1, "id"))),
    ({"__src__": ("f.yaml", ("stages", 1)), "__fields__": {"id": ("o.yaml", ("stages", 0, "id"))}}, "id",
     ("o.yaml", ("stages", 0, "id"))),
    ({}, None, ("?", ())), ({}, "x", ("?", ("x",))),
])
def test_where(element, field, src):
    assert where(element, field) == src


def test_an_overlay_changes_fields_and_points_at_itself():
    merged, diagnostics = _merge({"name": "company", "stages": [{"id": "lead", "max_days": 9}]})
    assert diagnostics == [] and merged["name"] == "company" and merged["__top__"]["name"] == ("co.yaml", ("name",))
    lead = merged["stages"][0]
    assert lead["max_days"] == 9 and where(lead, "max_days") == ("co.yaml", ("stages", 0, "max_days"))
    assert where(lead) == ("base.yaml", ("stages", 0))
    assert BASE["stages"][0].get("max_days") is None  # the base is not changed


def test_maps_merge_key_by_key_and_other_values_are_replaced():
    merged, _ = _merge({"fields": {"score": {"type": "number"}}, "quotas": 5, "extends": "base.yaml"})
    assert set(merged["fields"]) == {"roi", "score"} and merged["quotas"] == 5 and "extends" not in merged


@pytest.mark.parametrize("overlay,stages,problem", [
    ({"id": "demo"}, ["lead", "demo", "won"], None),  # new: before the terminal last stage
    ({"id": "demo", "after": "lead"}, ["lead", "demo", "won"], None),
    ({"id": "demo", "after": "won"}, ["lead", "won", "demo"], None),
    ({"id": "lost", "terminal": True}, ["lead", "won", "lost"], None),
    ({"id": "demo", "after": "laed"}, ["lead", "demo", "won"], "after: no stage 'laed' to place 'demo' after (did you mean 'lead'?)"),
    ({"id": "lead", "remove": True}, ["won"], None),
    ({"id": "laed", "remove": True}, ["lead", "won"],
     "cannot remove stage 'laed': the base workflow has no such stage (did you mean 'lead'?)"),
    ({"id": "lead", "after": "won"}, ["won", "lead"], None),  # moved
])
def test_stages_are_added_placed_moved_and_removed(overlay, stages, problem):
    merged, diagnostics = _merge({"stages": [overlay]})
    assert _ids(merged["stages"]) == stages
    assert [d.message for d in diagnostics] == ([problem] if problem else [])
    for d in diagnostics:
        assert d.file == "co.yaml" and d.path[:2] == ("stages", 0)


def test_jobs_and_gates_merge_by_id_within_their_stage():
    merged, diagnostics = _merge({"stages": [{"id": "lead", "jobs": [{"id": "call", "due": "2d"}, {"id": "mail", "remove": True},
                                                                     {"id": "demo", "after": "call"}],
                                              "gates": [{"id": "g2"}]}]})
    lead = merged["stages"][0]
    assert diagnostics == [] and _ids(lead["jobs"]) == ["call", "demo"] and lead["jobs"][0]["due"] == "2d"
    assert _ids(lead["gates"]) == ["g", "g2"]


def test_a_removed_job_the_stage_lacks_is_named():
    _, diagnostics = _merge({"stages": [{"id": "lead", "jobs": [{"id": "cal", "remove": True}]}]})
    assert [d.message for d in diagnostics] == ["cannot remove job 'cal': the base workflow has no such job (did you mean 'call'?)"]


def test_metrics_merge_by_id_and_non_mappings_are_skipped():
    merged, _ = _merge({"metrics": [{"id": "m1", "target": ">= 1"}, {"id": "m2", "kind": "sum"}, "junk"],
                        "notifications": [{"id": "n1"}]})
    assert _ids(merged["metrics"]) == ["m1", "m2"] and merged["metrics"][0]["target"] == ">= 1"
    assert _ids(merged["notifications"]) == ["n1"]


def test_duplicate_ids_name_both_places():
    doc = annotate({"stages": [{"id": "a"}, {"id": "b"}, {"id": "a"}, "x", {"no": "id"}]}, "f.yaml")
    diagnostics: list[Diagnostic] = []
    duplicate_ids(doc["stages"], diagnostics, "stage")
    assert [(d.message, d.path) for d in diagnostics] == [
        ("duplicate stage id 'a' (also at f.yaml $.stages[0])", ("stages", 2, "id"))]


def test_strip_leaves_out_provenance():
    merged, _ = _merge({"stages": [{"id": "lead", "max_days": 9}]})
    plain = strip(merged)
    assert "__top__" not in plain and all("__src__" not in s and "__fields__" not in s for s in plain["stages"])
    assert plain["stages"][0]["jobs"] == [{"id": "call"}, {"id": "mail"}]
    assert strip([1, {"__x": 1, "y": [{"__src__": 0}]}]) == [1, {"y": [{}]}]
