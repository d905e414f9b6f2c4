"""engine/metric_definitions.py: each built-in kind's accumulator on hand-made deals with
exact expected figures, and over classes of input (no deals, selections, odd values,
boundaries); the declared-metric machinery around them is test_metrics.py's."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from conftest import Project
from flowctl.compiled import CompiledWorkflow
from flowctl.metric_definitions import DEFINITIONS, KINDS, TOP_DEALS, Acc, quarter_start
from flowctl.metrics import BUILTINS
from flowctl.model import Workflow
from flowctl.pipeline import evaluate_all
from flowctl.plugin_manager import Plugins
from flowctl.workflow import load_workflow
from metric_deals import DEALS
from slim_states import NOW, slim_state as deal


@pytest.fixture(scope="module")
def analytics(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workflow, list[Any]]:
    """tests/data/analytics' workflow and metric_deals.DEALS, evaluated on NOW once."""
    project = Project.analytics(tmp_path_factory.mktemp("definitions"), DEALS)
    workflow, diagnostics = load_workflow(str(project.workflow), Plugins())
    assert workflow is not None, diagnostics
    states = [i.state for i in evaluate_all(CompiledWorkflow(workflow), [str(project.deals)], NOW)]
    assert len(states) == len(DEALS)
    return workflow, states


@pytest.fixture(scope="module")
def wf(analytics: tuple[Workflow, list[Any]]) -> Workflow:
    return analytics[0]


def figure(workflow: Workflow, kind: str, states: list[Any], config: dict | None = None,
           now: dt.date = NOW) -> tuple[Any, dict]:
    acc = KINDS[kind](workflow, now, config or {})
    for state in states:
        acc.add(state)
    return acc.result()


@pytest.fixture(scope="module")
def m(analytics: tuple[Workflow, list[Any]]) -> dict[str, dict]:
    """Each built-in metric of `flowctl metrics` (metrics.BUILTINS): {"value": …, **extra figures}."""
    workflow, states = analytics
    out = {}
    for config in BUILTINS:
        value, extra = figure(workflow, config["kind"], states, config)
        out[config["id"]] = {"value": value, **extra}
    return out


# ---------------------------------------------------------------------------------
# every kind on the six hand-made deals (metric_deals.DEALS)
# ---------------------------------------------------------------------------------

def test_win_rate_excludes_open_deals(m):
    # won A, B; lost C; open D, E, F are not in it
    assert m["win_rate"]["value"] == pytest.approx(2 / 3, abs=1e-6)
    assert (m["win_rate"]["won"], m["win_rate"]["lost"], m["win_rate"]["open_excluded"]) == (2, 1, 3)
    assert "open deals are not in it" in DEFINITIONS["win_rate"]


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


# ---------------------------------------------------------------------------------
# every kind: its definition, and no deals at all
# ---------------------------------------------------------------------------------

def test_every_kind_has_a_definition_and_an_accumulator():
    assert set(DEFINITIONS) == set(KINDS)
    assert all(issubclass(cls, Acc) for cls in KINDS.values())


NO_CONVERSION = {"prospect->qualified": None, "qualified->proposed": None, "proposed->closed": None}
NO_TIME = {"mean": None, "median": None, "n": 0}


EMPTY = [  # kind, value, extra figures over no deals
    ("count", 0, {"by_outcome": {"open": 0, "won": 0, "lost": 0}}),
    ("open_count", 0, {}),
    ("sum", 0.0, {"field": "amount", "deals": 0}),
    ("won_amount", 0.0, {"won": 0}),
    ("win_rate", None, {"won": 0, "lost": 0, "open_excluded": 0}),
    ("conversion", NO_CONVERSION, {"reached": {"prospect": 0, "qualified": 0, "proposed": 0, "closed": 0}}),
    ("sales_cycle", {"mean": None, "median": None}, {"deals": 0, "outcome": "won", "undated": 0}),
    ("time_in_stage", {"prospect": NO_TIME, "qualified": NO_TIME, "proposed": NO_TIME}, {}),
    ("weighted_pipeline", 0.0, {"by_stage": {}}),
    ("stuck", 0, {"amount": 0.0, "deals": []}),
    ("rotting", 0, {"amount": 0.0, "deals": []}),
    ("bottleneck", None, {"stages": [], "reason": "no deal has reached any stage"}),
    ("backlog_ratio", None, {"backlog_amount": 0.0, "total_sales": 0.0, "open_orders": 0}),
    ("velocity", None, {"open": 0, "win_rate": None, "mean_won_amount": None, "cycle_days": None}),
    ("quota", {}, {"quarter_start": "2026-01-01"}),
]


