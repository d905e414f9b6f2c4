"""The JSON form of a deal's state, as `run`/`status --format json` print it and the
store keeps it."""
from __future__ import annotations

from typing import Any

from .evaluate import DealState
from .slim_state import scalar_fields


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def state_summary(state: DealState, errors: list[str] | None = None) -> dict:
    jobs = state.jobs_by_status()
    deal = state.deal
    return {
        "id": state.id,
        "file": state.file,
        "stage": state.stage,
        "outcome": state.outcome,
        "entered_at": _iso(state.entered_at),
        "jobs": {"done": jobs["done"], "pending": jobs["pending"], "overdue": jobs["overdue"], "waived": jobs["waived"],
                 "skipped": jobs["skipped"]},
        "gates": [{"id": g.id, "ok": g.ok, "message": g.message} for g in state.current_gates],
        "errors": list(errors or state.errors),
        "warnings": list(state.warnings),
        "name": deal.get("name"),
        "account": deal.get("account"),
        "owner": state.owner,
        "amount": state.amount,
        "currency": deal.get("currency"),
        "probability": state.probability,
        "weighted_amount": state.weighted_amount,
        "forecast_category": state.forecast_category,
        "days_in_stage": state.days_in_stage,
        "stuck": state.stuck,
        "rotting": state.rotting,
        "last_touched": _iso(state.last_touched),
        "created": _iso(state.created),
        "closed_at": _iso(state.closed_at),
        "expected_close": _iso(state.expected_close),
        "stage_entries": {k: v.isoformat() for k, v in state.stage_entries.items()},
        "waived": state.waived,
        "claim": state.claim,
        "next_deadline": _iso(state.next_deadline),
        "fields": scalar_fields(deal),
    }


def error_summary(deal_id: str | None, file: str, errors: list[str], warnings: list[str] | None = None) -> dict:
    """What `run`/`status --format json` show for a deal that could not be evaluated."""
    return {"id": deal_id, "file": file, "stage": None, "outcome": None, "entered_at": None,
            "jobs": {"done": [], "pending": [], "overdue": []}, "gates": [], "errors": errors,
            "warnings": warnings or [], "evaluated": False}


def claim_text(claim: dict | None) -> str | None:
    """A `stage:` claim the facts do not support, in words ("claims proposed; the facts
    say prospect: missing jobs …; failing gates …"); None for no claim or a supported one."""
    if not claim or claim.get("supported", True):
        return None
    text = f"claims {claim['stage']}; the facts say {claim['derived']}"
    why = []
    if claim.get("missing_jobs"):
        why.append("missing jobs " + ", ".join(claim["missing_jobs"]))
    if claim.get("failing_gates"):
        why.append("failing gates " + ", ".join(claim["failing_gates"]))
    return text + (": " + "; ".join(why) if why else "")
