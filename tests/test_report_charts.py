"""Tests for flowctl.report_charts: the formatter of a locale, the key-figure cards, and
the charts laid out (round scales, ticks, fractions of the plot, legends), for any figures
including an empty pipeline."""
from __future__ import annotations

import copy
import math

import pytest

from flowctl.catalogs import Catalogs
from flowctl.report_charts import MAX_LABEL, Fmt, _frac, _layout, _short, axis, charts, kpis, nice_max

FMT = Fmt("en", "EUR", Catalogs().words("en"))


def test_axis_scales_are_round():
    assert nice_max(1_089_000) == (1_250_000, 250_000)
    assert nice_max(0.9) == (1.0, 0.2)
    assert nice_max(0) == (1.0, 0.2)
    ticks = axis(55, str, integer=True)["ticks"]
    assert [t["value"] for t in ticks] == [0, 20, 40, 60]


VALUES = [0.001, 0.9, 1, 3, 7, 10, 55, 99.9, 100, 101, 1234, 1_089_000, 4.2e9, 1e300]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("ticks", [4, 5])
def test_nice_max_covers_the_value_with_a_round_step(value, ticks):
    top, step = nice_max(value, ticks)
    assert top >= value and top / step <= ticks + 1e-9
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5))


@pytest.mark.parametrize("value", [0, -5, math.nan, math.inf, None])
def test_nice_max_of_nothing_to_show_is_the_unit_scale(value):
    assert nice_max(value) == (1.0, 0.2)


@pytest.mark.parametrize("value", VALUES[:-1] + [0])
@pytest.mark.parametrize("integer", [False, True])
def test_axis_ticks_run_from_zero_to_the_top(value, integer):
    ax = axis(value, lambda v: f"<{v:g}>", integer=integer)
    ticks = ax["ticks"]
    assert ticks[0]["value"] == 0 and ticks[0]["pos"] == 0 and ticks[-1]["pos"] == 1
    assert math.isclose(ticks[-1]["value"], ax["max"]) and ax["max"] >= value
    assert all(t["label"] == f"<{t['value']:g}>" for t in ticks)
    if integer:
        assert all(float(t["value"]).is_integer() for t in ticks)


@pytest.mark.parametrize("text, shown", [
    (None, ""), ("", ""), ("short", "short"), ("x" * MAX_LABEL, "x" * MAX_LABEL),
    ("x" * (MAX_LABEL + 1), "x" * (MAX_LABEL - 1) + "…"), ("word " * 10, ("word " * 6).rstrip() + "…"), (42, "42"),
])
def test_short_labels(text, shown):
    assert _short(text) == shown and len(_short(text)) <= MAX_LABEL


@pytest.mark.parametrize("value, top, frac", [
    (None, 10, 0.0), (5, 0, 0.0), (5, 10, 0.5), (-1, 10, 0.0), (20, 10, 1.0), (1, 3, 0.333333),
])
def test_frac_is_a_bounded_fraction_of_the_plot(value, top, frac):
    assert _frac(value, top) == frac


def test_layout_puts_a_gap_before_a_separated_row_and_wraps_the_legend():
    chart = {"rows": [{"text": "a"}, {"text": "bb"}, {"text": "c", "sep": True}],
             "legend": [{"label": "x" * 40}, {"label": "y" * 40}, {"label": "z"}]}
    _layout(chart, 400)
    assert [r["slot"] for r in chart["rows"]] == [0, 1, 2.5] and chart["slots"] == 3.5
    assert [(i["x"], i["line"]) for i in chart["legend"]] == [(0, 0), (0, 1), (330, 1)]
    assert chart["legend_lines"] == 2 and 110 <= chart["right"] <= 380


def test_layout_of_a_chart_without_rows_or_legend():
    chart: dict = {}
    _layout(chart, 400)
    assert (chart["slots"], chart["legend_lines"], chart["right"]) == (0, 0, 110)


def stage(label: str, terminal: bool = False, amount: float = 0, count: int = 0, reached: int = 0, **more) -> dict:
    return {"label": label, "terminal": terminal, "open_amount": amount, "open_count": count, "reached": reached,
            "next": more.get("next"), "next_label": more.get("next_label"), "conversion": more.get("conversion"),
            "median_days": more.get("median_days"), "max_days": more.get("max_days"), "over": more.get("over", False)}


