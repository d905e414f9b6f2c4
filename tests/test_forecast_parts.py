"""engine/forecast_parts.py: the `existing` and `new` parts of a forecast and their total."""
from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import pytest

from flowctl.forecast_parts import NEW_NOTE, RECENT_DAYS, Z90, combine, existing_chance, new_part
from flowctl.survival import WinCurve

NOW = dt.date(2026, 6, 30)


def _ago(days: int | None) -> dt.date | None:
    return None if days is None else NOW - dt.timedelta(days=days)


def _deal(created: int | None, outcome: str = "open", closed: int | None = None, amount: float = 100.0,
          stage: str = "prospect", entered: int | None = None) -> SimpleNamespace:
    """A deal as the parts read it; dates as days before NOW."""
    entries = {} if entered is None else {stage: _ago(entered)}
    return SimpleNamespace(created=_ago(created), outcome=outcome, closed_at=_ago(closed), amount=amount,
                           stage=stage, stage_entries=entries)


# ------------------------------------------------------------------ existing_chance

CURVES = {"prospect": WinCurve([(5, "won"), (10, "lost"), (20, "won"), (30, "open")])}


def test_a_stage_without_a_curve_has_no_chance():
    assert existing_chance(_deal(10, stage="qualified", entered=3), CURVES, NOW, 30) is None


@pytest.mark.parametrize("entered,horizon", [(0, 30), (3, 30), (7, 5), (15, 10), (0, 0)])
def test_the_chance_is_the_curve_at_the_days_in_the_stage(entered, horizon):
    deal = _deal(40, entered=entered)
    assert existing_chance(deal, CURVES, NOW, horizon) == CURVES["prospect"].win_within(entered, horizon)


def test_a_deal_without_an_entry_counts_as_entered_today():
    assert existing_chance(_deal(40), CURVES, NOW, 30) == CURVES["prospect"].win_within(0, 30)


def test_a_deal_older_than_every_past_deal_has_nothing_to_learn_from():
    assert existing_chance(_deal(400, entered=300), CURVES, NOW, 30) is None


# ------------------------------------------------------------------ new_part

def test_no_deals_no_new_revenue():
    part = new_part([], NOW, 30)
    assert (part["expected"], part["sd"], part["created_per_day"], part["expected_new_wins"]) == (0, 0, 0, 0)
    assert part["definition"] == NEW_NOTE


def test_a_zero_horizon_has_no_chance():
    part = new_part([_deal(10, "won", 5), _deal(20)], NOW, 0)
    assert part["win_chance_within_rest"] == 0 and part["expected"] == 0


def test_rate_chance_and_value_are_combined():
    # 8 deals created in the last 90 days (the one of 90 days ago is not), each won 2 days
    # after creation: a new deal is won within the rest of a 30-day horizon unless created
    # on its last 2 days
    states = [_deal(c, "won", c - 2, amount=1000.0) for c in range(10, 91, 10)]
    part = new_part(states, NOW, 30)
    assert part["created_per_day"] == round(8 / RECENT_DAYS, 4)
    assert part["mean_won_value"] == 1000.0
    assert part["win_chance_within_rest"] == round(28 / 30, 4)
    wins = 8 / RECENT_DAYS * 30 * 28 / 30
    assert part["expected_new_wins"] == round(wins, 2)
    assert part["expected"] == round(wins * 1000, 2)
    # Poisson: variance = count x mean(value^2); plus 1/8 creations and 1/9 wins learned from (values all alike)
    assert part["sd"] == pytest.approx(math.sqrt(wins * 1000 ** 2 + (wins * 1000) ** 2 * (1 / 8 + 1 / 9)))


