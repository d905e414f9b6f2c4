"""`flowctl metrics` and flowctl.metrics (SPEC sections 1 and 5): every built-in id in the
output, --as-of, the text output, declared metrics with where, group_by and target, alerts,
plugin kinds. Each definition's own figures are tested in test_metric_definitions.py."""
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
from metric_deals import DEALS

NOW = "2026-03-31"


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
