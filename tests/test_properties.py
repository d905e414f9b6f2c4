"""Properties (issue #8), checked with hypothesis over generated deals and workflows:

- evaluation is deterministic, and never changes the deal it reads;
- a second run with no change is a no-op: no events, actions or notifications;
- adding a done job or an approval never moves a deal backwards (stage index, outcome);
- `extends` with an empty overlay changes nothing (stages, jobs, gates, probabilities);
- `flowctl done` / `flowctl approve` change nothing in a deal file but what they add.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import Project
from flowctl import dealedit
from flowctl.compiled import CompiledWorkflow
from flowctl.evaluate import evaluate
from flowctl.testing import invoke_cli
from flowctl.workflow import builtin_names, load_workflow

HERE = Path(__file__).parent
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])
SLOW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])

WORKFLOW = textwrap.dedent("""\
    flowctl: 1
    name: properties
    fields:
      roi: {type: number}
      bant:
        type: object
        properties: {budget: {type: boolean}, need: {type: boolean}}
    stages:
      - id: prospect
        probability: 0.1
        max_days: 10
        rot_days: 5
        jobs:
          - {id: verify, due: 7d}
          - {id: meet, required: false}
          - {id: research, done_when: "deal.amount is number and deal.amount > 5000"}
      - id: qualified
        probability: 0.3
        jobs:
          - {id: agenda, due: 3d}
        gates:
          - {id: bant, when: "deal.bant.budget and deal.bant.need", message: BANT incomplete}
      - id: developed
        probability: 0.5
        jobs:
          - {id: demo}
        gates:
          - {id: roi-ok, when: "deal.roi >= 1.2"}
          - {id: price-approved, approval: management}
      - id: proposed
        probability: 0.7
        jobs:
          - {id: send-proposal, due: 14d}
        gates:
          - {id: legal-ok, approval: legal}
          - {id: settled, when: "days_in_stage >= 0"}
      - id: closed
        terminal: true
        jobs:
          - {id: deliver, due: 30d}
    notifications:
      - {on: [stage_entered, job_overdue, deal_stuck, deal_rotting, gate_blocked, deal_won, deal_lost], channel: console}
    """)
JOBS = ["verify", "meet", "research", "agenda", "demo", "send-proposal", "deliver"]
GATES = {"price-approved": "management", "legal-ok": "legal"}
STAGES = ["prospect", "qualified", "developed", "proposed", "closed"]
OUTCOME_RANK = {"open": 0, "won": 1, "lost": 1}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> CompiledWorkflow:
    path = tmp_path_factory.mktemp("wf") / "workflow.yaml"
    path.write_text(WORKFLOW)
    wf, diagnostics = load_workflow(path)
    assert wf is not None, [d.format() for d in diagnostics]
    return CompiledWorkflow(wf)


# --------------------------------------------------------------------------- strategies

dates = st.dates(min_value=dt.date(2025, 6, 1), max_value=dt.date(2027, 6, 1))
iso = dates.map(dt.date.isoformat)
done_value = st.one_of(iso, st.just(True), st.builds(lambda at, by: {"at": at, "by": by}, iso,
                                                     st.sampled_from(["ann", "bob"])))


@st.composite
def deals(draw) -> dict:
    deal: dict[str, Any] = {"id": "P-" + str(draw(st.integers(0, 999))), "owner": "bob@example.com",
                            "amount": draw(st.one_of(st.none(), st.integers(0, 20000), st.floats(0, 1e6))),
                            "created": draw(iso)}
    jobs = draw(st.dictionaries(st.sampled_from(JOBS), done_value, max_size=len(JOBS)))
    if jobs:
        deal["jobs"] = jobs
    approvals = draw(st.dictionaries(st.sampled_from(sorted(GATES)), st.builds(
        lambda g, at: (g, at), st.just(None), iso), max_size=2))
    if approvals:
        deal["approvals"] = {g: {"by": "boss@example.com", "role": GATES[g], "at": at} for g, (_, at) in approvals.items()}
    if draw(st.booleans()):
        deal["bant"] = {"budget": draw(st.booleans()), "need": draw(st.booleans())}
    if draw(st.booleans()):
        deal["roi"] = draw(st.floats(0, 3))
    if draw(st.integers(0, 4)) == 0:
        deal["outcome"] = draw(st.sampled_from(["open", "won", "lost"]))
        if deal["outcome"] == "lost":
            deal["closed_at"] = draw(iso)
    if draw(st.integers(0, 3)) == 0:
        deal["history"] = [{"stage": draw(st.sampled_from(STAGES[:-1])), "at": draw(iso)}]
    if draw(st.booleans()):
        deal["activities"] = [{"at": draw(iso), "kind": "call"}]
    if draw(st.integers(0, 4)) == 0:
        deal["stage"] = draw(st.sampled_from(STAGES))
    return deal


def comparable(state: Any) -> Any:
    """A DealState as plain data (the deal itself aside)."""
    import dataclasses
    data = dataclasses.asdict(state)
    data.pop("deal")
    return json.dumps(data, sort_keys=True, default=str)


# --------------------------------------------------------------------------- evaluation


@SETTINGS
@given(deal=deals(), now=dates)
def test_evaluation_is_deterministic_and_reads_only(compiled: CompiledWorkflow, deal: dict, now: dt.date) -> None:
    original = copy.deepcopy(deal)
    first = evaluate(compiled, deal, now)
    second = evaluate(compiled, copy.deepcopy(deal), now)
    third = evaluate(CompiledWorkflow(compiled.workflow), deal, now)
    assert comparable(first) == comparable(second) == comparable(third)
    assert deal == original, "evaluation changed the deal"


@SETTINGS
@given(deal=deals(), now=dates, job=st.sampled_from(JOBS), at=iso)
def test_a_done_job_never_moves_a_deal_backwards(compiled: CompiledWorkflow, deal: dict, now: dt.date, job: str,
                                                 at: str) -> None:
    assume(job not in (deal.get("jobs") or {}))
    before = evaluate(compiled, deal, now)
    more = copy.deepcopy(deal)
    more.setdefault("jobs", {})[job] = at
    after = evaluate(compiled, more, now)
    assert after.stage_index >= before.stage_index, (before.stage, after.stage, deal, job)
    assert OUTCOME_RANK[after.outcome] >= OUTCOME_RANK[before.outcome], (before.outcome, after.outcome)
    if before.outcome != "open":
        assert after.outcome == before.outcome


@SETTINGS
@given(deal=deals(), now=dates, gate=st.sampled_from(sorted(GATES)), at=iso)
def test_an_approval_never_moves_a_deal_backwards(compiled: CompiledWorkflow, deal: dict, now: dt.date, gate: str,
                                                  at: str) -> None:
    assume(gate not in (deal.get("approvals") or {}))
    before = evaluate(compiled, deal, now)
    more = copy.deepcopy(deal)
    more.setdefault("approvals", {})[gate] = {"by": "boss@example.com", "role": GATES[gate], "at": at}
    after = evaluate(compiled, more, now)
    assert after.stage_index >= before.stage_index, (before.stage, after.stage, deal, gate)
    assert OUTCOME_RANK[after.outcome] >= OUTCOME_RANK[before.outcome]
    if before.outcome != "open":
        assert after.outcome == before.outcome


# --------------------------------------------------------------------------- a second run is a no-op


def cli(*args: Any, cwd: Path) -> Any:
    return invoke_cli(*args, cwd=cwd)


@SLOW
@given(batch=st.lists(deals(), min_size=1, max_size=6, unique_by=lambda d: d["id"]), now=dates,
       touch=st.booleans())
def test_a_second_run_with_no_change_does_nothing(tmp_path_factory, batch: list[dict], now: dt.date,
                                                  touch: bool) -> None:
    root = tmp_path_factory.mktemp("noop")
    project = Project(root, WORKFLOW)
    project.data(*batch)
    args = ("run", "-w", project.workflow, project.deals, "--now", now.isoformat(),
            "--store", f"sqlite:///{root / 's.db'}", "--format", "json")
    first = cli(*args, cwd=root)
    assert first.exit_code in (0, 1), first.output
    if touch:  # same bytes, new mtime: the files are read and evaluated again
        for f in (root / "deals").iterdir():
            os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    second = cli(*args, cwd=root)
    assert second.exit_code == first.exit_code, second.output
    report = json.loads(second.stdout)
    assert report["events"] == [], report["events"]
    summary = report["summary"]
    assert summary.get("actions_ok", 0) == summary.get("actions_failed", 0) == 0
    assert summary.get("notifications_queued", 0) == 0
    assert summary.get("sent", 0) == 0, "the second run sent notifications again"
    one = {d["id"]: (d["stage"], d["outcome"]) for d in json.loads(first.stdout)["deals"]}
    two = {d["id"]: (d["stage"], d["outcome"]) for d in report["deals"]}
    assert one == two


# --------------------------------------------------------------------------- extends with an empty overlay


def shape(wf: Any) -> list:
    return [(s.id, s.probability, s.forecast_category, s.max_days, s.rot_days, s.terminal,
             [(j.id, j.required, j.due, j.done_when, j.uses, j.owner) for j in s.jobs],
             [(g.id, g.when, g.approval) for g in s.gates]) for s in wf.stages]


@st.composite
def workflows(draw) -> str:
    n = draw(st.integers(2, 6))
    probs = sorted(draw(st.lists(st.floats(0, 1).map(lambda x: round(x, 3)), min_size=n - 1, max_size=n - 1)))
    stages = []
    counter = iter(range(1000))
    for i in range(n):
        stage: dict[str, Any] = {"id": f"s{i}"}
        if i < n - 1:
            if draw(st.booleans()):
                stage["probability"] = probs[i]
            if draw(st.booleans()):
                stage["max_days"] = draw(st.integers(0, 60))
            jobs = [{"id": f"j{next(counter)}", **({"required": False} if draw(st.booleans()) else {}),
                     **({"due": f"{draw(st.integers(1, 30))}d"} if draw(st.booleans()) else {})}
                    for _ in range(draw(st.integers(0, 3)))]
            if jobs:
                stage["jobs"] = jobs
            gates = [draw(st.sampled_from([{"when": "deal.amount > 10"}, {"approval": "management"},
                                           {"when": "days_in_stage > 2", "approval": "legal"}]))
                     | {"id": f"g{next(counter)}"} for _ in range(draw(st.integers(0, 2)))]
            if gates:
                stage["gates"] = gates
        else:
            stage["terminal"] = True
        stages.append(stage)
    return yaml.safe_dump({"flowctl": 1, "name": "generated", "stages": stages}, sort_keys=False)


@SETTINGS
@given(base=workflows())
def test_extends_with_an_empty_overlay_changes_nothing(tmp_path_factory, base: str) -> None:
    root = tmp_path_factory.mktemp("extends")
    (root / "base.yaml").write_text(base)
    (root / "overlay.yaml").write_text("flowctl: 1\nextends: base.yaml\n")
    wf, d1 = load_workflow(root / "base.yaml")
    over, d2 = load_workflow(root / "overlay.yaml")
    assert wf is not None, [d.format() for d in d1]
    assert over is not None, [d.format() for d in d2]
    assert shape(over) == shape(wf)
    assert over.fields == wf.fields and over.channels == wf.channels and over.notifications == wf.notifications


@pytest.mark.parametrize("base", [f"builtin:{n}" for n in builtin_names()] + ["valid/workflow.yaml"])
def test_empty_overlay_of_shipped_workflows_changes_nothing(base: str, tmp_path: Path) -> None:
    if base.startswith("builtin:"):
        (tmp_path / "base.yaml").write_text(f"flowctl: 1\nextends: {base}\n")
        ref = tmp_path / "base.yaml"
        reference, _ = load_workflow(ref)
        (tmp_path / "overlay.yaml").write_text("flowctl: 1\nextends: base.yaml\n")
    else:
        ref = HERE / "data" / base
        reference, _ = load_workflow(ref)
        (tmp_path / "overlay.yaml").write_text(f"flowctl: 1\nextends: {ref}\n")
    over, diagnostics = load_workflow(tmp_path / "overlay.yaml")
    assert reference is not None and over is not None, [d.format() for d in diagnostics]
    assert shape(over) == shape(reference)


# --------------------------------------------------------------------------- done and approve add, and only add

SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip)


@st.composite
def deal_texts(draw) -> tuple[str, str]:
    """A deal file as a person might write it: comments, flow or block style, quoting,
    CRLF, BOM, and a jobs: section absent, empty, null, flow or block."""
    deal_id = draw(st.sampled_from(["D-1", "ACME-2026-001", "'quoted id'"]))
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    lines = []
    if draw(st.booleans()):
        lines.append("# a comment at the top")
    lines.append(f"id: {deal_id}")
    lines.append(draw(st.sampled_from(["name: Fleet telemetry", "name: 'Fleet: telemetry'", 'name: "Fleet \\u00e9"',
                                       "name: >\n  folded\n  text"])))
    if draw(st.booleans()):
        lines.append("amount: 120000   # in EUR")
    jobs = draw(st.sampled_from(["absent", "empty-flow", "null", "flow", "block", "block-commented", "tilde"]))
    if jobs == "empty-flow":
        lines.append("jobs: {}")
    elif jobs == "null":
        lines.append("jobs:")
    elif jobs == "tilde":
        lines.append("jobs: ~")
    elif jobs == "flow":
        lines.append("jobs: {verify: 2026-10-03, meet: {at: 2026-10-05, by: alice}}")
    elif jobs in ("block", "block-commented"):
        lines.append("jobs:\n  verify: 2026-10-03" + ("   # by phone\n  # meet is next" if jobs == "block-commented" else "")
                     + "\n  meet: {at: 2026-10-05, by: alice}")
    approvals = draw(st.sampled_from(["absent", "block", "flow"]))
    if approvals == "block":
        lines.append("approvals:\n  roi-approved: {by: bob, role: finance, at: 2026-11-01}")
    elif approvals == "flow":
        lines.append("approvals: {roi-approved: {by: bob, role: finance, at: 2026-11-01}}")
    if draw(st.booleans()):
        lines.append("activities:\n  - {at: 2026-11-20, kind: call, note: pricing follow-up}")
    if draw(st.booleans()):
        lines.append("# trailing comment")
    order = draw(st.permutations(lines[1 if lines[0].startswith("#") else 0:]))
    text = "\n".join(([lines[0]] if lines[0].startswith("#") else []) + list(order)).replace("\n", nl)
    if draw(st.booleans()):
        text += nl
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text, yaml.safe_load(deal_id) if deal_id.startswith("'") else deal_id


def _load(data: bytes) -> Any:
    return yaml.load(data.decode("utf-8-sig"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _is_subsequence(old: bytes, new: bytes) -> bool:
    it = iter(new)
    return all(b in it for b in old)


@SETTINGS
@given(case=deal_texts(), job=st.sampled_from(["verify", "agenda", "demo", "new-job"]), at=dates,
       by=st.one_of(st.none(), SAFE_TEXT), note=st.one_of(st.none(), SAFE_TEXT))
def test_done_adds_the_job_and_nothing_else(tmp_path_factory, case: tuple[str, str], job: str, at: dt.date,
                                            by: str | None, note: str | None) -> None:
    text, deal_id = case
    path = tmp_path_factory.mktemp("done") / "deal.yaml"
    path.write_bytes(text.encode("utf-8"))
    old = path.read_bytes()
    before = _load(old)
    try:
        wrote = dealedit.record_job_done(path, str(deal_id), job, at=at, by=by, note=note)
    except dealedit.DealEditError:
        assert path.read_bytes() == old, "a refused edit changed the file"
        return
    new = path.read_bytes()
    after = _load(new)
    if not wrote:
        assert new == old
        assert (before.get("jobs") or {}).get(job) not in (None, False)
        return
    expected = copy.deepcopy(before)
    value: Any = at if by is None and note is None else {"at": at, **({"by": by} if by is not None else {}),
                                                         **({"note": note} if note is not None else {})}
    if not isinstance(expected.get("jobs"), dict):
        expected["jobs"] = {}
    expected["jobs"][job] = value
    assert after == expected
    if before.get("jobs") is not None:  # pure insertion: every old byte kept, in order
        assert _is_subsequence(old, new)
    assert old.startswith(b"\xef\xbb\xbf") == new.startswith(b"\xef\xbb\xbf")
    assert (b"\r\n" in old) <= (new.count(b"\n") == new.count(b"\r\n"))


@SETTINGS
@given(case=deal_texts(), gate=st.sampled_from(["price-approved", "legal-ok", "roi-approved"]), at=dates,
       by=SAFE_TEXT, role=st.sampled_from(["management", "legal", "finance"]))
def test_approve_adds_the_approval_and_nothing_else(tmp_path_factory, case: tuple[str, str], gate: str, at: dt.date,
                                                    by: str, role: str) -> None:
    text, deal_id = case
    path = tmp_path_factory.mktemp("approve") / "deal.yaml"
    path.write_bytes(text.encode("utf-8"))
    old = path.read_bytes()
    before = _load(old)
    try:
        wrote = dealedit.record_approval(path, str(deal_id), gate, role=role, by=by, at=at)
    except dealedit.DealEditError:
        assert path.read_bytes() == old, "a refused edit changed the file"
        return
    new = path.read_bytes()
    after = _load(new)
    if not wrote:
        assert new == old
        return
    expected = copy.deepcopy(before)
    if not isinstance(expected.get("approvals"), dict):
        expected["approvals"] = {}
    expected["approvals"][gate] = {"by": by, "role": role, "at": at}
    assert after == expected
    if before.get("approvals") is not None:
        assert _is_subsequence(old, new)