@pytest.mark.parametrize("kind,value,extra", EMPTY)
def test_no_deals_give_empty_figures_not_errors(wf, kind, value, extra):
    assert figure(wf, kind, []) == (value, extra)


def test_the_empty_cases_cover_every_kind():
    assert sorted(c[0] for c in EMPTY) == sorted(KINDS)


# ---------------------------------------------------------------------------------
# selections and odd values
# ---------------------------------------------------------------------------------

MIXED = [deal("O1"), deal("O2", "qualified"), deal("W1", "closed", "won"), deal("L1", "qualified", "lost")]


@pytest.mark.parametrize("config,count,by_outcome", [
    ({}, 4, {"open": 2, "won": 1, "lost": 1}),
    ({"stage": "qualified"}, 2, {"open": 1, "won": 0, "lost": 1}),
    ({"outcome": "open"}, 2, {"open": 2, "won": 0, "lost": 0}),
    ({"stage": "qualified", "outcome": "lost"}, 1, {"open": 0, "won": 0, "lost": 1}),
    ({"stage": "proposed"}, 0, {"open": 0, "won": 0, "lost": 0}),
])
def test_count_selects_by_stage_and_outcome(wf, config, count, by_outcome):
    assert figure(wf, "count", MIXED, config) == (count, {"by_outcome": by_outcome})
    assert figure(wf, "open_count", MIXED, config)[0] == by_outcome["open"]


@pytest.mark.parametrize("values,total,n", [
    ([1.5, 2], 3.5, 2),
    ([1.5, "2", None, True, False], 1.5, 1),  # text, missing and booleans are not numbers
    ([{"a": 1}, [1]], 0.0, 0),
    ([0.1, 0.2], 0.3, 2),  # rounded to cents
    ([-5, 5], 0.0, 2),
])
def test_sum_adds_only_numbers(wf, values, total, n):
    states = [deal(f"D{i}", fields={"roi": v}) for i, v in enumerate(values)]
    assert figure(wf, "sum", states, {"field": "roi"}) == (total, {"field": "roi", "deals": n})


def test_sum_of_amount_reads_the_states_amount_and_selects(wf):
    assert figure(wf, "sum", MIXED, {"outcome": "open"}) == (200.0, {"field": "amount", "deals": 2})
    assert figure(wf, "sum", MIXED, {"field": "nowhere"}) == (0.0, {"field": "nowhere", "deals": 0})


@pytest.mark.parametrize("outcomes,rate", [
    (["won"], 1.0), (["lost"], 0.0), (["open", "open"], None), (["won", "lost", "lost", "open"], round(1 / 3, 6)),
])
def test_win_rate_leaves_open_deals_out(wf, outcomes, rate):
    states = [deal(f"D{i}", outcome=o) for i, o in enumerate(outcomes)]
    assert figure(wf, "win_rate", states)[0] == rate


@pytest.mark.parametrize("config,value", [
    ({"from": "prospect", "to": "proposed"}, 0.5),
    ({"from": "proposed", "to": "prospect"}, 2.0),  # backwards: a ratio, as asked
    ({"from": "closed", "to": "prospect"}, None),  # nobody reached `from`
])
def test_conversion_between_two_named_stages(wf, config, value):
    states = [deal("A", entries={"prospect": 9, "qualified": 5, "proposed": 1}), deal("B", entries={"prospect": 3})]
    got, extra = figure(wf, "conversion", states, config)
    assert got == value and (extra["from"], extra["to"]) == (config["from"], config["to"])


