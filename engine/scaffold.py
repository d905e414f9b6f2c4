"""Example deals for `flowctl init --from` a built-in other than the curated six-stage
example: one deal standing in each stage, one won, one lost, and one planted mistake."""
from __future__ import annotations

import datetime as dt

import yaml

from .model import Workflow

OWNERS = ("alice@example.com", "bob@example.com", "carol@example.com")


def overlay(base: str, name: str = "my-sales") -> str:
    return (f"# Your company's sales process: {base} plus what differs here.\n"
            "# Stages, jobs and gates merge by id; see `flowctl validate --show-merged -w workflow.yaml`.\n"
            f"flowctl: 1\nname: {name}\nextends: {base}\nlocale: en\ncurrency: EUR\n"
            "quotas: {default: 250000}\n"
            "channels:\n  console: {use: console}\n"
            "notifications:\n  - {on: job_overdue, channel: console}\n")


def example_deals(workflow: Workflow, today: dt.date) -> dict[str, str]:
    """File name -> YAML text. Deals past a stage carry it in `history:` (as an import
    from a CRM would), so gates on custom fields need no invented values."""
    stages = workflow.stages
    out: dict[str, str] = {}
    start = today - dt.timedelta(days=20 * len(stages))
    for i, stage in enumerate(stages[:-1]):
        deal_id = f"EX-{i + 1:03d}"
        history = [{"stage": s.id, "at": (start + dt.timedelta(days=14 * k)).isoformat()} for k, s in enumerate(stages[:i + 1])]
        first_job = next((j for j in stage.jobs if j.required), None)
        deal: dict = {"id": deal_id, "name": f"Example deal in {stage.text('en')}", "account": f"Customer {i + 1}",
                      "owner": OWNERS[i % len(OWNERS)], "amount": 20000 * (i + 1), "currency": workflow.currency,
                      "created": start.isoformat(), "expected_close": (today + dt.timedelta(days=30 * (i + 1))).isoformat()}
        if i:
            deal["history"] = history
        if first_job is not None:
            deal["jobs"] = {first_job.id: history[-1]["at"]}
        deal["activities"] = [{"at": (today - dt.timedelta(days=3)).isoformat(), "kind": "call", "note": "follow-up"}]
        out[f"{deal_id}.yaml"] = yaml.safe_dump(deal, sort_keys=False, allow_unicode=True)
    won = {"id": "EX-WON", "name": "A won deal", "owner": OWNERS[0], "amount": 90000, "currency": workflow.currency,
           "created": start.isoformat(), "outcome": "won", "closed_at": (today - dt.timedelta(days=10)).isoformat()}
    lost = {"id": "EX-LOST", "name": "A lost deal", "owner": OWNERS[1], "amount": 40000, "currency": workflow.currency,
            "created": start.isoformat(), "outcome": "lost", "closed_at": (today - dt.timedelta(days=12)).isoformat(),
            "lost_reason": "price"}
    out["EX-WON.yaml"] = yaml.safe_dump(won, sort_keys=False)
    out["EX-LOST.yaml"] = yaml.safe_dump(lost, sort_keys=False)
    return out


def planted_mistake(workflow: Workflow, today: dt.date) -> str:
    job = next(j for s in workflow.stages for j in s.jobs)
    typo = job.id[:2] + job.id[3:] if len(job.id) > 3 else job.id + "x"
    return ("# A mistake is planted here: run `flowctl validate --strict -w workflow.yaml deals-to-fix/` to find it.\n"
            f"id: EX-099\nname: A deal with a typo\nowner: {OWNERS[0]}\namount: 10000\ncreated: {today.isoformat()}\n"
            f"jobs:\n  {typo}: {today.isoformat()}\n")
