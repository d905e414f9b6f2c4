"""A plugin with a typo in a hook name: flowctl must report it, not ignore it silently."""
from flowctl import hookimpl


@hookimpl
def flowctl_chanel_types():  # sic: flowctl_channel_types
    return []


def flowctl_metric_kind():  # sic, and unmarked: still a flowctl_ name no hook has
    return []
