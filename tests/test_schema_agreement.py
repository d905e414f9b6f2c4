"""The two validators built from one schema must agree.

flowctl answers "is this deal valid?" with jsonschema-rs (`SchemaValidator.is_valid`) and
explains a document that is not with jsonschema (`SchemaValidator.problems`). If they
disagree, a bad deal passes silently (fast says yes, the explanation had something to
say) or a deal is refused with nothing to show for it (fast says no, no explanation).
For every document here: is_valid(x) == (not list(problems(x))).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowctl.compiled import CompiledWorkflow
import datetime as dt

from flowctl.deals import DealDoc, check_deal
from flowctl.evaluate import evaluate
from flowctl.severity import TABLE, errors_of, for_evaluation
from flowctl.schema import SchemaValidator, base_schema, deal_schema
from flowctl.workflow import load_workflow, workflow_validator
from flowctl.yamlio import parse

HERE = Path(__file__).parent
REPO = HERE.parent
VALID = HERE / "data" / "valid"
INIT = REPO / "workflows" / "init"


def _load(path: Path):
    return parse(path.read_text("utf-8"), path.name)


WORKFLOW, _ = load_workflow(str(VALID / "workflow.yaml"))
assert WORKFLOW is not None
FIELDS = WORKFLOW.fields
DEALS = SchemaValidator(deal_schema(FIELDS))
WORKFLOWS = workflow_validator()

GOOD_DEAL = _load(VALID / "deals" / "TEST-001.yaml")
NOW = dt.date(2026, 12, 1)

# ---------------------------------------------------------------------------------------
# the deal corpus: (label, document, expected validity or None when only agreement counts)

DATE_KEYS = ["created", "expected_close", "closed_at"]
WRONG_VALUES = [123, -4, 1.5, "text", True, None, [], ["a"], {}, {"k": 1}]


def with_(base: dict, **changes) -> dict:
    doc = copy.deepcopy(base)
    for key, value in changes.items():
        if value is _DROP:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


_DROP = object()


def nested(base: dict, path: tuple, value) -> dict:
    doc = copy.deepcopy(base)
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


def deal_cases() -> list[tuple[str, object, bool | None]]:
    g = GOOD_DEAL
    cases: list[tuple[str, object, bool | None]] = [
        ("good/full", g, True),
        ("good/minimal", {"id": "A"}, True),
        ("good/int-id", {"id": 7}, True),
        ("good/nulls", with_(g, account=None, owner=None, amount=None, expected_close=None, closed_at=None,
                             probability=None, forecast_category=None, lost_reason=None, stage=None, jobs=None,
                             approvals=None, activities=None, history=None, orders=None, notes=None, tags=None,
                             partner=None), True),
        ("good/won", with_(g, outcome="won", closed_at="2026-12-01"), True),
        ("good/lost", with_(g, outcome="lost", closed_at="2026-12-01", lost_reason="price"), True),
        ("good/datetime", with_(g, created="2026-10-01T09:30:00+02:00"), True),
        ("good/datetime-space", with_(g, created="2026-10-01 09:30"), True),
        ("good/job-forms", with_(g, jobs={"verify-prospect": True, "meet-producers": False,
                                          "draw-up-agendas": "2026-01-01", "site-survey": {},
                                          "uncover-issues": {"at": "2026-01-02", "by": "a", "note": "n"}}), True),
        ("good/extension", with_(g, **{"x-crm": {"any": ["thing"]}, "x_score": 3}), True),
        ("good/zero-amount", with_(g, amount=0, probability=0), True),
        ("good/probability-one", with_(g, probability=1), True),
        ("good/empty-lists", with_(g, orders=[], activities=[], history=[], tags=[]), True),
        ("good/activity-extra-keys", with_(g, activities=[{"at": "2026-01-01", "minutes": 30}]), True),
        ("good/order-int-id", with_(g, orders=[{"id": 1, "amount": 5}]), True),
        ("good/schema-key", with_(g, **{"$schema": "./deal.schema.json"}), True),
        ("good/bant-partial", with_(g, bant={"need": True}), True),
        ("good/big-amount", with_(g, amount=10 ** 15), True),
        ("bad/not-a-mapping", ["id", "A"], False),
        ("bad/string", "A", False),
        ("bad/null", None, False),
        ("bad/missing-id", with_(g, id=_DROP), False),
        ("bad/unknown-key", with_(g, ammount=5), False),
        ("bad/unknown-key-not-x", with_(g, xcrm=5), False),
        ("bad/outcome-enum", with_(g, outcome="wonn"), False),
        ("bad/forecast-enum", with_(g, forecast_category="upside"), False),
        ("bad/region-enum", with_(g, region="nowhere"), False),
        ("bad/currency-lower", with_(g, currency="eur"), False),
        ("bad/currency-long", with_(g, currency="EURO"), False),
        ("bad/probability-high", with_(g, probability=1.01), False),
        ("bad/probability-low", with_(g, probability=-0.1), False),
        ("bad/amount-negative", with_(g, amount=-1), False),
        ("bad/amount-bool", with_(g, amount=True), False),
        ("bad/seats-zero", with_(g, seats=0), False),
        ("bad/seats-float", with_(g, seats=2.5), False),
        ("bad/roi-string", with_(g, roi="high"), False),
        ("bad/bant-unknown", with_(g, bant={"budgett": True}), False),
        ("bad/bant-type", with_(g, bant={"budget": "yes"}), False),
        ("bad/bant-list", with_(g, bant=[True]), False),
        ("bad/tags-item", with_(g, tags=["a", 1]), False),
        ("bad/tags-string", with_(g, tags="a"), False),
        ("bad/jobs-list", with_(g, jobs=["verify-prospect"]), False),
        ("bad/job-number", nested(g, ("jobs", "verify-prospect"), 5), False),
        ("bad/job-bad-date", nested(g, ("jobs", "verify-prospect"), "yesterday"), False),
        ("bad/job-object-bad-date", nested(g, ("jobs", "verify-prospect"), {"at": "soon"}), False),
        ("bad/job-object-unknown", nested(g, ("jobs", "verify-prospect"), {"at": "2026-01-01", "nte": "x"}), False),
        ("bad/job-object-by-number", nested(g, ("jobs", "verify-prospect"), {"by": 5}), False),
        ("bad/job-null", nested(g, ("jobs", "verify-prospect"), None), False),
        ("bad/approval-missing-by", nested(g, ("approvals", "price-approved"), {"role": "management"}), False),
        ("bad/approval-missing-both", nested(g, ("approvals", "price-approved"), {"at": "2026-01-01"}), False),
        ("bad/approval-role-type", nested(g, ("approvals", "price-approved"), {"by": "a", "role": 5}), False),
        ("bad/approval-bad-date", nested(g, ("approvals", "price-approved"), {"by": "a", "role": "m", "at": "1/1/26"}), False),
        ("bad/approval-unknown", nested(g, ("approvals", "price-approved"), {"by": "a", "role": "m", "when": "x"}), False),
        ("bad/approval-true", nested(g, ("approvals", "price-approved"), True), False),
        ("bad/activity-missing-at", with_(g, activities=[{"kind": "call"}]), False),
        ("bad/activity-at-number", with_(g, activities=[{"at": 20260101}]), False),
        ("bad/activity-kind-type", with_(g, activities=[{"at": "2026-01-01", "kind": 1}]), False),
        ("bad/activity-string", with_(g, activities=["2026-01-01 call"]), False),
        ("good/history-amount-only", with_(g, history=[{"at": "2026-01-01", "amount": 5, "probability": 0.4}]), True),
        ("bad/history-amount-negative", with_(g, history=[{"at": "2026-01-01", "amount": -5}]), False),
        ("bad/history-category", with_(g, history=[{"at": "2026-01-01", "forecast_category": "maybe"}]), False),
        ("bad/history-missing-at", with_(g, history=[{"stage": "prospect"}]), False),
        ("bad/history-stage-type", with_(g, history=[{"stage": 1, "at": "2026-01-01"}]), False),
        ("bad/history-extra-key", with_(g, history=[{"stage": "prospect", "at": "2026-01-01", "by": "crm"}]), False),
        ("bad/order-missing-amount", with_(g, orders=[{"id": "SO-1"}]), False),
        ("bad/order-negative", with_(g, orders=[{"amount": -5}]), False),
        ("bad/order-amount-string", with_(g, orders=[{"amount": "5"}]), False),
        ("bad/order-completed", with_(g, orders=[{"amount": 5, "completed": "soon"}]), False),
        ("bad/order-id-float", with_(g, orders=[{"amount": 5, "id": 1.5}]), False),
        ("bad/order-unknown", with_(g, orders=[{"amount": 5, "shipped": "2026-01-01"}]), False),
        ("bad/many-at-once", with_(g, amount="x", outcome="maybe", ammount=1, tags=[1]), False),
    ]
    for key in DATE_KEYS:
        for value in ["01/10/2026", "2026-1-5", "20261001", "2026-10-01T", "2026-10-01 9:30", "", "2026-10-01Z"]:
            cases.append((f"bad/date-{key}-{value!r}", with_(g, **{key: value}), False))
        cases.append((f"bad/date-{key}-number", with_(g, **{key: 20261001}), False))
    for key in sorted(deal_schema(FIELDS)["properties"]):
        for value in WRONG_VALUES:
            cases.append((f"any/{key}={json.dumps(value)}", with_(g, **{key: value}), None))
    return cases


DEAL_CASES = deal_cases()


def test_deal_corpus_is_big_and_balanced():
    assert len(DEAL_CASES) >= 60
    assert sum(1 for *_, ok in DEAL_CASES if ok is True) >= 15
    assert sum(1 for *_, ok in DEAL_CASES if ok is False) >= 45
    assert len({label for label, *_ in DEAL_CASES}) == len(DEAL_CASES)


@pytest.mark.parametrize("label,document,expected", DEAL_CASES, ids=[c[0] for c in DEAL_CASES])
def test_deal_validators_agree(label, document, expected):
    fast = DEALS.is_valid(document)
    problems = list(DEALS.problems(document))
    assert fast == (not problems), problems
    if expected is not None:
        assert fast is expected, problems
    for path, message, at_key in problems:
        assert message and isinstance(path, tuple)


@pytest.mark.parametrize("label,document,expected", [c for c in DEAL_CASES if c[2] is False and isinstance(c[1], dict)],
                         ids=[c[0] for c in DEAL_CASES if c[2] is False and isinstance(c[1], dict)])
def test_check_deal_reports_every_invalid_deal(label, document, expected):
    """What validate runs: a deal the fast validator refuses always gets a diagnostic,
    of a kind severity.TABLE knows, with the severity the table gives it; and evaluation
    agrees with validate: a deal with only warnings is evaluated (without what it cannot
    read) and never crashes."""
    cw = CompiledWorkflow(WORKFLOW)
    found = check_deal(cw, DealDoc("deal.yaml", document))
    assert found
    for d in found:
        assert d.kind in TABLE and d.severity == TABLE[d.kind][0], d
    if not errors_of(found):
        state = evaluate(cw, for_evaluation(document, found), NOW)
        assert state.stage in WORKFLOW.stage_by_id


def _repo_deals() -> list[tuple[str, dict, SchemaValidator]]:
    init_wf, _ = load_workflow(str(INIT / "workflow.yaml"))
    init_validator = SchemaValidator(deal_schema(init_wf.fields))
    out = []
    for path in sorted((INIT / "deals").glob("*.yaml")) + sorted((INIT / "deals-to-fix").glob("*.yaml")):
        out.append((f"init/{path.parent.name}/{path.name}", _load(path), init_validator))
    for path in sorted((VALID / "deals").iterdir()):
        doc = _load(path)
        for i, deal in enumerate(doc["deals"] if "deals" in doc and "id" not in doc else [doc]):
            out.append((f"valid/{path.name}[{i}]", deal, DEALS))
    return out


@pytest.mark.parametrize("label,deal,validator", _repo_deals(), ids=[c[0] for c in _repo_deals()])
def test_repository_deals_are_valid_for_both(label, deal, validator):
    assert validator.is_valid(deal)
    assert list(validator.problems(deal)) == []


# Known ways the two could part: regular-expression dialects (Python's `$` matches before
# a final newline, its `\d` matches every Unicode digit), `format`, which jsonschema checks
# when given a format checker and jsonschema-rs skips, and non-finite numbers.
EDGE_CASES = [
    ("currency-trailing-newline", with_(GOOD_DEAL, currency="EUR\n")),
    ("date-trailing-newline", with_(GOOD_DEAL, created="2026-10-01\n")),
    ("job-date-trailing-newline", nested(GOOD_DEAL, ("jobs", "verify-prospect"), "2026-10-03\n")),
    ("date-arabic-indic-digits", with_(GOOD_DEAL, created="٢٠٢٦-١٠-٠١")),
    ("date-fullwidth-digits", with_(GOOD_DEAL, created="２０２６-１０-０１")),
    ("amount-nan", with_(GOOD_DEAL, amount=float("nan"))),
    ("amount-infinity", with_(GOOD_DEAL, amount=float("inf"))),
    ("int-job-key", nested(GOOD_DEAL, ("jobs", 2024), True)),
]


@pytest.mark.parametrize("label,document", EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
def test_deal_validators_agree_on_edge_cases(label, document):
    fast = DEALS.is_valid(document)
    problems = list(DEALS.problems(document))
    assert fast == (not problems), (fast, problems)


@pytest.mark.parametrize("label,document", EDGE_CASES[:5], ids=[c[0] for c in EDGE_CASES[:5]])
def test_edge_cases_are_refused_with_a_diagnostic(label, document):
    """None of these is a date or a currency code: never passed silently. A core date
    that is not a date is an error; a currency or a job date that is not one, a warning
    (the value is ignored)."""
    found = check_deal(CompiledWorkflow(WORKFLOW), DealDoc("deal.yaml", document))
    assert found
    core = any(document.get(k) != GOOD_DEAL.get(k) for k in ("created", "expected_close", "closed_at"))
    assert bool(errors_of(found)) is core, found


@pytest.mark.parametrize("fields,value", [
    ({"signed": {"type": "string", "format": "date"}}, "2026-02-30"),
    ({"contact": {"type": "string", "format": "email"}}, "not an address"),
    ({"site": {"type": "string", "format": "uri"}}, "::"),
])
def test_validators_agree_on_format_in_workflow_fields(fields, value):
    """A company's `fields` may use `format`; both validators must treat it alike."""
    validator = SchemaValidator(deal_schema(fields))
    document = {"id": "A", next(iter(fields)): value}
    assert validator.is_valid(document) == (not list(validator.problems(document)))


