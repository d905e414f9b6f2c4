"""A deal as it stood on a past date: only the facts dated on or before it (SPEC section 2).

Amount, probability, expected_close and forecast_category as of D come from the last
`history:` entry dated on or before D that names them, else the top-level value when
no entry names them at all. Deviation from SPEC's "else the earliest entry": when
entries name a field but all are dated after D, that earliest entry is a fact from
after D, and so is the top-level value (today's) — the field is unknown as of D
(the stage's probability and category apply; no expected_close; amount 0), so that
nothing dated after D can change a figure as of D.

A deal with no dated fact on or before D did not exist yet as far as flowctl can
know: `as_of` returns None and the caller counts it as left out.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from .durations import parse_date

DATED_FIELDS = ("amount", "probability", "expected_close", "forecast_category")


def _done_at(value: Any) -> dt.date | None:
    """The date of a `jobs:` value (a date, or {at: ...}); None when undated."""
    if isinstance(value, dict):
        return parse_date(value.get("at"))
    if value is None or isinstance(value, bool):
        return None
    return parse_date(value)


def _dated(entry: Any, key: str = "at") -> dt.date | None:
    return parse_date(entry.get(key)) if isinstance(entry, dict) else None


def first_known(deal: dict) -> dt.date | None:
    """The earliest dated fact about the deal: created, a history entry, a job, an
    approval, an activity, an order, its closing."""
    dates = [parse_date(deal.get("created")), parse_date(deal.get("closed_at"))]
    for key in ("history", "activities"):
        entries = deal.get(key)
        if isinstance(entries, list):
            dates += [_dated(e) for e in entries]
    if isinstance(deal.get("jobs"), dict):
        dates += [_done_at(v) for v in deal["jobs"].values()]
    if isinstance(deal.get("approvals"), dict):
        dates += [_dated(v) for v in deal["approvals"].values()]
    if isinstance(deal.get("orders"), list):
        dates += [_dated(o, "placed") for o in deal["orders"]]
    return min((d for d in dates if d is not None), default=None)


def exists_on(deal: dict, when: dt.date) -> bool:
    created = parse_date(deal.get("created"))
    if created is not None:
        return created <= when
    first = first_known(deal)
    return first is not None and first <= when


def value_as_of(deal: dict, field: str, when: dt.date) -> tuple[bool, Any]:
    """(known, value) of a dated field as of `when`; see the module's docstring."""
    entries = deal.get("history")
    history: list = entries if isinstance(entries, list) else []
    naming = [(at, e[field]) for e in history
              if isinstance(e, dict) and field in e and (at := parse_date(e.get("at"))) is not None]
    if not naming:
        return (field in deal, deal.get(field))
    known, latest, value = False, None, None
    for at, v in naming:  # of entries on the same date, the later one in the file wins
        if at <= when and (latest is None or at >= latest):
            known, latest, value = True, at, v
    return (known, value)


def as_of(deal: dict, when: dt.date) -> dict | None:
    """The deal with only the facts dated on or before `when` (None if it did not exist yet)."""
    if not exists_on(deal, when):
        return None
    out = dict(deal)
    if isinstance(deal.get("jobs"), dict):
        out["jobs"] = {k: v for k, v in deal["jobs"].items() if (_done_at(v) or when) <= when}
    if isinstance(deal.get("approvals"), dict):
        out["approvals"] = {k: v for k, v in deal["approvals"].items() if (_dated(v) or when) <= when}
    for key in ("history", "activities"):
        if isinstance(deal.get(key), list):
            out[key] = [e for e in deal[key] if (_dated(e) or when) <= when]
    if isinstance(deal.get("orders"), list):
        orders = []
        for order in deal["orders"]:
            if isinstance(order, dict) and (_dated(order, "placed") or when) <= when:
                order = dict(order)
                if (_dated(order, "completed") or when) > when:
                    order["completed"] = None
                orders.append(order)
        out["orders"] = orders
    closed = parse_date(deal.get("closed_at"))
    if closed is not None and closed > when:  # it closed later: open then
        out["closed_at"] = None
        if deal.get("outcome") in ("won", "lost"):
            out["outcome"] = "open"
        out.pop("lost_reason", None)
    for field in DATED_FIELDS:
        known, value = value_as_of(deal, field, when)
        if known:
            out[field] = value
        else:
            out.pop(field, None)
    return out
