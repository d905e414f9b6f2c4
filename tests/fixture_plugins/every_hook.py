"""A plugin implementing every hook as a no-op: it must load, be listed with all its
hooks, and change nothing."""
from flowctl import hookimpl


@hookimpl
def flowctl_default_store_url(project_dir):
    return None


@hookimpl
def flowctl_store_exists(url):
    return None


@hookimpl
def flowctl_open_store(url):
    return None


@hookimpl
def flowctl_channel_types():
    return []


@hookimpl
def flowctl_actions():
    return []


@hookimpl
def flowctl_forecast_methods():
    return []


@hookimpl
def flowctl_metric_kinds():
    return []


@hookimpl
def flowctl_template_dirs():
    return []


@hookimpl
def flowctl_report_formats():
    return {}


@hookimpl
def flowctl_run_finished(summary, events):
    return None
