"""A hook function without @hookimpl: pluggy ignores it; flowctl must say so."""
from flowctl import hookimpl


def flowctl_actions():  # forgot @hookimpl
    return []


@hookimpl
def flowctl_metric_kinds():
    return []
