"""The workflow model: what a loaded, merged and checked workflow file means."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

Label = str | dict[str, str]


def label(value: Label | None, locale: str = "en", default: str = "") -> str:
    """The text of a label in a locale: exact, then its language, then English, then any."""
    if value is None:
        return default
    if isinstance(value, str):
        return value
    for key in (locale, locale.split("-")[0].split("_")[0], "en"):
        if key in value:
            return value[key]
    return next(iter(value.values()), default)


@dataclasses.dataclass(frozen=True)
class Retry:
    attempts: int = 1
    backoff: float = 1.0  # seconds before the first retry
    rate: float = 2.0


@dataclasses.dataclass(frozen=True)
class Job:
    id: str
    stage: str
    title: Label | None = None
    owner: str | None = None
    due: dt.timedelta | None = None
    required: bool = True
    done_when: str | None = None
    uses: str | None = None
    with_: dict = dataclasses.field(default_factory=dict)
    retry: Retry = Retry()

    def text(self, locale: str = "en") -> str:
        return label(self.title, locale, self.id)


@dataclasses.dataclass(frozen=True)
class Gate:
    id: str
    stage: str
    when: str | None = None
    approval: str | None = None
    message: Label | None = None

    def text(self, locale: str = "en") -> str:
        return label(self.message, locale, f"gate {self.id} does not hold")


@dataclasses.dataclass(frozen=True)
class Stage:
    id: str
    index: int
    name: Label | None
    probability: float
    forecast_category: str
    max_days: int | None
    rot_days: int | None
    terminal: bool
    jobs: tuple[Job, ...]
    gates: tuple[Gate, ...]

    def text(self, locale: str = "en") -> str:
        return label(self.name, locale, self.id)

    @property
    def required_jobs(self) -> tuple[Job, ...]:
        return tuple(j for j in self.jobs if j.required)


@dataclasses.dataclass
class Workflow:
    name: str
    path: str
    locale: str
    currency: str
    quotas: dict[str, float]
    fields: dict[str, Any]
    stages: tuple[Stage, ...]
    metrics: list[dict]
    channels: dict[str, dict]
    notifications: list[dict]
    document: dict  # the merged document, without provenance (what --show-merged prints)
    digest: str  # changes whenever the merged workflow changes

    def __post_init__(self) -> None:
        self.stage_by_id = {s.id: s for s in self.stages}
        self.job_by_id = {j.id: j for s in self.stages for j in s.jobs}
        self.gate_by_id = {g.id: g for s in self.stages for g in s.gates}

    @property
    def terminal(self) -> Stage:
        return self.stages[-1]

    def quota(self, owner: str | None) -> float | None:
        if owner is not None and owner in self.quotas:
            return self.quotas[owner]
        return self.quotas.get("default")