# ---------------------------------------------------------------------------------------
# random deals: any JSON value at any known key (printable text, finite numbers)

_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("éüßñ"), max_size=12)
_DATEISH = st.sampled_from(["2026-10-01", "2026-10-01T09:30:00Z", "2026-1-1", "1/2/2026", "2026-10-01 09:30"])
_SCALARS = st.none() | st.booleans() | st.integers(-10 ** 6, 10 ** 6) | st.floats(allow_nan=False, allow_infinity=False) | _TEXT | _DATEISH
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["at", "by", "note", "role", "stage", "amount", "id", "completed", "kind", "budget", "x"]) | _TEXT,
    inner, max_size=4), max_leaves=8)
_KEYS = sorted(deal_schema(FIELDS)["properties"]) + ["ammount", "x-free", "zzz"]


@settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(_KEYS), _JSON, min_size=1, max_size=3))
def test_random_deals(changes):
    document = {**copy.deepcopy(GOOD_DEAL), **changes}
    assert DEALS.is_valid(document) == (not list(DEALS.problems(document)))


# ---------------------------------------------------------------------------------------
# workflow documents


GOOD_WORKFLOW = {
    "flowctl": 1, "name": "w", "description": {"en": "A", "es": "B"}, "locale": "es", "currency": "EUR",
    "quotas": {"default": 1000, "alice@example.com": 2000.5}, "fields": {"roi": {"type": "number"}},
    "stages": [
        {"id": "prospect", "name": {"en": "Prospect", "de": "Interessent"}, "probability": 0.1,
         "forecast_category": "pipeline", "max_days": 14, "rot_days": 7,
         "jobs": [{"id": "call", "title": "Call", "owner": "rep", "due": "7d", "required": False},
                  {"id": "render", "uses": "render", "with": {"template": "p.j2"},
                   "retry": {"attempts": 3, "backoff": "2s", "backoff_rate": 2}}],
         "gates": [{"id": "roi", "when": "deal.roi > 1", "message": "ROI"}, {"id": "ok", "approval": "management"}]},
        {"id": "won", "terminal": True, "probability": 1},
    ],
    "metrics": [{"id": "conv", "kind": "conversion", "from": "prospect", "to": "won", "target": ">= 0.3"},
                {"id": "own", "kind": "plugin_kind", "anything": ["goes"]}],
    "channels": {"mail": {"use": "smtp", "host": "h"}, "console": {"use": "console"}},
    "notifications": [{"on": "job_overdue", "channel": "mail", "to": "{{ deal.owner }}"},
                      {"id": "n", "on": ["deal_won", "deal_lost"], "channel": "console", "digest": True,
                       "where": "deal.amount > 0"}],
}


