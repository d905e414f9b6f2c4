"""The sales backlog (SPEC section 6, seed 004): won orders not yet completed, the
backlog ratio, and its week-by-week projection from recent intake against a capacity.

Orders come from won deals' `orders:` ({amount, placed, completed}). A won deal without
orders counts in total sales but has no backlog: it is taken as fully delivered.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .durations import parse_date

DEFINITION = ("backlog = amount of won deals' orders placed but not completed as of the date; "
              "ratio = backlog / total sales (amount of won deals); a won deal without orders is "
              "taken as fully delivered")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(day|d|week|wk|w|month|mo))?\s*$", re.IGNORECASE)
_PER_WEEK = {"day": 7.0, "d": 7.0, "week": 1.0, "wk": 1.0, "w": 1.0, "month": 12 / 52, "mo": 12 / 52}


def parse_rate(text: str) -> float:
    """`100/week` (or `100`, `20/day`, `400/month`) -> amount per week. ValueError if bad."""
    match = _RATE.match(str(text))
    if not match:
        raise ValueError(f"bad rate {text!r}: write a number per week, e.g. 100/week (or N/day, N/month)")
    return float(match.group(1)) * _PER_WEEK[(match.group(2) or "week").lower()]


class BacklogAcc:
    """Backlog figures over a stream of deal states (as of `now`), keeping only sums."""

    def __init__(self, now: dt.date, intake_weeks: int = 8):
        self.now = now
        self.intake_weeks = intake_weeks
        self.intake_from = now - dt.timedelta(weeks=intake_weeks)  # intake counts orders placed after this
        self.total_sales = 0.0
        self.won = 0
        self.backlog_amount = 0.0
        self.open_orders = 0
        self.orders = 0
        self.intake_amount = 0.0
        self.intake_orders = 0

    def add(self, state: Any) -> None:
        if state.outcome != "won" or (state.closed_at is not None and state.closed_at > self.now):
            return
        self.won += 1
        self.total_sales += state.amount
        for order in state.deal.get("orders") or []:
            if not isinstance(order, dict):
                continue
            placed = parse_date(order.get("placed")) or state.closed_at
            if placed is not None and placed > self.now:
                continue  # not placed yet on that date
            amount = float(order.get("amount") or 0)
            self.orders += 1
            completed = parse_date(order.get("completed"))
            if completed is None or completed > self.now:
                self.backlog_amount += amount
                self.open_orders += 1
            if placed is not None and placed > self.intake_from:
                self.intake_amount += amount
                self.intake_orders += 1

    def figures(self) -> dict:
        return {"backlog_amount": round(self.backlog_amount, 2), "total_sales": round(self.total_sales, 2),
                "ratio": round(self.backlog_amount / self.total_sales, 4) if self.total_sales else None,
                "open_orders": self.open_orders, "orders": self.orders, "won_deals": self.won,
                "intake_weeks": self.intake_weeks,
                "intake_per_week": round(self.intake_amount / self.intake_weeks, 2),
                "intake_orders_per_week": round(self.intake_orders / self.intake_weeks, 2)}


def project(start: float, intake: float, capacity: float, weeks: int, now: dt.date) -> list[dict]:
    """backlog(k) = max(0, backlog(k-1) + intake - capacity), week 0 being today."""
    out = [{"week": 0, "date": now.isoformat(), "backlog": round(start, 2)}]
    level = start
    for k in range(1, weeks + 1):
        level = max(0.0, level + intake - capacity)
        out.append({"week": k, "date": (now + dt.timedelta(weeks=k)).isoformat(), "backlog": round(level, 2)})
    return out


def backlog_report(acc: BacklogAcc, capacity: float, weeks: int, unit: str = "amount",
                   intake: float | None = None) -> dict:
    """The `backlog` command's JSON: figures, the weekly intake used and the projection
    (in amounts, or in orders with unit='orders')."""
    f = acc.figures()
    by_orders = unit == "orders"
    start = f["open_orders"] if by_orders else f["backlog_amount"]
    measured = f["intake_orders_per_week"] if by_orders else f["intake_per_week"]
    per_week = measured if intake is None else intake
    return {**f, "unit": unit, "capacity_per_week": capacity, "intake_used": per_week,
            "intake_source": "given (--intake)" if intake is not None else
            f"mean weekly intake of the last {acc.intake_weeks} weeks",
            "weekly_change": round(per_week - capacity, 2), "definition": DEFINITION,
            "projection": project(start, per_week, capacity, weeks, acc.now)}
