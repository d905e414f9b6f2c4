"""What an imported row says about time: its stage and its values as dated `history:`
entries, so that `--as-of` a past date sees the deal as it was then (engine/asof.py)."""
from __future__ import annotations

from typing import Any


def stage_as_history(deal: dict, history: list[dict]) -> None:
    """The row's stage is a fact of the export, not a claim: an entry dated by the
    row's dates (a closed deal's close, else the latest stage date it has, else
    `created`); undated, it says nothing."""
    stage = deal.pop("stage", None)
    if not isinstance(stage, str) or any(h.get("stage") == stage for h in history):
        return
    at = deal.get("closed_at") if deal.get("outcome") in ("won", "lost") else None
    at = at or (history[-1]["at"] if history else deal.get("created"))
    if at is not None:
        history.append({"stage": stage, "at": at})
        history.sort(key=lambda h: h["at"])


def dated_values(deal: dict, history: list[dict], open_values: dict[str, Any]) -> None:
    """A `while_open` lookup (a product's list price) is the field's value while the deal
    was open: an open deal has it, a lost deal keeps it (what was lost, not the export's
    0), and it is dated at the deal's first known date; a won deal's own value is dated
    at its close, so that as of an earlier date the deal is worth what it was then."""
    outcome = deal.get("outcome") or "open"
    first = history[0]["at"] if history else deal.get("created")
    for field, value in open_values.items():
        own = deal.get(field)
        if outcome == "open" and own in (None, ""):
            deal[field] = own = value
        elif outcome == "lost" and own in (None, "", 0):
            deal[field] = own = value
        if first is not None:
            if not history or history[0]["at"] != first:
                history.insert(0, {"at": first})
            history[0][field] = value
        if outcome == "won" and deal.get("closed_at") and own not in (None, "") and own != value:
            at_close = next((h for h in history if h["at"] == deal["closed_at"] and field not in h), None)
            if at_close is None:
                history.append(at_close := {"at": deal["closed_at"]})
            at_close[field] = own
