"""The two parts of a forecast (SPEC section 7): `existing`, from deals open on the date,
and `new`, from deals not created yet; each learned only from the deals as of the date.

- existing (the historical method): a deal d days in its stage is won within the
  horizon with the censored win-within chance of past deals that entered that stage
  (engine/survival.py), times its amount as of the date.
- new: deals created per day over the last RECENT_DAYS, times the chance a deal is
  won within the days left of the horizon after it is created (censored, from
  creation, left-truncated at the first close: survival.py), times the mean value of the wins closed over the last RECENT_DAYS. The
  number of new wins is Poisson, so the part's variance is count x mean(value^2).

The total's P10/P50/P90 add the two parts' variances and the method's own past error
(forecast_error.py), normal approximation; each part is first scaled by the method's
calibration from its past replays (forecast_error.calibrate).
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable

from .survival import Sample, WinCurve, observed_since, sample

RECENT_DAYS = 90  # "recent" creation rate and won values: the last quarter before the date
Z90 = 1.2815515655446004
NEW_NOTE = (f"new: deals created per day over the last {RECENT_DAYS} days x P(won within the rest of the horizon "
            "after creation; censored, from past deals, counted from the first close on) x mean value of wins closed over the last "
            f"{RECENT_DAYS} days (else all wins); Poisson count, variance = count x mean(value^2), plus the "
            "uncertainty of the three factors from their counts (1/creations + 1/wins learned from + the value's "
            "relative variance / wins valued, times expected^2)")
EXISTING_NOTE = ("existing: sum over open deals of amount x P(won within the horizon | stage, days in it), "
                 "learned from every deal that entered the stage, open ones counted as still open (censored)")


def existing_chance(deal: Any, curves: dict[str, WinCurve], now: dt.date, horizon: int) -> float | None:
    """P(won within the horizon) of an open deal from its stage's censored win curve."""
    curve = curves.get(deal.stage)
    if curve is None:
        return None
    entered = deal.stage_entries.get(deal.stage, now)
    return curve.win_within((now - entered).days, horizon)


def new_part(states: list[Any], now: dt.date, horizon: int) -> dict:
    """Expected revenue within the horizon from deals created after `now`, and its standard deviation (`sd`)."""
    start = now - dt.timedelta(days=RECENT_DAYS)
    created_recently = 0
    from_creation: list[Sample] = []
    recent_wins: list[float] = []
    all_wins: list[float] = []
    since = observed_since(states, now)
    for s in states:
        if s.created is not None and start < s.created <= now:
            created_recently += 1
        one = sample(s.created, s.outcome, s.closed_at, now, since)
        if one is not None:
            from_creation.append(one)
        if s.outcome == "won" and s.closed_at is not None and s.closed_at <= now:
            all_wins.append(s.amount)
            if s.closed_at > start:
                recent_wins.append(s.amount)
    rate = created_recently / RECENT_DAYS
    curve = WinCurve(from_creation)
    # a deal created on day u after the date has horizon - u days left to be won
    chance = sum(curve.win_within(0, horizon - u) or 0.0 for u in range(1, horizon + 1)) / horizon if horizon else 0.0
    values = recent_wins or all_wins
    mean = math.fsum(values) / len(values) if values else 0.0  # fsum: the same whatever the deals' order
    wins = rate * horizon * chance
    expected = wins * mean
    # hypot: amounts up to the schema's 1e300 must not overflow
    sd = math.hypot(math.sqrt(wins) * _root_mean_square(values),
                    expected * _parameter_error(created_recently, sum(1 for o in from_creation if o[1] == "won"), values, mean))
    return {"expected": round(expected, 2), "sd": sd,
            "created_per_day": round(rate, 4),
            "win_chance_within_rest": round(chance, 4), "mean_won_value": round(mean, 2),
            "expected_new_wins": round(wins, 2), "definition": NEW_NOTE}


def _parameter_error(created: int, wins: int, values: list[float], mean: float) -> float:
    """Relative standard error of rate x chance x value from the counts they come from:
    the creations counted (Poisson), the wins the chance was learned from (Poisson, as
    for a small chance) and the mean of the won values (sd / sqrt(n))."""
    if not created or not wins or not values or not mean:
        return 0.0
    n = len(values)
    spread = math.fsum(((v - mean) / mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return math.sqrt(1 / created + 1 / wins + spread / n)


def _root_mean_square(values: list[float]) -> float:
    """sqrt(mean(v^2))."""
    return root_sum_square(values) / math.sqrt(len(values)) if values else 0.0


def root_sum_square(values: list[float]) -> float:
    """sqrt(sum(v^2)), scaled by the largest value: amounts up to the schema's 1e300
    would overflow their squares."""
    top = max((abs(v) for v in values), default=0.0)
    return top * math.sqrt(math.fsum((v / top) ** 2 for v in values)) if top else 0.0


def band_sd(result: dict) -> float:
    """The standard deviation a method's P10-P90 band stands for: its wider half over
    z0.9, since its P10 may be floored at 0 and its P90 capped at the total; 0 without a band."""
    if result.get("p90") is None or result.get("p10") is None:
        return 0.0
    mid = result.get("existing", result["expected"]) if result.get("p50") is None else result["p50"]
    return max(0.0, result["p90"] - mid, mid - result["p10"]) / Z90


def combine(result: dict, new: dict, error_spread: float | None = None, factors: tuple[float, float] = (1.0, 1.0)) -> dict:
    """A method's result (its expected/p10/p90 are of the open deals) with the new part:
    `existing`, `new`, and the total's expected/p10/p50/p90. `error_spread` (the spread
    of the method's past log errors) adds a relative error of that size to the variance;
    `factors` scale the existing and the new part (the calibration from past replays)."""
    existing = result.get("existing", result["expected"])
    if existing is None:
        return result
    existing, sd_existing = round(existing * factors[0], 2), band_sd(result) * factors[0]
    new_expected, sd_new = round(new["expected"] * factors[1], 2), new["sd"] * factors[1]
    total = round(existing + new_expected, 2)  # the sum of the parts as shown
    # hypot, not the root of the squares: amounts up to the schema's 1e300 must not overflow
    sd = math.hypot(sd_existing, sd_new, (error_spread or 0.0) * total)
    out = dict(result)
    out.update(existing=round(existing, 2), new=round(new_expected, 2), expected=round(total, 2),
               p10=round(max(0.0, total - Z90 * sd), 2), p50=round(total, 2), p90=round(total + Z90 * sd, 2),
               existing_interval={"p10": result.get("p10"), "p90": result.get("p90")},
               past_error_spread=None if error_spread is None else round(error_spread, 4),
               new_detail={k: v for k, v in new.items() if k != "sd"})
    return out