def _stage(doc, **changes):
    return nested(doc, ("stages", 0), {**doc["stages"][0], **changes})


def _job(doc, **changes):
    job = {**doc["stages"][0]["jobs"][0], **changes}
    return nested(doc, ("stages", 0, "jobs", 0), job)


def _gate(doc, **changes):
    return nested(doc, ("stages", 0, "gates", 0), {**doc["stages"][0]["gates"][0], **changes})


def workflow_cases() -> list[tuple[str, object, bool | None]]:
    w = GOOD_WORKFLOW
    cases: list[tuple[str, object, bool | None]] = [
        ("good/full", w, True),
        ("good/minimal", {"flowctl": 1}, True),
        ("good/overlay", {"flowctl": 1, "extends": "builtin:six-stage",
                          "stages": [{"id": "prospect", "remove": True}, {"id": "x", "after": "qualified"}]}, True),
        ("good/label-string", _stage(w, name="Prospect"), True),
        ("good/label-region", _stage(w, name={"pt_BR": "Prospecção", "en-GB": "Prospect"}), True),
        ("good/durations", _job(w, due="36h"), True),
        ("good/duration-weeks", _job(w, due=" 2w "), True),
        ("good/probability-zero", _stage(w, probability=0), True),
        ("good/schema-key", {**w, "$schema": "./workflow.schema.json"}, True),
        ("good/channel-extra", nested(w, ("channels", "hook"), {"use": "webhook", "url": "u", "secret_env": "S"}), True),
        ("bad/not-a-mapping", [w], False),
        ("bad/version", {**w, "flowctl": 2}, False),
        ("bad/version-string", {**w, "flowctl": "1"}, False),
        ("bad/missing-version", with_(w, flowctl=_DROP), False),
        ("bad/unknown-top", {**w, "nme": "x"}, False),
        ("bad/extends-empty", {**w, "extends": ""}, False),
        ("bad/locale", {**w, "locale": "english"}, False),
        ("bad/currency", {**w, "currency": "eur"}, False),
        ("bad/quota-negative", nested(w, ("quotas", "default"), -1), False),
        ("bad/quota-string", nested(w, ("quotas", "default"), "1000"), False),
        ("bad/fields-not-schema", nested(w, ("fields", "roi"), "number"), False),
        ("bad/stages-mapping", {**w, "stages": {"prospect": {}}}, False),
        ("bad/stage-missing-id", nested(w, ("stages", 1), {"terminal": True}), False),
        ("bad/stage-id-pattern", _stage(w, id="bad id"), False),
        ("bad/stage-id-long", _stage(w, id="a" * 101), False),
        ("bad/stage-id-number", _stage(w, id=7), False),
        ("bad/stage-unknown", _stage(w, probabilty=0.1), False),
        ("bad/probability-high", _stage(w, probability=1.5), False),
        ("bad/probability-string", _stage(w, probability="0.5"), False),
        ("bad/forecast-category", _stage(w, forecast_category="upside"), False),
        ("bad/max-days-float", _stage(w, max_days=1.5), False),
        ("bad/rot-days-negative", _stage(w, rot_days=-1), False),
        ("bad/terminal-number", _stage(w, terminal=1), False),
        ("bad/label-number", _stage(w, name=5), False),
        ("bad/label-empty", _stage(w, name={}), False),
        ("bad/label-locale", _stage(w, name={"english": "x"}), False),
        ("bad/label-value", _stage(w, name={"en": 5}), False),
        ("bad/jobs-mapping", _stage(w, jobs={"call": {}}), False),
        ("bad/job-missing-id", nested(w, ("stages", 0, "jobs", 0), {"title": "x"}), False),
        ("bad/job-unknown", _job(w, titel="x"), False),
        ("bad/job-due", _job(w, due="7x"), False),
        ("bad/job-due-number", _job(w, due=7), False),
        ("bad/job-due-fraction", _job(w, due="1.5d"), False),
        ("bad/job-required", _job(w, required="yes"), False),
        ("bad/job-done-when-empty", _job(w, done_when=""), False),
        ("bad/job-with-list", _job(w, **{"with": ["x"]}), False),
        ("bad/job-owner-list", _job(w, owner=["a"]), False),
        ("bad/retry-attempts", _job(w, retry={"attempts": 0}), False),
        ("bad/retry-attempts-high", _job(w, retry={"attempts": 21}), False),
        ("bad/retry-backoff", _job(w, retry={"backoff": "2 seconds"}), False),
        ("bad/retry-rate", _job(w, retry={"backoff_rate": 0.5}), False),
        ("bad/retry-unknown", _job(w, retry={"tries": 3}), False),
        ("bad/gate-unknown", _gate(w, wen="x"), False),
        ("bad/gate-when-number", _gate(w, when=5), False),
        ("bad/gate-approval-list", _gate(w, approval=["a"]), False),
        ("bad/gate-remove-string", _gate(w, remove="yes"), False),
        # An overlay may update a metric or rule by id alone: `kind`, `on` and `channel` are
        # required of the merged workflow (workflow.check), not of each file.
        ("overlay/metric-without-kind", nested(w, ("metrics", 0), {"id": "m"}), True),
        ("bad/metric-target", nested(w, ("metrics", 0), {"id": "m", "kind": "count", "target": "at least 3"}), False),
        ("bad/metric-from-number", nested(w, ("metrics", 0), {"id": "m", "kind": "count", "from": 1}), False),
        ("bad/channel-missing-use", nested(w, ("channels", "mail"), {"host": "h"}), False),
        ("bad/channel-not-mapping", nested(w, ("channels", "mail"), "smtp"), False),
        ("bad/notification-event", nested(w, ("notifications", 0), {"on": "deal_wonn", "channel": "mail"}), False),
        ("bad/notification-events-empty", nested(w, ("notifications", 0), {"on": [], "channel": "mail"}), False),
        ("bad/notification-events-item", nested(w, ("notifications", 0), {"on": ["deal_won", "x"], "channel": "mail"}), False),
        ("overlay/notification-by-id", nested(w, ("notifications", 0), {"id": "n"}), True),
        ("bad/notification-unknown", nested(w, ("notifications", 0), {"on": "deal_won", "channel": "m", "too": "x"}), False),
        ("bad/notification-digest", nested(w, ("notifications", 0), {"on": "deal_won", "channel": "m", "digest": "yes"}), False),
    ]
    for path in sorted((REPO / "workflows").glob("*.yaml")) + [INIT / "workflow.yaml", VALID / "workflow.yaml",
                                                              VALID / "overlay.yaml"]:
        cases.append((f"repo/{path.relative_to(REPO)}", _load(path), True))
    for key in sorted(base_schema("workflow")["properties"]):
        for value in WRONG_VALUES:
            cases.append((f"any/{key}={json.dumps(value)}", {**w, key: value}, None))
    for key in sorted(base_schema("workflow")["properties"]["stages"]["items"]["properties"]):
        for value in WRONG_VALUES[:6]:
            cases.append((f"any/stage.{key}={json.dumps(value)}", _stage(w, **{key: value}), None))
    return cases


