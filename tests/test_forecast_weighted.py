"""plugins/forecast_weighted.py: amount x probability of the open deals closing within the horizon."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from flowctl.hooktypes import ForecastInput
from flowctl.plugins.forecast_weighted import CATEGORIES, DEFINITION, NO_DATE, flowctl_forecast_methods, forecast

NOW = dt.date(2026, 6, 30)


def _deal(amount: float, probability: float, close: str | None = None, category: str = "pipeline",
          outcome: str = "open") -> SimpleNamespace:
    return SimpleNamespace(amount=amount, probability=probability, outcome=outcome, forecast_category=category,
                           expected_close=dt.date.fromisoformat(close) if close else None)


def _forecast(deals: list, horizon: int = 30) -> dict:
    return forecast(ForecastInput(deals, None, NOW, horizon, None))  # type: ignore[arg-type]


def test_no_open_deals_forecast_nothing():
    result = _forecast([_deal(100, 1.0, outcome="won"), _deal(100, 0.0, outcome="lost")])
    assert (result["expected"], result["p10"], result["p50"], result["p90"]) == (0, 0, 0, 0)
    assert result["open_deals"] == 0 and result["by_category"] == {} and result["by_month"] == {}
    assert result["beyond_horizon"] == {"count": 0, "weighted": 0.0} and result["definition"] == DEFINITION


def test_weighted_amounts_by_category_and_month():
    result = _forecast([_deal(1000, 0.5, "2026-07-10", "commit"), _deal(200, 0.25, None, "pipeline"),
                        _deal(300, 1.0, "2026-06-01", "commit")])
    assert result["expected"] == result["p50"] == 850.0 and result["open_deals"] == 3
    assert result["by_category"] == {"commit": {"count": 2, "amount": 1300.0, "weighted": 800.0},
                                     "pipeline": {"count": 1, "amount": 200.0, "weighted": 50.0}}
    assert result["by_month"] == {"2026-06": 300.0, "2026-07": 500.0, NO_DATE: 50.0}
    assert 0 <= result["p10"] <= result["expected"] <= result["p90"] <= 1500.0


@pytest.mark.parametrize("close,within", [("2026-07-30", True), ("2026-07-31", False), ("2025-01-01", True),
                                          (None, True)])
def test_the_horizon_ends_on_its_last_day(close, within):
    result = _forecast([_deal(100, 0.5, close)])
    assert result["open_deals"] == (1 if within else 0)
    assert result["beyond_horizon"] == ({"count": 0, "weighted": 0.0} if within else {"count": 1, "weighted": 50.0})


def test_categories_come_in_their_order_unknown_ones_last():
    deals = [_deal(1, 0.5, category=c) for c in ("custom", "omitted", "pipeline", "commit", "closed", "best_case")]
    assert list(_forecast(deals)["by_category"]) == [*CATEGORIES, "custom"]


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_certain_deals_have_no_spread(probability):
    result = _forecast([_deal(100, probability), _deal(50, probability)])
    assert result["p10"] == result["p90"] == result["expected"] == 150 * probability


def test_the_method_is_registered_as_weighted():
    (method,) = flowctl_forecast_methods()
    assert method.name == "weighted" and method.forecast is forecast and method.description
