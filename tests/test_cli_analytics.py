"""engine/cli/analytics.py: `flowctl metrics` and `backlog` plumbing, in process: the deal
stream (default workflow and deals, skipped deals exit 1, --as-of), bad options and
workflows (exit 2), and the text each metric kind and the backlog print. The figures
themselves are tests/test_metric_definitions.py's and tests/test_backlog.py's."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import Project
from flowctl.cli import analytics

NOW = "2026-03-31"
DEALS = [{"id": "A", "owner": "alice@example.com", "amount": 1000, "created": "2026-01-01",
          "history": [{"stage": "prospect", "at": "2026-01-01"}], "outcome": "won", "closed_at": "2026-02-10"},
         {"id": "B", "owner": "bob@example.com", "amount": 2000, "created": "2026-03-01",
          "history": [{"stage": "prospect", "at": "2026-03-01"}]}]


def setup(tmp_path: Path, deals: list[dict] = DEALS) -> Path:
    return Project.analytics(tmp_path, deals).workflow


def run(cli: Any, *args: str) -> tuple[int, str, str]:
    result = cli(*args)
    return result.exit_code, result.stdout, result.stderr


def test_default_workflow_and_deals_folder(cli, tmp_path, monkeypatch):
    setup(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(cli, "metrics", "--now", NOW, "--format", "json")
    assert code == 0 and json.loads(out)["deals"] == 2


def test_deal_with_errors_is_reported_and_skipped(cli, tmp_path):
    bad = {"id": "BAD", "amount": "lots"}
    wf = setup(tmp_path, deals=DEALS + [bad])
    code, out, err = run(cli, "metrics", "-w", str(wf), "--now", NOW, "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["deals"] == 2 and data["errors"] and "BAD.yaml" in data["errors"][0]["file"]
    code, out, err = run(cli, "metrics", "-w", str(wf), "--now", NOW)
    assert code == 1 and "BAD.yaml" in err and "Traceback" not in err


def test_bad_workflow_exits_2(cli, tmp_path):
    (tmp_path / "workflow.yaml").write_text("flowctl: 1\nstages: [{id: a}, {id: b, terminal: true}]\n"
                                            "metrics: [{id: x, kind: nonsense}]\n")
    (tmp_path / "deals").mkdir()
    code, _, err = run(cli, "metrics", "-w", str(tmp_path / "workflow.yaml"))
    assert code == 2 and "workflow.yaml:3" in err and "nonsense" in err



@pytest.mark.parametrize("command", ["metrics", "backlog"])
def test_skipped_deals_are_counted_on_stderr_and_in_the_json(cli: Any, tmp_path: Path, command: str) -> None:
    wf = setup(tmp_path, DEALS + [{"id": "BAD", "amount": "lots"}, {"id": "WORSE", "created": "someday"}])
    code, out, err = run(cli, command, "-w", str(wf), "--now", NOW, "--format", "json")
    assert code == 1 and len(json.loads(out)["errors"]) == 2
    assert err.rstrip().endswith("2 problem(s): those deals were skipped")


@pytest.mark.parametrize("command", ["metrics", "backlog"])
def test_the_json_header_says_what_the_figures_are_of(cli: Any, tmp_path: Path, command: str) -> None:
    wf = setup(tmp_path)
    code, out, _ = run(cli, command, "-w", str(wf), "--now", NOW, "--as-of", "2026-02-15", "--format", "json")
    data = json.loads(out)
    assert code == 0 and {k: data[k] for k in ("workflow", "now", "as_of", "deals", "left_out", "currency", "errors")} == {
        "workflow": "analytics-test", "now": NOW, "as_of": "2026-02-15", "deals": 1, "left_out": 1, "currency": "EUR",
        "errors": []}  # B was created after the date


def test_the_text_names_the_deals_left_out_by_as_of(cli: Any, tmp_path: Path) -> None:
    code, out, _ = run(cli, "metrics", "-w", str(setup(tmp_path)), "--now", NOW, "--as-of", "2026-02-15")
    assert code == 0 and out.splitlines()[0] == (
        "analytics-test: 1 deal(s), as of 2026-02-15 (1 deal(s) left out: no dated fact on or before 2026-02-15)")


def test_no_deals_folder_is_a_usage_error(cli: Any, tmp_path: Path) -> None:
    wf = setup(tmp_path)
    (tmp_path / "deals" / "A.yaml").unlink()
    (tmp_path / "deals" / "B.yaml").unlink()
    (tmp_path / "deals").rmdir()
    code, _, err = run(cli, "metrics", "-w", str(wf), "--now", NOW)
    assert code == 2 and "no deal files given, and no deals/ folder beside" in err


@pytest.mark.parametrize("option,value", [("--capacity", "fast"), ("--intake", "10/fortnight"), ("--weeks", "0"),
                                          ("--intake-weeks", "521"), ("--unit", "boxes")])
def test_a_bad_backlog_option_is_a_usage_error_naming_it(cli: Any, tmp_path: Path, option: str, value: str) -> None:
    code, out, err = run(cli, "backlog", "-w", str(setup(tmp_path)), option, value)
    assert code == 2 and option in err and out == ""


# --------------------------------------------------------------------------- the text of each figure

@pytest.mark.parametrize("value,text", [(None, "n/a"), (0, "0.0%"), (0.5, "50.0%"), (2 / 3, "66.7%"), (1.25, "125.0%")])
def test_pct(value: Any, text: str) -> None:
    assert analytics.pct(value) == text


@pytest.mark.parametrize("value,text", [(None, "n/a"), (0, "0"), (1234567, "1,234,567"), (1234.5, "1,234.50"),
                                        (2.0, "2"), (-3.25, "-3.25"), ("x", "x")])
def test_num(value: Any, text: str) -> None:
    assert analytics.num(value) == text


@pytest.mark.parametrize("value,text", [(None, "n/a"), (0, "0 d"), (12.5, "12.5 d"), (30.0, "30 d")])
def test_days(value: Any, text: str) -> None:
    assert analytics.days(value) == text


@pytest.mark.parametrize("value,text", [(None, "n/a"), (0.25, "0.25"), (1 / 3, "0.3333"), (-0.5, "-0.5"), (0, "0"),
                                        (1500.0, "1,500"), ({"a": 0.5, "b": 2}, "a: 0.5, b: 2"), ("text", "text")])
def test_a_plain_value(value: Any, text: str) -> None:
    assert analytics._fmt_value(value) == text


class Workflow:
    currency = "EUR"


@pytest.mark.parametrize("result,lines", [
    ({"id": "win_rate", "kind": "win_rate", "value": 0.5, "won": 1, "lost": 1, "open_excluded": 3},
     ["win_rate: 50.0%  = won 1 / (won 1 + lost 1); open deals are not in it (3 open)"]),
    ({"id": "won", "kind": "won_amount", "value": 1500.0, "won": 2}, ["won: 1,500 EUR (2 won deal(s))"]),
    ({"id": "cycle", "kind": "sales_cycle", "value": {"mean": 10.5, "median": 10}, "deals": 2, "outcome": "won"},
     ["cycle: mean 10.5 d, median 10 d over 2 won deal(s) (first known stage entry to closed_at)"]),
    ({"id": "conv", "kind": "conversion", "value": {"a -> b": 0.5}},
     ["conv (deals that reached B / deals that reached A):", f"  {'a -> b':30} 50.0%"]),
    ({"id": "c", "kind": "conversion", "value": None, "from": "a", "to": "b"}, ["c: n/a  (a -> b: reached B / reached A)"]),
    ({"id": "stuck", "kind": "stuck", "value": 0, "deals": [], "amount": 0}, ["stuck: 0 open deal(s), 0 EUR"]),
    ({"id": "stuck", "kind": "stuck", "value": 1, "deals": [{"id": "A", "stage": "p", "days_in_stage": 12}],
      "amount": 10}, ["stuck: 1 open deal(s), 10 EUR; longest: A (p, 12 d)"]),
    ({"id": "b", "kind": "bottleneck", "value": None}, ["b: n/a"]),
    ({"id": "q", "kind": "quota", "value": {}}, ["q: no quotas declared"]),
    ({"id": "v", "kind": "velocity", "value": 12.5}, ["v: 12.50 EUR/day (open x win rate x mean won amount / mean cycle)"]),
    ({"id": "count", "kind": "count", "value": 3, "by_outcome": {"open": 1, "won": 1, "lost": 1}},
     ["count: 3 deal(s): 1 open, 1 won, 1 lost"]),
    ({"id": "mine", "kind": "my_kind", "value": 0.125}, ["mine (my_kind): 0.125"]),
    ({"id": "t", "kind": "count", "value": 3, "target": ">= 5", "ok": False}, ["t (count): 3  [target >= 5: OFF TARGET]"]),
    ({"id": "t", "kind": "count", "value": None, "target": ">= 5", "ok": None}, ["t (count): n/a  [target >= 5: n/a]"]),
    ({"id": "g", "kind": "sum", "value": 30, "group_by": "owner", "groups": {"a": 10, "b": 20},
      "groups_off_target": ["b"]}, ["g (sum): 30", "  owner=a: 10", "  owner=b: 20  OFF TARGET"]),
    ({"id": "e", "kind": "plugin_kind", "value": None, "error": "it broke"}, ["e (plugin_kind): n/a  (error: it broke)"]),
])
def test_each_metric_kind_is_printed_with_its_definition(result: dict, lines: list[str]) -> None:
    assert analytics.format_metrics([result], Workflow()) == lines


BACKLOG = {"unit": "amount", "backlog_amount": 1500.0, "open_orders": 3, "total_sales": 6000.0, "ratio": 0.25,
           "definition": "backlog = won orders not completed", "intake_used": 110.0, "intake_source": "measured",
           "capacity_per_week": None, "weekly_change": 0.0, "projection": []}


def test_the_backlog_without_capacity_has_no_projection() -> None:
    assert analytics.format_backlog(BACKLOG, "EUR") == [
        "backlog: 1,500 EUR in 3 open order(s); total sales 6,000 EUR; ratio 25.0%",
        "  backlog = won orders not completed", "  intake: 110 EUR/week (measured)", "  no --capacity given: no projection"]


@pytest.mark.parametrize("change,trend", [(10.0, "grows by 10 a week"), (-2.5, "shrinks by 2.50 a week (never below 0)"),
                                          (0.0, "holds: intake and capacity are equal")])
def test_the_backlog_projection_says_where_it_goes(change: float, trend: str) -> None:
    report = {**BACKLOG, "unit": "orders", "capacity_per_week": 100.0, "weekly_change": change,
              "projection": [{"week": 1, "date": "2026-04-07", "backlog": 1510.0}]}
    lines = analytics.format_backlog(report, "EUR")
    assert lines[2] == "  intake: 110 order(s)/week (measured)"
    assert lines[3] == f"  capacity 100 order(s)/week: the backlog {trend}"
    assert lines[4:] == ["  week   1  2026-04-07  1,510"]
