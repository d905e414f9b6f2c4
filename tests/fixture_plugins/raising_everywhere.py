"""A plugin whose every hook but the store's raises: whichever hooks a command calls,
it must exit 1, name the plugin and the hook, and (with --format json) list the failure
in its `diagnostics`."""
from flowctl import hookimpl


def _boom(hook: str) -> RuntimeError:
    return RuntimeError(f"boom in {hook}")


@hookimpl
def flowctl_channel_types():
    raise _boom("channel_types")


@hookimpl
def flowctl_actions():
    raise _boom("actions")


@hookimpl
def flowctl_forecast_methods():
    raise _boom("forecast_methods")


@hookimpl
def flowctl_metric_kinds():
    raise _boom("metric_kinds")


@hookimpl
def flowctl_template_dirs():
    raise _boom("template_dirs")


@hookimpl
def flowctl_report_formats():
    raise _boom("report_formats")


@hookimpl
def flowctl_run_finished(summary, events):
    raise _boom("run_finished")
