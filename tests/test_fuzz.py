"""Fuzzing the reading and evaluation of deal files, in-process: any bytes, any shape.

Every document, whatever its bytes, ends as placed deals or as diagnostics that name the
file (with a line, or a path into the document); no exception escapes. Documents that
once failed are kept in tests/data/fuzz-corpus/ and replayed as explicit examples: when
this test finds a new one, add the file there (hypothesis prints it).
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compiled import CompiledWorkflow
from engine.pipeline import evaluate_all
from engine.workflow import load_workflow

DATA = Path(__file__).parent / "data"
CORPUS = sorted((DATA / "fuzz-corpus").iterdir())
WORKFLOW_FILE = DATA / "valid" / "workflow.yaml"
NOW = dt.date(2026, 1, 5)
WHOLE_FILE = ("empty file", "a deal file must be", "binary file", "not UTF-8", "too large", "nesting too deep",
              "more than one YAML document", "YAML error", "a value cannot be read")


@pytest.fixture(scope="module")
def compiled() -> CompiledWorkflow:
    workflow, found = load_workflow(str(WORKFLOW_FILE), None)
    assert workflow is not None, found
    return CompiledWorkflow(workflow)


def check(compiled: CompiledWorkflow, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    for item in evaluate_all(compiled, [str(path)], NOW):
        if item.ok:
            assert item.state is not None and item.state.stage in compiled.workflow.stage_by_id
        else:
            assert item.diagnostics, item
        for d in item.diagnostics:
            assert d.file == str(path)
            assert d.line is not None or d.path or d.message.startswith(WHOLE_FILE), d.format()
            d.format()


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_the_kept_corpus(compiled, tmp_path, case):
    check(compiled, tmp_path / case.name, case.read_bytes())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".yaml", ".json"]))
def test_any_bytes(compiled, tmp_path, data, suffix):
    check(compiled, tmp_path / f"d{suffix}", data)


KEYS = ["id", "name", "owner", "amount", "currency", "created", "expected_close", "outcome", "closed_at",
        "probability", "forecast_category", "jobs", "approvals", "activities", "history", "orders", "stage",
        "verify-prospect", "at", "by", "note", "kind", "price-approved", "role", "deals", "x-crm"]
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False),
                     st.text(max_size=12), st.sampled_from(["2026-01-02", "9999-12-31", "0001-01-01", "2026-02-30",
                                                            "2026-01-02T09:30:00Z", "1:30:00", "010", "yes", "open",
                                                            "won", "lost", "\x1b[2J", "\ud800"]))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)),
    max_leaves=25)
_deals = st.fixed_dictionaries({"id": st.one_of(st.text(max_size=6), st.integers()), "created": _scalars},
                               optional={k: _values for k in KEYS if k not in ("id", "created")})


def _yaml(doc: Any, flow: bool) -> bytes:
    return yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=True).encode("utf-8", "surrogatepass")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=_deals | _values, flow=st.booleans(), cut=st.integers(0, 400))
def test_any_structure_as_yaml_and_json(compiled, tmp_path, doc, flow, cut):
    check(compiled, tmp_path / "d.yaml", _yaml(doc, flow))
    check(compiled, tmp_path / "d.json", json.dumps(doc).encode())
    text = _yaml(doc, flow)
    check(compiled, tmp_path / "cut.yaml", text[:cut])  # truncated mid-way, as a crashed editor leaves it
