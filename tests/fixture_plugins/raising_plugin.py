"""A plugin whose hook raises: flowctl must name it and carry on."""
from flowctl import hookimpl


@hookimpl
def flowctl_run_finished(summary, events):
    raise RuntimeError("boom in run_finished")
