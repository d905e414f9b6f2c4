"""Forecast method `runrate`: the team wins about as much per day as it did over the
last horizon. The total is the revenue won per day over the last H days (only the days
since the first close the history records count) times H; of it, the deals not created
yet bring the `new` part every method has (engine/forecast_parts.py), and the deals open
on the date the rest: `existing` is the run rate less the new part, never below 0 nor
above what the open deals are worth.

Where a pipeline fills up with deals that will never close, a model of each open deal
forecasts more and more while what is won stays level; the run rate does not grow
with the pipeline. Where wins follow the pipeline, the backtest prefers the methods
that read the deals one by one (the default is whichever backtests best).

The interval is that of a compound Poisson count of wins, and has two parts: the rate
is learned from a sample (its variance (H / days)^2 x sum(won amount^2) over the
window), and the horizon's wins are themselves a draw at that rate (the existing part's
variance existing x sum(w^2) / sum(w), the window's wins being what a win is worth).
Without the second, P10-P90 held six outcomes in ten of stationary histories, not four
in five (tests/test_forecast_runrate.py simulates them).
"""
from __future__ import annotations

import datetime as dt
import math

from flowctl.catalogs import N_
from flowctl.forecast_parts import Z90, new_part, root_sum_square
from flowctl.hookspecs import hookimpl
from flowctl.hooktypes import ForecastInput, ForecastMethod
from flowctl.metrics import SlimState
from flowctl.survival import observed_since

DEFINITION = ("existing: revenue won per day over the last horizon (from the first close on) x the horizon, "
              "less the new part (deals not created yet), never below 0 nor above the open deals' amount")


def forecast(data: ForecastInput) -> dict:
    horizon = data.horizon_days
    since = observed_since(data.states, data.now)
    start = data.now - dt.timedelta(days=horizon)
    if since is not None and since > start:
        start = since - dt.timedelta(days=1)  # the first close's own day counts
    days = (data.now - start).days
    won = [s.amount for s in data.states
           if s.outcome == "won" and s.closed_at is not None and start < s.closed_at <= data.now]
    scale = horizon / days if since is not None and days > 0 else 0.0
    won_total = math.fsum(won)  # fsum: the same total whatever the order of the deals
    rate_total = scale * won_total
    if not math.isfinite(rate_total):
        raise ValueError(f"the run rate over {days} day(s) scaled to {horizon} days exceeds the largest amount")
    new = new_part(data.states, data.now, horizon)["expected"]
    open_now = [s for s in data.states if _open_on(s, data.now)]
    open_amount = math.fsum(s.amount for s in open_now)
    existing = min(max(0.0, rate_total - new), open_amount)  # the open deals cannot bring more than they are worth
    spread = root_sum_square(won)
    # hypot and sqrt(existing / won) x sqrt(sum w^2): amounts up to 1e300 must not overflow their squares
    sd = math.hypot(scale * spread, math.sqrt(existing / won_total) * spread if won_total > 0 else 0.0)
    result = {"expected": round(existing, 2), "p10": round(max(0.0, existing - Z90 * sd), 2),
              "p50": round(existing, 2), "p90": round(min(open_amount, existing + Z90 * sd), 2),
              "open_deals": len(open_now),
              "run_rate": {"window_days": days if since is not None else 0, "wins": len(won),
                           "won": round(won_total, 2), "expected_total": round(rate_total, 2)},
              "definition": DEFINITION}
    if since is None:
        result["note"] = "no deal closed on or before the date: no run rate to go by"
    return result


def _open_on(s: SlimState, now: dt.date) -> bool:
    """Whether the deal was open on the date: it existed by then and had not closed by
    then (a deal won after the date was open on it; one created after it did not exist)."""
    start = s.started
    if start is not None and start > now:
        return False
    return s.outcome == "open" or (s.closed_at is not None and s.closed_at > now)




@hookimpl
def flowctl_forecast_methods() -> list[ForecastMethod]:
    return [ForecastMethod("runrate", forecast, N_("revenue won per day over the last horizon, times the horizon"),
                           label=N_("Run rate"), deal_by_deal=False)]
