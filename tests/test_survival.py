"""Censored win-within chances (engine/survival.py): open deals count as still open, never as lost."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowctl.survival import WinCurve, observed_since, sample


def test_open_deals_are_censored_not_lost():
    # two wins at 10 and 30 days, one loss at 20, one deal still open after 15 days
    curve = WinCurve([(10, "won"), (30, "won"), (20, "lost"), (15, "open")])
    # from age 0 over 40 days: 10: 1/4 won; 15: the open one leaves the risk set; 20: 1 of 2 lost; 30: 1 of 1 won
    assert curve.win_within(0, 40) == pytest.approx(1 / 4 + (3 / 4) * (1 / 2) * 1)
    # counting the open deal as lost would give 2/4
    assert curve.win_within(0, 40) > 0.5
    assert curve.win_within(12, 10) == pytest.approx(0.0)  # between 13 and 22 only a loss
    assert curve.win_within(40, 10) is None  # nobody was still open that long


def test_sample_as_known_on_a_date():
    d = dt.date(2026, 1, 1)
    assert sample(d, "won", dt.date(2026, 1, 11), dt.date(2026, 2, 1)) == (10, "won")
    assert sample(d, "won", dt.date(2026, 1, 11), dt.date(2026, 1, 5)) == (4, "open")  # not closed yet then
    assert sample(None, "won", None, d) is None and sample(d, "open", None, dt.date(2025, 12, 1)) is None


def test_a_deal_is_at_risk_only_from_when_it_is_observed():
    # the open deal entered observation at 25 days: it does not dilute the win at 10
    curve = WinCurve([(10, "won"), (30, "won"), (20, "lost"), (40, "open", 25)])
    assert curve.win_within(0, 12) == pytest.approx(1 / 3)
    assert curve.win_within(0, 40) == pytest.approx(1 / 3 + (2 / 3) * (1 / 2) * (1 / 2))
    assert curve.at_risk[24] == 1 and curve.at_risk[25] == 2  # the 30-day win, then the late one too


@pytest.mark.parametrize("samples", [[(10, "won"), (30, "lost")], [(0, "won"), (5, "open"), (9, "lost")]])
def test_an_entry_at_0_is_no_entry(samples):
    with_entries = [(d, o, 0) for d, o in samples]
    for age in range(12):
        assert WinCurve(with_entries).win_within(age, 20) == WinCurve(samples).win_within(age, 20)


def test_a_gap_with_nobody_at_risk_adds_nothing():
    curve = WinCurve([(5, "won"), (30, "won", 20)])  # nobody at risk on days 6..19
    assert curve.win_within(0, 40) == pytest.approx(1.0)
    assert curve.win_within(10, 30) is None  # nobody was known open at 11 days
    assert curve.win_within(19, 30) == pytest.approx(1.0)


def test_observation_starts_at_the_first_close():
    d = dt.date(2026, 3, 1)
    deal = lambda outcome, closed: SimpleNamespace(outcome=outcome, closed_at=closed)  # noqa: E731
    states = [deal("open", None), deal("won", d + dt.timedelta(days=5)), deal("lost", d), deal("won", d + dt.timedelta(days=90))]
    assert observed_since(states, d + dt.timedelta(days=30)) == d
    assert observed_since(states, d - dt.timedelta(days=1)) is None  # not closed yet then
    assert observed_since([deal("open", None), deal("open", d)], d) is None  # an open deal's date is no close


def test_a_sample_started_before_observation_enters_late():
    start, seen = dt.date(2026, 1, 1), dt.date(2026, 3, 1)
    assert sample(start, "won", dt.date(2026, 3, 11), dt.date(2026, 4, 1), seen) == (69, "won", 59)
    assert sample(start, "open", None, dt.date(2026, 4, 1), seen) == (90, "open", 59)
    assert sample(seen, "won", dt.date(2026, 3, 11), dt.date(2026, 4, 1), seen) == (10, "won")  # not before it
    assert sample(start, "won", dt.date(2026, 2, 1), dt.date(2026, 4, 1), seen) is None  # ended before it


events = st.lists(st.tuples(st.integers(0, 200), st.sampled_from(["won", "lost", "open"])), max_size=60)


entries = st.lists(st.tuples(st.integers(0, 200), st.sampled_from(["won", "lost", "open"]), st.integers(0, 250)),
                   max_size=60)


@given(events, st.integers(0, 200), st.integers(1, 120))
def test_chances_are_probabilities(samples, age, horizon):
    p = WinCurve(samples).win_within(age, horizon)
    assert p is None or 0.0 <= p <= 1.0 + 1e-9


@given(entries, st.integers(0, 200), st.integers(1, 120))
def test_chances_with_late_entries_are_probabilities(samples, age, horizon):
    curve = WinCurve(samples)
    p = curve.win_within(age, horizon)
    assert p is None or 0.0 <= p <= 1.0 + 1e-9
    assert all(n >= 0 for n in curve.at_risk) and curve.samples == len(samples)
