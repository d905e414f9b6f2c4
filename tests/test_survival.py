"""Censored win-within chances (engine/survival.py): open deals count as still open, never as lost."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowctl.survival import WinCurve, sample


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


events = st.lists(st.tuples(st.integers(0, 200), st.sampled_from(["won", "lost", "open"])), max_size=60)


@given(events, st.integers(0, 200), st.integers(1, 120))
def test_chances_are_probabilities(samples, age, horizon):
    p = WinCurve(samples).win_within(age, horizon)
    assert p is None or 0.0 <= p <= 1.0 + 1e-9
