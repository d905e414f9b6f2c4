"""What a run does beyond reading: store writes, automated jobs' actions, delivery, and
the plugins' `run_finished`. A real run makes them (`Made`); a dry run walks the same
path with `flowctl.dry_run.DryRun`, which keeps them as the plan instead.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from . import delivery
from .actions import run_action
from .hooktypes import Action, ActionContext, ChannelType
from .model import Job, Workflow
from .store import ActionResult, Store


class Effects(Protocol):
    dry_run: bool  # what an action's context says

    def store(self, store: Store | None) -> Store:
        """The store the run writes to."""

    def act(self, action: Action | None, job: Job, context: ActionContext, now: dt.date) -> ActionResult | None:
        """Run one automated job's action (None: not run)."""

    def deliver(self, store: Store, workflow: Workflow, channel_types: dict[str, ChannelType]) -> delivery.DeliveryReport:
        """Deliver the outbox."""

    def announce(self, plugins: Any, summary: dict, events: list) -> None:
        """Tell the plugins the run finished."""


class Made:
    """A real run: everything done."""

    dry_run = False

    def store(self, store: Store | None) -> Store:
        if store is None:
            raise ValueError("a run that is not dry needs a store")
        return store

    def act(self, action: Action | None, job: Job, context: ActionContext, now: dt.date) -> ActionResult:
        return run_action(action, job, context, now)

    def deliver(self, store: Store, workflow: Workflow, channel_types: dict[str, ChannelType]) -> delivery.DeliveryReport:
        return delivery.deliver(store, workflow, channel_types)

    def announce(self, plugins: Any, summary: dict, events: list) -> None:
        plugins.run_finished(summary, events)
