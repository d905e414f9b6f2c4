"""Counts the calls of every registration hook: one line per call in $CALL_LOG."""
import os

from flowctl import hookimpl


def _note(hook):
    with open(os.environ["CALL_LOG"], "a") as f:
        f.write(hook + "\n")


@hookimpl
def flowctl_channel_types():
    _note("flowctl_channel_types")
    return []


@hookimpl
def flowctl_actions():
    _note("flowctl_actions")
    return []


@hookimpl
def flowctl_metric_kinds():
    _note("flowctl_metric_kinds")
    return []


@hookimpl
def flowctl_template_dirs():
    _note("flowctl_template_dirs")
    return []
