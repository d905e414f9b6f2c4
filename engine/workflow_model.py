"""The Workflow model of a merged, checked workflow document: stages with their jobs and
gates, stage probabilities filled in between known ones, and the document's digest (what
`run` compares to tell that the workflow changed)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .durations import parse_duration
from .extends import strip
from .model import Gate, Job, Retry, Stage, Workflow


def build(merged: dict, path: str) -> Workflow:
    """The model of a merged, checked document."""
    raw_stages = merged["stages"]
    n = len(raw_stages)
    stages = []
    probs = _probabilities(raw_stages)
    for i, s in enumerate(raw_stages):
        terminal = i == n - 1
        jobs = tuple(Job(
            id=j["id"], stage=s["id"], title=j.get("title"), owner=j.get("owner"),
            due=parse_duration(j["due"]) if j.get("due") is not None else None,
            required=j.get("required", True), done_when=j.get("done_when"), uses=j.get("uses"),
            with_=j.get("with") or {},
            retry=_retry(j.get("retry") or {}),
        ) for j in s.get("jobs") or [])
        gates = tuple(Gate(id=g["id"], stage=s["id"], when=g.get("when"), approval=g.get("approval"),
                           message=g.get("message")) for g in s.get("gates") or [])
        stages.append(Stage(
            id=s["id"], index=i, name=s.get("name"), probability=probs[i],
            forecast_category=s.get("forecast_category") or ("closed" if terminal else "pipeline"),
            max_days=s.get("max_days"), rot_days=s.get("rot_days"), terminal=terminal, jobs=jobs, gates=gates))
    document = strip(merged)
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return Workflow(
        name=merged.get("name") or Path(path).stem, path=path, locale=merged.get("locale") or "en",
        currency=merged.get("currency") or "EUR", quotas=merged.get("quotas") or {},
        fields=merged.get("fields") or {}, stages=tuple(stages), metrics=strip(merged.get("metrics") or []),
        channels=merged.get("channels") or {}, notifications=strip(merged.get("notifications") or []),
        document=document, digest=digest)


def _retry(raw: dict[str, Any]) -> Retry:
    """A job's retry policy: the keys it leaves out keep Retry's defaults."""
    default = Retry()
    attempts: int | None = raw.get("attempts")
    backoff = _seconds(raw.get("backoff"))
    rate: float | None = raw.get("backoff_rate")
    return Retry(attempts=default.attempts if attempts is None else attempts,
                 backoff=default.backoff if backoff is None else backoff,
                 rate=default.rate if rate is None else rate)


def _seconds(text: str | None) -> float | None:
    if text is None:
        return None
    text = str(text)
    for unit, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def _probabilities(stages: list[dict]) -> list[float]:
    """Stage probabilities; a stage without one gets one interpolated between its
    neighbours (0 before the first stage, 1 at the terminal one)."""
    n = len(stages)
    known = {i: float(s["probability"]) for i, s in enumerate(stages) if s.get("probability") is not None}
    known.setdefault(n - 1, 1.0)
    out = []
    for i in range(n):
        if i in known:
            out.append(known[i])
            continue
        lo = max((k for k in known if k < i), default=-1)
        hi = min(k for k in known if k > i)
        p_lo = known.get(lo, 0.0)
        out.append(round(p_lo + (known[hi] - p_lo) * (i - lo) / (hi - lo), 4))
    return out