@pytest.mark.parametrize("copies", [4, 16])
def test_more_history_means_less_relative_error(copies):
    # the same shares and values from `copies` times as many deals: rate, chance and value are known better
    one = [_deal(c, "won" if c % 20 else "lost", c - 2, amount=float(c)) for c in range(10, 91, 5)]
    fewer, more = new_part(one, NOW, 30), new_part(one * copies, NOW, 30)
    assert more["win_chance_within_rest"] == fewer["win_chance_within_rest"]
    assert more["sd"] / more["expected"] < fewer["sd"] / fewer["expected"]
    # the count's own spread alone would shrink as 1/sqrt(copies); the factors' error too, so no more than that
    assert more["sd"] / more["expected"] == pytest.approx(fewer["sd"] / fewer["expected"] / math.sqrt(copies), rel=0.05)


@pytest.mark.parametrize("created", [0, RECENT_DAYS, RECENT_DAYS + 1, -5, None])
def test_only_deals_created_within_the_recent_days_count_for_the_rate(created):
    states = [_deal(created)]
    counted = created is not None and 0 <= created < RECENT_DAYS
    assert new_part(states, NOW, 30)["created_per_day"] == round((1 if counted else 0) / RECENT_DAYS, 4)


def test_recent_wins_set_the_value_and_older_wins_serve_when_none_is_recent():
    old = _deal(300, "won", 200, amount=10.0)
    recent = _deal(100, "won", 30, amount=500.0)
    assert new_part([old, recent], NOW, 30)["mean_won_value"] == 500.0
    assert new_part([old], NOW, 30)["mean_won_value"] == 10.0


@pytest.mark.parametrize("deal", [
    _deal(100, "won", -3, amount=1e6),  # won after the date: not known yet
    _deal(100, "won", None, amount=1e6),  # no close date
    _deal(100, "lost", 10, amount=1e6),
])
def test_wins_not_known_on_the_date_do_not_count(deal):
    assert new_part([deal], NOW, 30)["mean_won_value"] == 0.0


# ------------------------------------------------------------------ combine

NEW = {"expected": 50.0, "sd": 20.0, "definition": NEW_NOTE}


def test_combine_adds_the_new_part_and_widens_the_interval():
    result = {"expected": 100.0, "p10": 80.0, "p50": 100.0, "p90": 120.0, "method": "m"}
    out = combine(result, NEW)
    sd = math.hypot(40 / (2 * Z90), 20.0)
    assert out["method"] == "m" and out["existing"] == 100.0 and out["new"] == 50.0
    assert out["expected"] == out["p50"] == 150.0
    assert out["p10"] == round(150 - Z90 * sd, 2) and out["p90"] == round(150 + Z90 * sd, 2)
    assert out["existing_interval"] == {"p10": 80.0, "p90": 120.0}
    assert out["past_error_spread"] is None and out["new_detail"] == {"expected": 50.0, "definition": NEW_NOTE}
    assert result["expected"] == 100.0  # the method's result is not changed


def test_the_past_error_adds_a_relative_error():
    result = {"expected": 100.0, "p10": 100.0, "p90": 100.0}
    out = combine(result, {"expected": 0.0, "sd": 0.0}, error_spread=0.1)
    assert out["past_error_spread"] == 0.1
    assert out["p90"] == round(100 + Z90 * 10, 2) and out["p10"] == round(100 - Z90 * 10, 2)


def test_an_explicit_existing_part_is_used_and_p10_stays_non_negative():
    result = {"expected": 999.0, "existing": 1.0, "p10": 0.0, "p90": 1000.0}
    out = combine(result, {"expected": 0.0, "sd": 0.0})
    assert out["existing"] == out["expected"] == 1.0 and out["p10"] == 0.0


def test_a_result_without_an_interval_gets_only_the_new_parts_spread():
    out = combine({"expected": 10.0, "p10": None, "p90": None}, {"expected": 0.0, "sd": 10.0})
    assert out["p90"] == round(10 + Z90 * 10, 2)


def test_a_result_without_an_existing_part_is_returned_as_it_is():
    result = {"expected": 1.0, "existing": None, "p10": 0.0, "p90": 2.0}
    assert combine(result, NEW) is result


