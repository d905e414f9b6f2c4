"""severity.py: one table decides whether a deal's problem is a warning or an error, and
what evaluation does about a warning (SPEC section 2, "People's records are read as
they are")."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowctl.compiled import CompiledWorkflow
from flowctl.deals import DealDoc, check_deal
from flowctl.evaluate import evaluate
from flowctl.metrics import compute_metrics
from flowctl.severity import ERROR, TABLE, WARNING, errors_of, for_evaluation
from flowctl.workflow import load_workflow

HERE = Path(__file__).parent
WORKFLOW, _ = load_workflow(str(HERE / "data" / "valid" / "workflow.yaml"))
assert WORKFLOW is not None
CW = CompiledWorkflow(WORKFLOW)
NOW = dt.date(2026, 12, 1)


def checked(deal: dict) -> tuple[list, dict]:
    found = check_deal(CW, DealDoc("deal.yaml", deal))
    return found, for_evaluation(deal, found)


def kinds(found) -> dict[str, str]:
    return {d.kind: d.severity for d in found}


def test_the_table_has_exactly_the_errors_spec_lists():
    errors = {k for k, (sev, _) in TABLE.items() if sev == ERROR}
    assert errors == {"no_id", "bad_id", "duplicate_id", "bad_outcome", "bad_amount", "bad_date", "unreadable"}
    assert all(sev in (WARNING, ERROR) for sev, _ in TABLE.values())


def test_what_the_workflow_does_not_know_is_a_warning_and_the_deal_is_evaluated():
    deal = {"id": "A", "amount": 1000, "created": "2026-10-01", "industry": "packaging",
            "jobs": {"verify-prospect": "2026-10-03", "verfy-prospect": "2026-10-02"},
            "approvals": {"nope": {"by": "x", "role": "y"}}}
    found, evaluated = checked(deal)
    assert kinds(found) == {"unknown_key": WARNING, "unknown_job": WARNING, "unknown_gate": WARNING}
    assert "did you mean 'verify-prospect'" in " ".join(d.message for d in found)
    assert evaluated is deal  # nothing to ignore: kept as it is
    state = evaluate(CW, evaluated, NOW)
    assert state.stage == "qualified"


def test_a_wrong_role_keeps_the_gate_shut_and_says_whose_approval_is_there():
    jobs = {j.id: "2026-10-05" for s in WORKFLOW.stages[:3] for j in s.required_jobs}
    deal = {"id": "A", "amount": 1000, "created": "2026-10-01", "jobs": jobs, "roi": 1.5,
            "bant": {"budget": True, "authority": True, "need": True, "timeline": True},
            "approvals": {"price-approved": {"by": "carol@example.com", "role": "sales", "at": "2026-10-06"}}}
    found, evaluated = checked(deal)
    assert kinds(found) == {"wrong_role": WARNING}
    state = evaluate(CW, evaluated, NOW)
    gate = next(g for g in state.gates if g.id == "price-approved")
    assert not gate.ok
    assert "carol@example.com as sales" in gate.message and "role management" in gate.message


def test_a_declared_field_of_the_wrong_type_fails_the_gates_reading_it_naming_the_field():
    jobs = {j.id: "2026-10-05" for s in WORKFLOW.stages[:3] for j in s.required_jobs}
    deal = {"id": "A", "amount": 1000, "created": "2026-10-01", "jobs": jobs, "roi": "high",
            "bant": {"budget": True, "authority": True, "need": True, "timeline": True},
            "approvals": {"price-approved": {"by": "bob", "role": "management", "at": "2026-10-06"}}}
    found, evaluated = checked(deal)
    assert kinds(found) == {"wrong_field_type": WARNING}
    state = evaluate(CW, evaluated, NOW)
    assert state.stage == "developed"
    gate = next(g for g in state.gates if g.id == "roi-threshold")
    assert not gate.ok and "field 'roi'" in gate.message and "'high'" in gate.message
    json.dumps(evaluated, default=str)  # still shown as its value


def test_values_of_the_wrong_shape_are_ignored_and_the_rest_is_evaluated():
    deal = {"id": "A", "amount": 1000, "created": "2026-10-01", "probability": 7, "tags": 3,
            "jobs": {"verify-prospect": "2026-10-03", "meet-producers": 5},
            "activities": [{"at": "soon"}, {"at": "2026-11-01"}], "orders": [{"amount": -5}]}
    found, evaluated = checked(deal)
    assert set(kinds(found)) == {"bad_value", "bad_entry"} and not errors_of(found)
    assert "probability" not in evaluated and "tags" not in evaluated
    assert evaluated["jobs"] == {"verify-prospect": "2026-10-03"}
    assert evaluated["activities"] == [{"at": "2026-11-01"}] and evaluated["orders"] == []
    assert deal["probability"] == 7  # the record itself is never changed
    state = evaluate(CW, evaluated, NOW)
    assert state.probability == WORKFLOW.stage_by_id[state.stage].probability


def test_only_a_deal_that_cannot_be_placed_or_counted_is_an_error():
    for deal, kind in [({"amount": 5}, "no_id"), ({"id": [1]}, "bad_id"), ({"id": "A", "outcome": "wonn"}, "bad_outcome"),
                       ({"id": "A", "amount": "lots"}, "bad_amount"), ({"id": "A", "created": "01/10/2026"}, "bad_date"),
                       ({"id": "A", "closed_at": "2026-02-30"}, "bad_date")]:
        found, _ = checked(deal)
        assert kind in kinds(found) and errors_of(found), (deal, found)


# --------------------------------------------------------------------------- properties

DAYS = st.dates(dt.date(2026, 1, 1), dt.date(2026, 11, 30)).map(dt.date.isoformat)
JOB_IDS = sorted(WORKFLOW.job_by_id)
KNOWN_KEYS = set(CW.deal_validator.schema["properties"])


@st.composite
def valid_deals(draw) -> dict:
    deal: dict = {"id": draw(st.text("ABC0123", min_size=1, max_size=6)), "amount": draw(st.integers(0, 10**6)),
                  "created": draw(DAYS), "owner": draw(st.sampled_from(["alice@example.com", "bob@example.com"]))}
    deal["jobs"] = {j: draw(st.one_of(DAYS, st.just(True))) for j in draw(st.lists(st.sampled_from(JOB_IDS), unique=True))}
    if draw(st.booleans()):
        deal["approvals"] = {"price-approved": {"by": "bob", "role": "management", "at": draw(DAYS)}}
    if draw(st.booleans()):
        deal["roi"] = draw(st.floats(0, 3))
    if draw(st.booleans()):
        deal["bant"] = {k: draw(st.booleans()) for k in ("budget", "authority", "need", "timeline")}
    outcome = draw(st.sampled_from(["open", "won", "lost", None]))
    if outcome:
        deal["outcome"] = outcome
        if outcome != "open" and draw(st.booleans()):
            deal["closed_at"] = draw(DAYS)
    return deal


NAMES = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=12)


@st.composite
def additions(draw) -> list[tuple[str, str, object]]:
    """Unknown keys, unknown jobs and approvals for unknown gates."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        what = draw(st.sampled_from(["key", "job", "gate"]))
        name = draw(NAMES.filter(lambda n: n not in KNOWN_KEYS and n not in WORKFLOW.job_by_id
                                 and n not in WORKFLOW.gate_by_id and not n.startswith("x")))
        value: object = {"key": draw(st.one_of(st.text(max_size=5), st.integers(), st.booleans())),
                         "job": draw(st.one_of(DAYS, st.just(True))),
                         "gate": {"by": "eve", "role": draw(NAMES), "at": draw(DAYS)}}[what]
        out.append((what, name, value))
    return out


def _figures(deal: dict) -> tuple:
    found, evaluated = checked(deal)
    assert not errors_of(found), found
    state = evaluate(CW, evaluated, NOW)
    metrics = compute_metrics(WORKFLOW, [state], NOW)
    return (state.stage, state.outcome, state.entered_at, state.closed_at, state.amount, state.probability,
            state.stage_entries, json.dumps(metrics, sort_keys=True, default=str))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_deals(), additions())
def test_what_the_workflow_does_not_know_never_changes_a_stage_or_a_metric(deal, added):
    before = _figures(deal)
    changed = json.loads(json.dumps(deal))
    for what, name, value in added:
        if what == "key":
            changed[name] = value
        elif what == "job":
            changed.setdefault("jobs", {})[name] = value
        else:
            changed.setdefault("approvals", {})[name] = value
    found, _ = checked(changed)
    assert found and all(d.severity == WARNING for d in found)
    assert _figures(changed) == before