def test_conversion_with_only_one_end_gives_every_pair(wf):
    value, _ = figure(wf, "conversion", [deal(entries={"prospect": 1})], {"from": "prospect"})
    assert value == {**NO_CONVERSION, "prospect->qualified": 0.0}


@pytest.mark.parametrize("entries,created,closed,days,undated", [
    ({"prospect": 30}, None, 10, [20], 0),
    ({"prospect": 30}, 40, 10, [30], 0),  # created before the first entry: from creation
    ({"prospect": 10}, None, 10, [0], 0),  # closed the day it started
    ({"prospect": 5}, None, 10, [], 1),  # closed before its first entry: inconsistent dates
    ({}, None, 10, [], 1),  # no date to start from
])
def test_sales_cycle_from_the_first_known_date(wf, entries, created, closed, days, undated):
    value, extra = figure(wf, "sales_cycle", [deal(outcome="won", entries=entries, created=created, closed=closed)])
    expected = float(days[0]) if days else None
    assert value == {"mean": expected, "median": expected}
    assert (extra["deals"], extra["undated"]) == (len(days), undated)


def test_sales_cycle_counts_only_its_outcome_and_closed_deals(wf):
    states = [deal("W", outcome="won", entries={"prospect": 20}, closed=10), deal("N", outcome="won", entries={"prospect": 20}),
              deal("L", outcome="lost", entries={"prospect": 30}, closed=0), deal("O", entries={"prospect": 50})]
    assert figure(wf, "sales_cycle", states)[0] == {"mean": 10.0, "median": 10.0}
    assert figure(wf, "sales_cycle", states, {"outcome": "lost"})[0] == {"mean": 30.0, "median": 30.0}


@pytest.mark.parametrize("config,value,extra", [
    ({"stage": "prospect"}, 7.0, {"stage": "prospect", "mean": 7.0, "n": 2}),
    ({"stage": "proposed"}, None, {"stage": "proposed", "mean": None, "n": 0}),
    ({"stage": "closed"}, None, {"stage": "closed", "mean": None, "n": 0}),  # terminal: no stays
])
def test_time_in_one_stage(wf, config, value, extra):
    states = [deal("A", "qualified", entries={"prospect": 10, "qualified": 6}), deal("B", entries={"prospect": 10})]
    assert figure(wf, "time_in_stage", states, config) == (value, extra)


def test_weighted_pipeline_only_counts_open_deals_in_stage_order(wf):
    states = [deal("P", "proposed", amount=1000, probability=0.5), deal("Q", amount=200, probability=0.1),
              deal("R", amount=300, probability=0.1), deal("W", "closed", "won", amount=9999, probability=1.0)]
    value, extra = figure(wf, "weighted_pipeline", states)
    assert value == 550.0
    assert list(extra["by_stage"]) == ["prospect", "proposed"]
    assert extra["by_stage"]["prospect"] == {"count": 2, "amount": 500.0, "weighted": 50.0}