EMPTY = {
    "outcomes": {k: {"amount": 0, "count": 0} for k in ("open", "won", "lost")},
    "win_rate": {"value": None, "won": 0, "lost": 0}, "cycle": {"won": {"median": None, "mean": None, "n": 0}},
    "weighted_pipeline": 0, "stuck": {"count": 0, "amount": 0}, "rotting": {"count": 0, "amount": 0},
    "forecast": {"main": None, "horizon_days": 90, "totals": [], "months": [], "methods": []},
    "stages": [stage("Lead"), stage("Won", terminal=True)],
    "quota": {"owners": []}, "backlog": {"projection": [], "empty": True},
}


def test_an_empty_pipeline_has_its_cards_and_charts_without_figures():
    cards = kpis(EMPTY, FMT)
    assert [c["id"] for c in cards] == ["open", "weighted", "won", "win_rate", "cycle", "stuck", "rotting"]
    assert {c["value"] for c in cards if c["id"] in ("win_rate", "cycle")} == {"—"}
    drawn = charts(copy.deepcopy(EMPTY), FMT)
    assert list(drawn) == ["pipeline", "conversion", "time"]  # no forecast, quota or backlog to draw
    for chart in drawn.values():
        assert all(0 <= s["width"] <= 1 for r in chart["rows"] for s in r["segments"])


def test_the_pipeline_chart_shows_open_stages_then_won_and_lost():
    c = copy.deepcopy(EMPTY)
    long_name = "A stage whose name is far too long for a chart label"
    c["stages"] = [stage(long_name, amount=400_000, count=4, reached=10), stage("Won", terminal=True, reached=3)]
    c["outcomes"]["won"] = {"amount": 1_000_000, "count": 3}
    chart = charts(c, FMT)["pipeline"]
    rows = chart["rows"]
    assert [r["class"] for r in rows] == ["open", "won", "lost"]
    assert rows[0]["label"] == _short(long_name) and rows[0]["tooltip"].startswith(long_name)  # the whole name
    assert rows[0]["text"] == "€400K · 4 deals" and rows[1]["segments"][0]["width"] == 1.0
    assert rows[1]["sep"] and chart["axis"]["max"] == 1_000_000
    assert chart["desc"].endswith(".") and "€1M · 3 deals" in chart["desc"]


def test_the_time_chart_marks_the_limit_and_stages_over_it():
    c = copy.deepcopy(EMPTY)
    c["stages"] = [stage("Lead", median_days=12, max_days=10, over=True), stage("Offer"), stage("Won", terminal=True)]
    rows = charts(c, FMT)["time"]["rows"]
    assert rows[0]["segments"][0]["class"] == "over" and rows[0]["marker"] is not None
    assert rows[0]["text"] == "12 days / 10 days" and rows[1]["text"] == "n/a" and rows[1]["marker"] is None


def test_a_forecast_adds_its_card_and_charts():
    c = copy.deepcopy(EMPTY)
    result = {"expected": 100_000, "p10": 50_000, "p90": 150_000}
    c["forecast"] = {"main": {"label": "Weighted", **result}, "horizon_days": 90,
                     "totals": [{"label": "Weighted", **result}, {"label": "Broken", "expected": None}],
                     "methods": [{"name": "weighted", "label": "Weighted"}],
                     "months": [{"key": "2026-12", "label": "Dec", "long": "December 2026", "deals": 2, "amount": 10,
                                 "methods": {"weighted": result}}]}
    cards = kpis(c, FMT)
    assert cards[5]["id"] == "forecast" and cards[5]["value"] == "€100K"
    drawn = charts(c, FMT)
    assert [r["label"] for r in drawn["totals"]["rows"]] == ["Weighted"]  # a method without a result: no row
    [group] = drawn["months"]["groups"]
    assert (group["label"], group["year"]) == ("Dec", "2026")


def test_fmt_speaks_the_locale():
    de = Fmt("de", "EUR", Catalogs().words("de"))
    assert de.deals(1) == "1 Deal"
    assert de.money(1234).replace("\u00a0", " ") == "1.234 €" and de.pct(0.5).replace("\u00a0", " ") == "50,0 %"
    assert FMT.deals(2) == "2 deals" and FMT.date("2026-11-23") == "Nov 23, 2026" and FMT.month("2026-11") == "Nov 2026"
