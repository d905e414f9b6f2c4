"""A plugin whose hook takes an argument the hookspec does not have."""
from flowctl import hookimpl


@hookimpl
def flowctl_run_finished(summary, events, workflow):
    pass
