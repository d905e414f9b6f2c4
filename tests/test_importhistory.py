"""Tests for flowctl.importhistory: an imported row's stage and its `while_open` values as
dated `history:` entries, so `--as-of` a past date sees the deal as it was then."""
from __future__ import annotations

import copy

import pytest

from flowctl.importhistory import dated_values, stage_as_history


@pytest.mark.parametrize("deal, history, after", [
    ({"stage": "offer", "created": "2026-01-05"}, [], [{"stage": "offer", "at": "2026-01-05"}]),
    # dated by the latest stage date it has
    ({"stage": "offer", "created": "2026-01-05"}, [{"stage": "lead", "at": "2026-02-01"}],
     [{"stage": "lead", "at": "2026-02-01"}, {"stage": "offer", "at": "2026-02-01"}]),
    # a closed deal's stage: at its close, in date order
    ({"stage": "won", "outcome": "won", "closed_at": "2026-01-20", "created": "2026-01-01"},
     [{"stage": "lead", "at": "2026-03-01"}],
     [{"stage": "won", "at": "2026-01-20"}, {"stage": "lead", "at": "2026-03-01"}]),
    ({"stage": "lost", "outcome": "lost", "created": "2026-01-01"}, [],  # closed without a date: `created`
     [{"stage": "lost", "at": "2026-01-01"}]),
    ({"stage": "offer"}, [], []),  # undated: it says nothing
    ({"stage": "lead", "created": "2026-01-05"}, [{"stage": "lead", "at": "2026-01-01"}],
     [{"stage": "lead", "at": "2026-01-01"}]),  # already in the history
    ({"stage": 3, "created": "2026-01-05"}, [], []),  # not a stage name
    ({"created": "2026-01-05"}, [], []),  # no stage column
])
def test_stage_as_history(deal, history, after):
    stage_as_history(deal, history)
    assert history == after
    assert "stage" not in deal  # the stage is the history's now, never a deal key


@pytest.mark.parametrize("deal, expected_deal, history", [
    # an open deal takes the value, dated at its first known date
    ({"created": "2026-01-01"}, {"created": "2026-01-01", "amount": 100}, [{"at": "2026-01-01", "amount": 100}]),
    ({"created": "2026-01-01", "amount": ""}, {"created": "2026-01-01", "amount": 100},
     [{"at": "2026-01-01", "amount": 100}]),
    ({"created": "2026-01-01", "amount": 70}, {"created": "2026-01-01", "amount": 70},  # its own value stands
     [{"at": "2026-01-01", "amount": 100}]),
    # a lost deal keeps what was lost, not the export's 0
    ({"outcome": "lost", "created": "2026-01-01", "amount": 0},
     {"outcome": "lost", "created": "2026-01-01", "amount": 100}, [{"at": "2026-01-01", "amount": 100}]),
    # a won deal's own value is dated at its close
    ({"outcome": "won", "created": "2026-01-01", "closed_at": "2026-02-01", "amount": 90},
     {"outcome": "won", "created": "2026-01-01", "closed_at": "2026-02-01", "amount": 90},
     [{"at": "2026-01-01", "amount": 100}, {"at": "2026-02-01", "amount": 90}]),
    ({"outcome": "won", "created": "2026-01-01", "closed_at": "2026-02-01", "amount": 100},  # the same: no entry
     {"outcome": "won", "created": "2026-01-01", "closed_at": "2026-02-01", "amount": 100},
     [{"at": "2026-01-01", "amount": 100}]),
    ({"amount": None}, {"amount": 100}, []),  # undated: the value, no history
])
def test_dated_values(deal, expected_deal, history):
    entries: list[dict] = []
    dated_values(deal, entries, {"amount": 100})
    assert deal == expected_deal and entries == history


def test_dated_values_join_the_history_at_its_first_date():
    history = [{"stage": "lead", "at": "2026-01-03"}, {"stage": "offer", "at": "2026-02-01"}]
    deal = {"created": "2026-01-01"}
    dated_values(deal, history, {"amount": 100, "seats": 5})
    assert history[0] == {"stage": "lead", "at": "2026-01-03", "amount": 100, "seats": 5}
    assert len(history) == 2


def test_a_won_deals_value_joins_an_entry_at_its_close():
    history = [{"stage": "lead", "at": "2026-01-01"}, {"stage": "won", "at": "2026-02-01"}]
    deal = {"outcome": "won", "closed_at": "2026-02-01", "amount": 90}
    dated_values(deal, history, {"amount": 100})
    assert history == [{"stage": "lead", "at": "2026-01-01", "amount": 100}, {"stage": "won", "at": "2026-02-01", "amount": 90}]


def test_no_open_values_change_nothing():
    deal, history = {"created": "2026-01-01", "amount": 5}, [{"stage": "a", "at": "2026-01-01"}]
    before = copy.deepcopy((deal, history))
    dated_values(deal, history, {})
    assert (deal, history) == before
