"""flowctl: a declarative sales-workflow engine.

The names in `__all__` are the public API for plugin authors: everything a hook takes or
returns (docs/plugins.md documents each). They are loaded on first use, so that
`flowctl --version` and `--help` stay fast: importing `flowctl` imports nothing else.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the module that defines it (relative to the package)
_PUBLIC = {
    "hookimpl": "hookspecs",
    "Action": "hooktypes", "ActionContext": "hooktypes", "ActionOutcome": "hooktypes",
    "ChannelType": "hooktypes", "ChannelSession": "hooktypes", "Message": "hooktypes", "DeliveryError": "hooktypes",
    "ForecastMethod": "hooktypes", "ForecastInput": "hooktypes", "MetricKind": "hooktypes",
    "MetricAccumulator": "hooktypes",
    "ReportRenderer": "hooktypes",
    "Store": "store", "StoreError": "store", "Batch": "store", "DealRecord": "store", "FileEntry": "store",
    "Transition": "store", "Event": "store", "ActionResult": "store", "OutboxItem": "store",
    "SnapshotRow": "store", "mask_url": "store",
    "DealState": "evaluate", "JobState": "evaluate", "GateState": "evaluate",
    "Workflow": "model", "Stage": "model", "Job": "model", "Gate": "model",
    "SlimState": "slim_state",
}

__all__ = ["__version__", *_PUBLIC]

if TYPE_CHECKING:  # what mypy and editors see; at run time __getattr__ loads on demand
    from .evaluate import DealState, GateState, JobState
    from .hookspecs import hookimpl
    from .hooktypes import (Action, ActionContext, ActionOutcome, ChannelSession, ChannelType, DeliveryError,
                            ForecastInput, ForecastMethod, Message, MetricAccumulator, MetricKind, ReportRenderer)
    from .slim_state import SlimState
    from .model import Gate, Job, Stage, Workflow
    from .store import (ActionResult, Batch, DealRecord, Event, FileEntry, OutboxItem, SnapshotRow, Store,
                        StoreError, Transition, mask_url)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'flowctl' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
