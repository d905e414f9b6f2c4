"""A plugin whose registration hooks raise: flowctl names it, and every other plugin
(the render action, the console channel, the store) works as if it were not there."""
from flowctl import hookimpl


@hookimpl
def flowctl_actions():
    raise RuntimeError("boom in actions")


@hookimpl
def flowctl_channel_types():
    raise ValueError("boom in channel types")