@pytest.mark.parametrize("amount", [1e300, 1e200, 1e-300, 0.0])
def test_amounts_up_to_the_schemas_limit_give_finite_intervals(amount):
    # deals of that amount created and won recently: the new part's spread must not overflow
    part = new_part([_deal(c, "won", c - 2, amount=amount) for c in range(10, 91, 10)], NOW, 30)
    assert math.isfinite(part["sd"]) and part["mean_won_value"] == pytest.approx(round(amount, 2))
    out = combine({"expected": amount, "p10": 0.0, "p90": 2 * amount}, part, error_spread=0.5)
    assert all(math.isfinite(out[k]) for k in ("p10", "p50", "p90", "expected"))
    assert out["p10"] <= out["p50"] <= out["p90"]


def test_a_backlog_from_before_the_first_close_does_not_slow_new_deals():
    # 50 deals created 200 days ago, all still open, and the first close only 20 days ago:
    # their first 180 days were not observed, so the young deals decide the chance from creation
    backlog = [_deal(200) for _ in range(50)]
    young = [_deal(30, "won", 20), _deal(25, "won", 15), _deal(28, "lost", 18), _deal(10)]
    with_backlog = new_part(backlog + young, NOW, 30)
    assert with_backlog["win_chance_within_rest"] == pytest.approx(new_part(young, NOW, 30)["win_chance_within_rest"])


@pytest.mark.parametrize("factors", [(1.0, 1.0), (0.5, 1.0), (1.0, 2.0), (0.8, 1.25)])
def test_the_calibration_scales_each_part_and_its_spread(factors):
    result = {"expected": 100.0, "p10": 80.0, "p50": 100.0, "p90": 120.0}
    out = combine(result, NEW, factors=factors)
    existing, new = 100.0 * factors[0], 50.0 * factors[1]
    assert (out["existing"], out["new"], out["expected"]) == (existing, new, existing + new)
    sd = math.hypot(40 / (2 * Z90) * factors[0], 20.0 * factors[1])
    assert out["p90"] == round(existing + new + Z90 * sd, 2)


@pytest.mark.parametrize("band", [
    {"p10": 0.0, "p50": 10.0, "p90": 30.0},  # P10 floored at 0: the upper half is the honest one
    {"p10": 70.0, "p50": 100.0, "p90": 110.0},  # P90 capped at the total: the lower half is
    {"p10": 80.0, "p50": 100.0, "p90": 120.0},  # symmetric: either
])
def test_the_existing_spread_is_the_wider_half_of_the_methods_band(band):
    result = {"expected": band["p50"], **band}
    out = combine(result, {"expected": 0.0, "sd": 0.0})
    half = max(band["p90"] - band["p50"], band["p50"] - band["p10"])
    assert out["p90"] == round(band["p50"] + half, 2)
    assert out["p90"] >= band["p90"] and out["p10"] <= band["p10"]  # never narrower than the method's own


@pytest.mark.parametrize("parts", [(573340.284, 879513.706), (0.005, 0.005), (1e15 + 0.125, 0.335), (0.0, 0.0)])
def test_expected_is_the_sum_of_the_parts_as_shown(parts):
    existing, new = parts
    out = combine({"expected": existing, "p10": existing, "p50": existing, "p90": existing},
                  {"expected": new, "sd": 0.0}, factors=(1.0, 1.0))
    assert out["expected"] == round(out["existing"] + out["new"], 2) == out["p50"]


def test_the_new_part_does_not_depend_on_the_order_of_the_deals():
    amounts = [1e16, 3.3, 7.1, 0.1, 123456789.123, 5e15 + 0.5, 0.7]
    deals = [_deal(c, "won", c - 1, amount=a) for c, a in zip(range(10, 80, 10), amounts)]
    first = new_part(deals, NOW, 30)
    for k in range(1, len(deals)):
        assert new_part(deals[k:] + deals[:k], NOW, 30) == first
