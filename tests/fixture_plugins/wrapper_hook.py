"""A new-style hook wrapper: flowctl calls implementations one by one and refuses it by name."""
from flowctl import hookimpl


@hookimpl(wrapper=True)
def flowctl_actions():
    result = yield
    return result