WORKFLOW_CASES = workflow_cases()


def test_workflow_corpus_is_big_and_balanced():
    assert len(WORKFLOW_CASES) >= 60
    assert sum(1 for *_, ok in WORKFLOW_CASES if ok is True) >= 10
    assert sum(1 for *_, ok in WORKFLOW_CASES if ok is False) >= 45
    assert len({label for label, *_ in WORKFLOW_CASES}) == len(WORKFLOW_CASES)


@pytest.mark.parametrize("label,document,expected", WORKFLOW_CASES, ids=[c[0] for c in WORKFLOW_CASES])
def test_workflow_validators_agree(label, document, expected):
    fast = WORKFLOWS.is_valid(document)
    problems = list(WORKFLOWS.problems(document))
    assert fast == (not problems), problems
    if expected is not None:
        assert fast is expected, problems


def test_no_problem_is_explained_twice():
    """A mapping missing two required keys is two problems, each said once."""
    problems = list(WORKFLOWS.problems(nested(GOOD_WORKFLOW, ("channels", "mail"), {"host": "h", "port": "x"})))
    assert len(problems) == len(set(problems))
    deal = nested(GOOD_DEAL, ("approvals", "price-approved"), {"at": "2026-01-01"})
    assert sorted(p[1] for p in DEALS.problems(deal)) == ["missing required key 'by'", "missing required key 'role'"]


@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stage_changes=st.dictionaries(
    st.sampled_from(sorted(base_schema("workflow")["properties"]["stages"]["items"]["properties"]) + ["zzz"]),
    _JSON, min_size=1, max_size=3),
    job_changes=st.dictionaries(st.sampled_from(["id", "title", "due", "required", "retry", "with", "uses", "zzz"]),
                                _JSON, max_size=2))
def test_random_workflows(stage_changes, job_changes):
    document = _job(_stage(GOOD_WORKFLOW, **stage_changes), **job_changes) if "jobs" not in stage_changes \
        else _stage(GOOD_WORKFLOW, **stage_changes)
    assert WORKFLOWS.is_valid(document) == (not list(WORKFLOWS.problems(document)))
