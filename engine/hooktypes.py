"""The objects plugins receive and return. Plugin authors import them from here."""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:  # annotations only: the core's modules import this one
    from .evaluate import DealState
    from .slim_state import SlimState
    from .model import Job, Workflow
    from .store import Store


class DeliveryError(Exception):
    """A channel could not deliver a message; the outbox keeps it for the next run."""


@dataclasses.dataclass
class Message:
    """One notification, ready to deliver."""

    key: str  # the outbox key: deterministic, unique per (deal, event, stage, date, rule, recipient)
    channel: str  # the channel's name under `channels:`
    recipient: str | None
    subject: str
    body: str
    payload: dict  # JSON-able: {"events": [...], "deal": {...}} as documented in docs/plugins.md


class ChannelSession(Protocol):
    """A channel's state for one run (connections, a TLS context): opened at its first
    message, given every message of the run, closed at the end."""

    def send(self, message: Message) -> None: ...  # raise DeliveryError

    def close(self) -> None: ...


@dataclasses.dataclass
class ChannelType:
    """A kind of notification channel, named by `use:` in the workflow's `channels:`."""

    name: str
    send: Callable[[dict, Message], None]  # (channel config with *_env secrets resolved, message); raise DeliveryError
    config_schema: dict = dataclasses.field(default_factory=dict)  # JSON Schema of the channel's config
    # open(config) -> ChannelSession: once per channel and run, instead of `send` per message
    open: Callable[[dict], ChannelSession] | None = None


@dataclasses.dataclass
class ActionContext:
    """What an automated job's action sees."""

    deal: dict  # the deal's data, read-only by convention: never render it as a template
    state: DealState  # stage, outcome, jobs, gates, …
    job: Job  # the job being run (id, uses, with_)
    params: dict  # the job's `with:`
    workflow: Workflow
    now: dt.date
    out_dir: Path  # where actions may write files (created on demand)
    dry_run: bool
    render: Callable[..., str]  # render(template_name, **context) -> text, sandboxed, override order applied
    notify: Callable[..., None]  # notify(channel, to=None, subject='', template=None, body=None): queues a message in the outbox (subject and to are templates over deal/job; body is literal, else `template` renders it)
    # The same for every attempt at this job of this deal on this day (retries, and the one
    # action a crash may repeat): pass it to a target that de-duplicates (an Idempotency-Key
    # header, a client token) and the action happens exactly once.
    idempotency_key: str = ""


@dataclasses.dataclass
class ActionOutcome:
    ok: bool
    output: dict = dataclasses.field(default_factory=dict)  # JSON-able; e.g. {"file": "..."}
    error: str | None = None


@dataclasses.dataclass
class Action:
    """An action that automated jobs name with `uses:`."""

    name: str
    run: Callable[[ActionContext], ActionOutcome]  # may raise: the job fails with the message
    with_schema: dict = dataclasses.field(default_factory=dict)  # JSON Schema of `with:`


@dataclasses.dataclass
class ForecastInput:
    states: list[SlimState]  # every deal (open and closed): stage, outcome, amount, probability, dates; no jobs or gates
    workflow: Workflow
    now: dt.date
    horizon_days: int
    store: Store | None  # for history
    options: dict = dataclasses.field(default_factory=dict)  # e.g. {"trials": 10000, "seed": 1, "by": ["owner"]}


@dataclasses.dataclass
class ForecastMethod:
    """A forecasting method, chosen with `flowctl forecast --method NAME`."""

    name: str
    forecast: Callable[[ForecastInput], dict]  # returns at least {"expected", "p10", "p50", "p90"}
    description: str = ""  # one line: how it forecasts (help texts, the report's definition), N_-marked
    label: str = ""  # the report's column title, N_-marked so it is translated; the name when empty
    # JSON Schema of the method's settings under the workflow's `forecast: {NAME: ...}`
    # (given to it in ForecastInput.options): validate checks it, `flowctl schema workflow` offers it.
    config_schema: dict | None = None
    # False when the existing part is not a sum over the open deals the method is given
    # (a run rate): the report's breakdown by month of expected close leaves it out.
    deal_by_deal: bool = True


class MetricAccumulator(Protocol):
    """One metric's figure being built, fed one deal at a time (no list of deals is kept)."""

    def add(self, state: SlimState) -> None: ...  # a deal that passed the metric's `where:`

    def result(self) -> tuple[Any, dict]: ...  # (value, extra figures shown beside it; {} for none)


@dataclasses.dataclass
class MetricKind:
    """A metric kind that workflow `metrics:` may name with `kind:`."""

    name: str
    make: Callable[[dict, Workflow, dt.date], MetricAccumulator]  # (metric config, workflow, now) -> a new accumulator
    description: str = ""  # one line: the figure's definition, shown with the metric
    # JSON Schema of the kind's own keys in a metric (`id`, `kind`, `where`, `group_by`,
    # `target`, `title` are every metric's and always allowed): validate checks it,
    # `flowctl schema workflow` offers it to editors.
    config_schema: dict | None = None


class ReportRenderer(Protocol):
    def __call__(self, context: dict, template_name: str | None) -> str: ...
