"""Metrics (SPEC sections 1 and 5): each definition on a small hand-made deal set with
exact expected numbers; declared metrics with where, group_by and target; alerts."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conftest import Project
from flowctl.compiled import CompiledWorkflow
from flowctl.metric_stats import Days
from flowctl.metrics import compute_metrics, metric_alerts, parse_target
from flowctl.pipeline import evaluate_all
from flowctl.plugin_manager import Plugins
from flowctl.testing import invoke_cli
from flowctl.workflow import load_workflow

NOW = "2026-03-31"

# Six deals. Stage entries come from `history:`; the expected figures below are worked
# out by hand from these dates (see each test).
DEALS = [
    {"id": "A", "owner": "alice@example.com", "product": "X", "amount": 1000, "created": "2026-01-01",
     "history": [{"stage": "prospect", "at": "2026-01-01"}, {"stage": "qualified", "at": "2026-01-11"},
                 {"stage": "proposed", "at": "2026-01-21"}],
     "outcome": "won", "closed_at": "2026-02-10"},
    {"id": "B", "owner": "bob@example.com", "product": "Y", "amount": 2000, "created": "2026-01-05",
     "history": [{"stage": "prospect", "at": "2026-01-05"}, {"stage": "qualified", "at": "2026-01-10"},
                 {"stage": "proposed", "at": "2026-01-20"}],
     "outcome": "won", "closed_at": "2026-03-01"},
    {"id": "C", "owner": "alice@example.com", "product": "X", "amount": 500, "created": "2026-01-01",
     "history": [{"stage": "prospect", "at": "2026-01-01"}, {"stage": "qualified", "at": "2026-01-15"}],
     "outcome": "lost", "closed_at": "2026-02-01"},
    {"id": "D", "owner": "alice@example.com", "product": "Y", "amount": 1000, "probability": 0.5,
     "created": "2026-02-01",
     "history": [{"stage": "prospect", "at": "2026-02-01"}, {"stage": "qualified", "at": "2026-02-10"},
                 {"stage": "proposed", "at": "2026-02-20"}]},
    {"id": "E", "owner": "bob@example.com", "product": "X", "amount": 400, "created": "2026-03-01",
     "history": [{"stage": "prospect", "at": "2026-03-01"}]},
    {"id": "F", "owner": "bob@example.com", "product": "Y", "amount": 600, "created": "2026-03-20",
     "history": [{"stage": "prospect", "at": "2026-03-20"}, {"stage": "qualified", "at": "2026-03-25"}]},
]


def setup(tmp_path: Path, deals: list[dict] = DEALS, metrics: list[dict] | None = None) -> Path:
    """workflow.yaml (plus `metrics:`) and one file per deal under deals/."""
    return Project.analytics(tmp_path, deals, **({"metrics": metrics} if metrics else {})).workflow


def run(*args: str) -> tuple[int, str, str]:
    result = invoke_cli(*args)
    return result.exit_code, result.stdout, result.stderr


def metrics_json(tmp_path: Path, *extra: str, **kw) -> dict:
    wf = setup(tmp_path, **kw)
    code, out, err = run("metrics", "-w", str(wf), str(tmp_path / "deals"), "--now", NOW, "--format", "json", *extra)
    assert code == 0, err
    return {m["id"]: m for m in json.loads(out)["metrics"]}


@pytest.fixture
def m(tmp_path: Path) -> dict:
    return metrics_json(tmp_path)


def test_required_ids_present(m):
    for key in ("win_rate", "won_amount", "open_count", "weighted_pipeline", "sales_cycle_days", "conversion",
                "lost_cycle_days", "count", "open_amount", "time_in_stage", "stuck", "rotting", "bottleneck",
                "backlog_ratio", "quota", "velocity"):
        assert key in m and {"id", "kind", "value"} <= set(m[key])


def test_win_rate_excludes_open_deals(m):
    # won A, B; lost C; open D, E, F are not in it
    assert m["win_rate"]["value"] == pytest.approx(2 / 3, abs=1e-6)
    assert (m["win_rate"]["won"], m["win_rate"]["lost"], m["win_rate"]["open_excluded"]) == (2, 1, 3)
    assert "open deals are not in it" in m["win_rate"]["definition"]


def test_won_amount_and_counts(m):
    assert m["won_amount"]["value"] == 3000
    assert m["open_count"]["value"] == 3
    assert m["count"]["value"] == 6 and m["count"]["by_outcome"] == {"open": 3, "won": 2, "lost": 1}
    assert m["open_amount"]["value"] == 2000  # D 1000 + E 400 + F 600


def test_conversion_per_stage_pair(m):
    # reached: prospect 6, qualified 5 (all but E), proposed 3 (A, B, D), closed 2 (A, B)
    assert m["conversion"]["value"] == {"prospect->qualified": pytest.approx(5 / 6, abs=1e-6),
                                        "qualified->proposed": pytest.approx(3 / 5, abs=1e-6),
                                        "proposed->closed": pytest.approx(2 / 3, abs=1e-6)}


def test_sales_cycle_mean_median_and_lost_apart(m):
    # A: 2026-01-01 -> 02-10 = 40 days; B: 01-05 -> 03-01 = 55 days
    assert m["sales_cycle_days"]["value"] == {"mean": 47.5, "median": 47.5}
    assert m["sales_cycle_days"]["deals"] == 2
    # C: 01-01 -> 02-01 = 31 days
    assert m["lost_cycle_days"]["value"] == {"mean": 31.0, "median": 31.0}


def test_weighted_pipeline_with_deal_override(m):
    # D 1000 x 0.5 (its own probability) + E 400 x 0.1 + F 600 x 0.4
    assert m["weighted_pipeline"]["value"] == pytest.approx(780.0)
    assert m["weighted_pipeline"]["by_stage"]["proposed"] == {"count": 1, "amount": 1000, "weighted": 500}


def test_time_in_stage(m):
    t = m["time_in_stage"]["value"]
    # prospect stays: A 10, B 5, C 14, D 9, E 30 (still there), F 5
    assert t["prospect"] == {"mean": round(73 / 6, 2), "median": 9.5, "n": 6}
    # qualified: A 10, B 10, C 17 (lost there), D 10, F 6 (still there)
    assert t["qualified"] == {"mean": 10.6, "median": 10, "n": 5}
    # proposed: A 20, B 40, D 39 (still there)
    assert t["proposed"] == {"mean": 33.0, "median": 39, "n": 3}
    assert "closed" not in t


def test_stuck_and_rotting(m):
    # D: 39 days in proposed > 30; E: 30 days in prospect > 10; F: 6 days in qualified <= 20
    assert m["stuck"]["value"] == 2
    assert [d["id"] for d in m["stuck"]["deals"]] == ["D", "E"]
    assert m["stuck"]["amount"] == 1400
    # only prospect has rot_days (5): E untouched for 30 days
    assert m["rotting"]["value"] == 1 and m["rotting"]["deals"][0]["id"] == "E"


def test_bottleneck_verdict_with_figures(m):
    b = m["bottleneck"]
    # scores: prospect (1 - 5/6) + 9.5/10; qualified (1 - 0.6) + 10/20; proposed (1 - 2/3) + 39/30
    assert b["value"] == "proposed"
    assert b["lost_most"] == "qualified"
    assert b["waits_most"] == "proposed"
    scores = {f["stage"]: f["score"] for f in b["stages"]}
    assert scores == {"prospect": pytest.approx(1 / 6 + 0.95, abs=1e-3), "qualified": pytest.approx(0.9, abs=1e-3),
                      "proposed": pytest.approx(1 / 3 + 1.3, abs=1e-3)}
    row = next(f for f in b["stages"] if f["stage"] == "proposed")
    assert row["median_days"] == 39 and row["max_days"] == 30 and row["wait_ratio"] == 1.3
    assert "proposed" in b["reason"]


def test_quota_per_owner(m):
    q = m["quota"]["value"]
    # quarter from 2026-01-01: alice won A (1000) against her own quota 1000; bob won B (2000) against default 500
    assert q["alice@example.com"] == {"quota": 1000, "won": 1000, "pipeline": 1000, "weighted": 500,
                                      "attainment": 1.0, "coverage": None}
    assert q["bob@example.com"]["attainment"] == 4.0
    assert q["bob@example.com"]["pipeline"] == 1000 and q["bob@example.com"]["weighted"] == 280


def test_velocity(m):
    # open 3 x win rate 2/3 x mean won amount 1500 / mean cycle 47.5 days
    assert m["velocity"]["value"] == pytest.approx(round(3 * (2 / 3) * 1500 / 47.5, 2), abs=0.01)


def test_as_of_uses_only_facts_up_to_the_date(tmp_path):
    m = metrics_json(tmp_path, "--as-of", "2026-02-15")
    # then: A won (02-10), C lost (02-01), B open in proposed, D open in qualified; E, F not created yet
    assert m["win_rate"]["value"] == 0.5
    assert m["open_count"]["value"] == 2
    assert m["count"]["value"] == 4
    assert m["weighted_pipeline"]["value"] == pytest.approx(2000 * 0.7 + 1000 * 0.5)


def test_text_output_states_definitions(tmp_path):
    wf = setup(tmp_path)
    code, out, _ = run("metrics", "-w", str(wf), "--now", NOW)
    assert code == 0
    assert "open deals are not in it" in out
    assert "win_rate: 66.7%" in out
    assert "bottleneck: proposed" in out


DECLARED = [
    {"id": "alice-open", "kind": "count", "outcome": "open", "where": "deal.owner == 'alice@example.com'"},
    {"id": "win-by-owner", "kind": "win_rate", "group_by": "owner", "target": ">= 0.6"},
    {"id": "qual-conv", "kind": "conversion", "from": "prospect", "to": "qualified", "target": ">= 0.9"},
    {"id": "amount-by-product", "kind": "sum", "field": "amount", "group_by": "product"},
    {"id": "avg-size", "kind": "average_deal_size", "group_by": "owner"},
    {"id": "big", "kind": "count", "where": "deal.amount >= 1000", "target": "<= 10"},
]


def test_declared_metrics_where_group_by_target(tmp_path):
    m = metrics_json(tmp_path, metrics=DECLARED)
    assert m["alice-open"]["value"] == 1  # D
    w = m["win-by-owner"]
    assert w["value"] == pytest.approx(2 / 3, abs=1e-6) and w["ok"] is True and w["target"] == ">= 0.6"
    assert w["group_by"] == "owner"
    assert w["groups"] == {"alice@example.com": 0.5, "bob@example.com": 1.0}
    assert w["groups_off_target"] == ["alice@example.com"]
    assert m["qual-conv"]["value"] == pytest.approx(5 / 6, abs=1e-6) and m["qual-conv"]["ok"] is False
    assert m["amount-by-product"]["groups"] == {"X": 1900, "Y": 3600}  # X: A, C, E; Y: B, D, F
    assert m["avg-size"]["groups"] == {"alice@example.com": 1000.0, "bob@example.com": 2000.0}  # plugin kind
    assert m["big"]["value"] == 3 and m["big"]["ok"] is True


def test_metric_alerts_from_results(tmp_path):
    wf = setup(tmp_path, metrics=DECLARED)
    plugins = Plugins()
    workflow, _ = load_workflow(str(wf), plugins)
    now = dt.date(2026, 3, 31)
    states = (i.state for i in evaluate_all(CompiledWorkflow(workflow), [str(tmp_path / "deals")], now))
    results = compute_metrics(workflow, states, now, plugins)
    events = metric_alerts(results, now)
    keys = sorted(e.key for e in events)
    assert keys == ["metric_alert:qual-conv:2026-03-31", "metric_alert:win-by-owner[alice@example.com]:2026-03-31"]
    alert = next(e for e in events if e.key.startswith("metric_alert:qual-conv"))
    assert (alert.kind, alert.deal, alert.stage, alert.at) == ("metric_alert", None, None, now)
    assert alert.data["metric"] == "qual-conv" and alert.data["target"] == ">= 0.9"
    assert alert.data["value"] == pytest.approx(5 / 6, abs=1e-6)
    assert metric_alerts(results, now)[0].key == events[0].key  # deterministic


def test_compute_metrics_takes_a_one_pass_stream(tmp_path):
    """compute_metrics reads the states once, as a generator: nothing is asked twice."""
    wf = setup(tmp_path)
    plugins = Plugins()
    workflow, _ = load_workflow(str(wf), plugins)
    now = dt.date(2026, 3, 31)
    seen = []

    def stream():
        for item in evaluate_all(CompiledWorkflow(workflow), [str(tmp_path / "deals")], now):
            seen.append(item.deal_id)
            yield item.state

    results = compute_metrics(workflow, stream(), now)
    assert len(seen) == 6 and {r["id"] for r in results} >= {"win_rate", "conversion"}


def test_targets_and_days_helpers():
    assert parse_target(">= 0.3") == (">=", 0.3)
    with pytest.raises(ValueError):
        parse_target("about 3")
    d = Days()
    for x in (1, 2, 2, 10):
        d.add(x)
    assert (d.mean, d.median, d.n) == (3.75, 2.0, 4)


def test_a_plugin_kind_is_streamed_one_deal_at_a_time_and_its_failures_stay_its_own(tmp_path):
    metrics = [{"id": "top", "kind": "largest", "group_by": "owner"},
               *({"id": f"fail-{step}", "kind": "fails_in", "fail_in": step} for step in ("make", "add", "result"))]
    wf = setup(tmp_path, metrics=metrics)
    plugins = Plugins(["fixture_plugins.streaming_kinds"])
    workflow, diagnostics = load_workflow(str(wf), plugins)
    assert not [d for d in diagnostics if d.severity == "error"], diagnostics
    now = dt.date(2026, 3, 31)
    states = (i.state for i in evaluate_all(CompiledWorkflow(workflow), [str(tmp_path / "deals")], now))
    results = {r["id"]: r for r in compute_metrics(workflow, states, now, plugins)}
    assert results["top"]["value"] == max(d.get("amount", 0) for d in DEALS)
    assert results["top"]["deals_seen"] == len(DEALS) and results["top"]["definition"] == "the largest amount"
    assert set(results["top"]["groups"]) == {d["owner"] for d in DEALS}
    for step, error in (("make", "RuntimeError: cannot start"), ("add", "ValueError: bad deal"),
                        ("result", "ZeroDivisionError: no result")):
        assert results[f"fail-{step}"]["value"] is None
        assert results[f"fail-{step}"]["error"] == f"metric kind fails_in failed: {error}"
    assert results["win_rate"]["value"] is not None  # the others are not affected


def test_the_builtin_kinds_come_from_a_plugin_like_any_other(tmp_path, monkeypatch):
    wf = setup(tmp_path)
    monkeypatch.setenv("FLOWCTL_DISABLE_PLUGINS", "metric_kinds")
    plugins = Plugins()
    assert plugins.metric_kind_names() == []
    workflow, _ = load_workflow(str(wf), plugins)
    results = compute_metrics(workflow, [], dt.date(2026, 3, 31), plugins)
    assert {r["error"] for r in results} == {f"unknown metric kind '{r['kind']}'" for r in results}
