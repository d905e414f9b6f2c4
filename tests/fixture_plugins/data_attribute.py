"""A plugin module with a plain (non-function) attribute whose name starts with flowctl_."""
from flowctl import hookimpl

flowctl_min_version = "0.1"  # data, not a hook


@hookimpl
def flowctl_run_finished(summary, events):
    pass
