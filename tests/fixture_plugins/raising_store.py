"""A store plugin that raises on every URL (a bug, not a refusal): flowctl must name it."""
from flowctl import hookimpl


@hookimpl
def flowctl_open_store(url):
    raise KeyError("boom in open_store")
