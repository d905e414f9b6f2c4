"""Synthetic deal files for benchmarks and crash tests: realistic ~1 KB deals spread over
the stages of builtin:six-stage."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import yaml

SIX_STAGE_JOBS = [
    ["verify-prospect", "meet-producers"],
    ["draw-up-agendas", "decide-product-creation", "schedule-follow-ups"],
    ["uncover-issues", "analyse-purchase-issues", "prioritise-and-price", "secure-funding", "identify-allies-enemies"],
    ["develop-plan", "customer-visits", "evaluate-resources"],
    ["final-proposal", "prospect-approves-contracts", "agree-changes", "send-to-legal"],
]
OWNERS = [f"rep{i}@example.com" for i in range(25)]

WORKFLOW = """\
flowctl: 1
name: bench
extends: builtin:six-stage
currency: EUR
fields:
  roi: {type: number}
  region: {type: string}
  product: {type: string}
stages:
  # The engine is measured, not the disk: writing proposals is left out.
  - id: proposed
    jobs:
      - {id: render-proposal, remove: true}
"""


def deal(i: int, rng: random.Random, today: dt.date) -> dict:
    created = today - dt.timedelta(days=rng.randint(5, 400))
    depth = rng.randint(0, 5)
    jobs, day = {}, created
    for stage in SIX_STAGE_JOBS[:depth]:
        for job in stage:
            day += dt.timedelta(days=rng.randint(0, 4))
            jobs[job] = day.isoformat() if rng.random() < 0.8 else {"at": day.isoformat(), "by": rng.choice(OWNERS), "note": "done"}
    d = {
        "id": f"BENCH-{i:07d}",
        "name": f"Deal number {i} for a customer",
        "account": f"Account {rng.randint(1, 5000)}",
        "owner": rng.choice(OWNERS),
        "amount": rng.randint(1, 500) * 1000,
        "currency": "EUR",
        "created": created.isoformat(),
        "expected_close": (created + dt.timedelta(days=rng.randint(30, 200))).isoformat(),
        "region": rng.choice(["emea", "amer", "apac"]),
        "product": rng.choice(["GTX Basic", "GTX Pro", "MG Special"]),
        "roi": round(rng.uniform(0.8, 2.5), 2),
        "jobs": jobs,
        "activities": [{"at": (created + dt.timedelta(days=k * 9)).isoformat(), "kind": "call", "note": "follow-up call"}
                       for k in range(rng.randint(1, 4))],
    }
    if depth >= 4:
        d["approvals"] = {"price-approved": {"by": "boss@example.com", "role": "management", "at": day.isoformat()},
                          "roi-approved": {"by": "boss@example.com", "role": "management", "at": day.isoformat()}}
    r = rng.random()
    if r < 0.1:
        d["outcome"] = "lost"
        d["closed_at"] = day.isoformat()
        d["lost_reason"] = "price"
    return d


def write_deals(folder: Path, n: int, seed: int = 1, today: dt.date = dt.date(2026, 11, 23)) -> list[Path]:
    """N deal files, 1,000 per subfolder; returns their paths."""
    rng = random.Random(seed)
    paths = []
    for i in range(n):
        sub = folder / f"{i // 1000:04d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"BENCH-{i:07d}.yaml"
        path.write_text(yaml.safe_dump(deal(i, rng, today), sort_keys=False, default_flow_style=None, width=200))
        paths.append(path)
    return paths