@pytest.mark.parametrize("kind", ["stuck", "rotting"])
def test_flagged_deals_list_the_longest_waiting_few(wf, kind):
    n = TOP_DEALS + 5
    states = [deal(f"D{i:02}", days_in_stage=i // 2, amount=10, **{kind: True}) for i in range(n)]
    states += [deal("closed", "closed", "won", **{kind: True}), deal("fine", days_in_stage=999)]
    value, extra = figure(wf, kind, states)
    assert value == n and extra["amount"] == 10.0 * n
    listed = [(d["days_in_stage"], d["id"]) for d in extra["deals"]]
    assert len(listed) == TOP_DEALS
    assert listed == sorted(listed, key=lambda t: (-t[0], t[1]))  # longest first, then by id
    assert listed[0] == ((n - 1) // 2, f"D{n - 1:02}")
    assert min(d for d, _ in listed) == (n - TOP_DEALS) // 2


def test_bottleneck_ties_go_to_the_earliest_stage(wf):
    # every step loses half the deals, and every stay lasted 0 days
    stages = ("prospect", "qualified", "proposed", "closed")
    states = [deal(f"D{i}", "closed", "won", entries={s: 0 for s in stages[:k]}) for i, k in enumerate((1, 1, 1, 1, 2, 2, 3, 4))]
    value, extra = figure(wf, "bottleneck", states)
    assert [(f["conversion"], f["wait_ratio"], f["score"]) for f in extra["stages"]] == [(0.5, 0.0, 0.5)] * 3
    assert value == extra["lost_most"] == extra["waits_most"] == "prospect"


def test_velocity_needs_a_positive_cycle(wf):
    same_day = [deal("W", outcome="won", amount=1000, entries={"prospect": 5}, closed=5), deal("O")]
    value, extra = figure(wf, "velocity", same_day)
    assert value is None and extra == {"open": 1, "win_rate": 1.0, "mean_won_amount": 1000.0, "cycle_days": 0.0}
    ten_days = [deal("W", outcome="won", amount=1000, entries={"prospect": 15}, closed=5), deal("O")]
    assert figure(wf, "velocity", ten_days)[0] == 100.0  # 1 open x 1.0 x 1000 / 10 days


def test_backlog_ratio_from_won_deals_orders(wf):
    orders = [{"amount": 300, "placed": "2026-03-01"}, {"amount": 200, "placed": "2026-03-01", "completed": "2026-03-10"},
              {"amount": 999, "placed": "2026-04-15"}]  # placed after NOW: not yet
    states = [deal("W", "closed", "won", amount=1000, closed=40, fields={"orders": orders}),
              deal("V", "closed", "won", amount=1000, closed=40), deal("O", fields={"orders": orders})]
    assert figure(wf, "backlog_ratio", states) == (0.15, {"backlog_amount": 300.0, "total_sales": 2000.0,
                                                          "open_orders": 1})


@pytest.mark.parametrize("today,start", [
    ("2026-01-01", "2026-01-01"), ("2026-03-31", "2026-01-01"), ("2026-04-01", "2026-04-01"),
    ("2026-06-30", "2026-04-01"), ("2026-07-01", "2026-07-01"), ("2026-12-31", "2026-10-01"),
    ("2024-02-29", "2024-01-01"),
])
def test_quarter_start(today, start):
    assert quarter_start(dt.date.fromisoformat(today)) == dt.date.fromisoformat(start)


def test_quota_counts_this_quarters_wins_up_to_today(wf):
    alice = "alice@example.com"
    states = [deal("W1", "closed", "won", 300, owner=alice, closed=0),  # today: in
              deal("W2", "closed", "won", 400, owner=alice, closed=89),  # 2026-01-01: the quarter's first day
              deal("W3", "closed", "won", 500, owner=alice, closed=90),  # 2025-12-31: last quarter
              deal("W4", "closed", "won", 600, owner=alice, closed=-1),  # tomorrow: not yet
              deal("O1", amount=1000, probability=0.5, owner=alice),
              deal("N1", "closed", "won", 100, owner=None, closed=1)]
    value, extra = figure(wf, "quota", states)
    assert extra == {"quarter_start": "2026-01-01"}
    assert value[alice] == {"quota": 1000, "won": 700.0, "pipeline": 1000.0, "weighted": 500.0, "attainment": 0.7,
                            "coverage": round(1000 / 300, 6)}
    assert value["(none)"] == {"quota": 500, "won": 100.0, "pipeline": 0.0, "weighted": 0.0, "attainment": 0.2,
                              "coverage": 0.0}  # no owner: the default quota


def test_quota_coverage_is_none_once_the_quota_is_met(wf):
    states = [deal("W", "closed", "won", 1500, owner="alice@example.com", closed=1), deal("O", owner="alice@example.com")]
    assert figure(wf, "quota", states)[0]["alice@example.com"]["coverage"] is None


def test_quota_leaves_out_owners_without_one(wf):
    assert figure(dataclasses.replace(wf, quotas={"x": 1.0}), "quota", [deal(owner="bob@example.com")])[0] == {}
