"""The backlog (SPEC section 6, seed 004): backlog amount, ratio, and the projection of
recent intake against a capacity — 110 a week against 100 grows by 10 a week."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conftest import Project
from flowctl.backlog import parse_rate, project
from flowctl.testing import invoke_cli

NOW = dt.date(2026, 3, 31)


def setup(tmp_path: Path, deals: list[dict]) -> Path:
    return Project.analytics(tmp_path, deals).workflow


def run(*args: str) -> tuple[int, str, str]:
    result = invoke_cli(*args)
    return result.exit_code, result.stdout, result.stderr


def backlog_json(wf: Path, *args: str) -> dict:
    code, out, err = run("backlog", "-w", str(wf), "--now", NOW.isoformat(), "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)


def weekly_orders(per_week: float, weeks: int = 8) -> dict:
    """A won deal with one order of `per_week` placed each week of the last `weeks`, none delivered."""
    orders = [{"id": f"O{k}", "amount": per_week, "placed": (NOW - dt.timedelta(weeks=k)).isoformat(), "completed": None}
              for k in range(weeks)]
    return {"id": "S", "amount": per_week * weeks, "created": "2026-01-01", "outcome": "won",
            "closed_at": "2026-01-15", "orders": orders}


def test_seed_example_110_against_100_grows_by_10_a_week(tmp_path):
    wf = setup(tmp_path, [weekly_orders(110)])
    r = backlog_json(wf, "--capacity", "100/week", "--weeks", "12")
    assert r["backlog_amount"] == 880 and r["total_sales"] == 880 and r["ratio"] == 1.0
    assert r["intake_used"] == 110 and r["intake_weeks"] == 8 and r["capacity_per_week"] == 100
    levels = [p["backlog"] for p in r["projection"]]
    assert [p["week"] for p in r["projection"]] == list(range(13))
    assert levels == [880 + 10 * k for k in range(13)]
    assert r["weekly_change"] == 10


def test_90_against_100_shrinks_and_stops_at_zero(tmp_path):
    wf = setup(tmp_path, [weekly_orders(90)])
    r = backlog_json(wf, "--capacity", "100/week", "--weeks", "80")
    levels = [p["backlog"] for p in r["projection"]]
    assert levels[:3] == [720, 710, 700]
    assert levels[72] == 0 and levels[80] == 0 and min(levels) == 0


def test_text_output_says_grows_by(tmp_path):
    wf = setup(tmp_path, [weekly_orders(110)])
    code, out, _ = run("backlog", "-w", str(wf), "--now", NOW.isoformat(), "--capacity", "100/week")
    assert code == 0 and "grows by 10 a week" in out and "ratio 100.0%" in out


def test_counting_orders(tmp_path):
    # 110 orders placed in the last week, 100 of them delivered: 10 open orders
    orders = [{"id": f"O{i}", "amount": 1, "placed": "2026-03-30", "completed": "2026-03-31" if i < 100 else None}
              for i in range(110)]
    deal = {"id": "S", "amount": 110, "outcome": "won", "closed_at": "2026-03-29", "orders": orders}
    wf = setup(tmp_path, [deal])
    r = backlog_json(wf, "--capacity", "100/week", "--unit", "orders", "--intake-weeks", "1", "--weeks", "3")
    assert r["unit"] == "orders" and r["open_orders"] == 10 and r["intake_used"] == 110
    assert [p["backlog"] for p in r["projection"]] == [10, 20, 30, 40]


RATIO_DEALS = [
    {"id": "R1", "amount": 2000, "created": "2026-01-01", "outcome": "won", "closed_at": "2026-01-10",
     "orders": [{"id": "a", "amount": 1200, "placed": "2026-01-10", "completed": "2026-02-01"},
                {"id": "b", "amount": 800, "placed": "2026-01-10", "completed": None}]},
    {"id": "R2", "amount": 2000, "created": "2026-01-01", "outcome": "won", "closed_at": "2026-01-15"},
    {"id": "R3", "amount": 5000, "created": "2026-01-01", "orders": [{"amount": 5000, "placed": "2026-01-20"}]},
    {"id": "R4", "amount": 9000, "created": "2026-01-01", "outcome": "lost", "closed_at": "2026-01-20"},
]


def test_ratio_is_backlog_over_total_sales(tmp_path):
    wf = setup(tmp_path, RATIO_DEALS)
    r = backlog_json(wf)
    # open order b (800) / won amounts R1 + R2 (R2 has no orders: fully delivered); open R3, lost R4 not in it
    assert (r["backlog_amount"], r["total_sales"], r["ratio"]) == (800, 4000, 0.2)
    assert r["projection"] == [{"week": 0, "date": NOW.isoformat(), "backlog": 800}]  # no --capacity
    code, out, _ = run("metrics", "-w", str(wf), "--now", NOW.isoformat(), "--format", "json")
    metric = next(m for m in json.loads(out)["metrics"] if m["id"] == "backlog_ratio")
    assert metric["value"] == 0.2 and metric["backlog_amount"] == 800  # the same definition


def test_backlog_as_of_a_past_date(tmp_path):
    wf = setup(tmp_path, RATIO_DEALS)
    r = backlog_json(wf, "--as-of", "2026-01-20")
    # order a was completed only on 02-01
    assert (r["backlog_amount"], r["total_sales"], r["ratio"]) == (2000, 4000, 0.5)


def test_what_if_intake(tmp_path):
    wf = setup(tmp_path, RATIO_DEALS)
    r = backlog_json(wf, "--capacity", "100/week", "--intake", "110/week", "--weeks", "2")
    assert r["intake_source"].startswith("given") and [p["backlog"] for p in r["projection"]] == [800, 810, 820]


@pytest.mark.parametrize("bad", ["lots", "100/fortnight", "-5/week", "/week"])
def test_bad_capacity_exits_2(tmp_path, bad):
    wf = setup(tmp_path, RATIO_DEALS)
    code, _, err = run("backlog", "-w", str(wf), "--capacity", bad)
    assert code == 2 and "--capacity" in err and "Traceback" not in err


def test_rates_and_projection():
    assert parse_rate("100/week") == 100
    assert parse_rate("100") == 100
    assert parse_rate("20/day") == 140
    assert parse_rate("100 / w") == 100
    assert project(5, 90, 100, 2, NOW)[1:] == [{"week": 1, "date": "2026-04-07", "backlog": 0},
                                               {"week": 2, "date": "2026-04-14", "backlog": 0}]
