"""The hooks flowctl plugins implement, grouped by family.

Every hook is documented here and in docs/plugins.md. Registration hooks are called
once per command, never per deal, so plugins cost nothing on the hot path.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .hooktypes import Action, ChannelType, ForecastMethod, MetricKind
    from .store import Event, Store

hookspec = pluggy.HookspecMarker("flowctl")
hookimpl = pluggy.HookimplMarker("flowctl")


# ---------------------------------------------------------------------------
# storage
# ---------------------------------------------------------------------------

@hookspec(firstresult=True)
def flowctl_default_store_url(project_dir: Path) -> "str | None":
    """The store URL a project uses when ``--store`` is not given.

    :param project_dir: the folder of the workflow file.
    :return: a URL this or another store plugin opens (the built-in SQLite plugin gives
        ``sqlite:///<project_dir>/.flowctl/state.db``); None to leave it to others.
        The first non-None result wins.
    """


@hookspec(firstresult=True)
def flowctl_store_exists(url: str) -> "bool | None":
    """Whether the store at ``url`` holds anything yet, without creating it.

    Commands that only look (``status``, ``report``, ``runs``, a dry run) open a store
    only when it exists, so that looking never creates one.

    :return: True or False when this plugin handles the URL's scheme, None otherwise
        (no plugin answering: the store is taken to exist, as a server's does).
        The first non-None result wins.
    """


@hookspec(firstresult=True)
def flowctl_open_store(url: str) -> "Store | None":
    """Open the store at ``url`` if this plugin handles its scheme.

    Called once per command that needs the store, with the URL from ``--store`` or
    the project's default (``flowctl_default_store_url``).

    :param url: a SQLAlchemy-style URL (``sqlite:///relative.db``, ``postgresql://…``).
    :return: an object implementing :class:`flowctl.store.Store`, or None when the
        scheme is not this plugin's. The first non-None result wins.
    """


# ---------------------------------------------------------------------------
# notifications
# ---------------------------------------------------------------------------

@hookspec
def flowctl_channel_types() -> "list[ChannelType]":
    """Channel types this plugin provides, named by ``use:`` in ``channels:``.

    Called once per command. Each :class:`flowctl.hooktypes.ChannelType` has a
    ``send(config, message)`` that delivers one message or raises
    :class:`flowctl.hooktypes.DeliveryError`, and a JSON Schema of its config that
    ``flowctl schema workflow`` includes.

    :return: a list of channel types; every plugin's lists are joined.
    """


# ---------------------------------------------------------------------------
# actions
# ---------------------------------------------------------------------------

@hookspec
def flowctl_actions() -> "list[Action]":
    """Actions this plugin provides to automated jobs (``uses: NAME`` in a job).

    Called once per command. ``run(context)`` is called for each deal standing in a
    stage with a job that uses the action and has not yet succeeded; it returns an
    :class:`flowctl.hooktypes.ActionOutcome` or raises (the job then fails, is retried
    by its ``retry:`` policy, and is tried again by the next run).

    :return: a list of actions; every plugin's lists are joined.
    """


# ---------------------------------------------------------------------------
# forecasting
# ---------------------------------------------------------------------------

@hookspec
def flowctl_forecast_methods() -> "list[ForecastMethod]":
    """Forecasting methods this plugin provides (``flowctl forecast --method NAME``).

    Called once per command. ``forecast(input)`` receives a :class:`flowctl.ForecastInput`:
    every deal's state (a :class:`flowctl.SlimState`), the workflow, today, the horizon in
    days and the store, and returns a JSON-able dict
    with at least ``expected``, ``p10``, ``p50`` and ``p90``.

    :return: a list of forecasting methods; every plugin's lists are joined.
    """


# ---------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------

@hookspec
def flowctl_metric_kinds() -> "list[MetricKind]":
    """Metric kinds this plugin adds (``kind: NAME`` under ``metrics:``).

    Called once per command. ``make(config, workflow, now)`` returns a new
    :class:`flowctl.MetricAccumulator` for one metric: its ``add(state)`` is fed each
    deal that passed the metric's ``where:`` (a :class:`flowctl.SlimState`, no jobs or
    gates), one at a time, and ``result()`` gives ``(value, extra figures)`` (the value:
    a number, or a JSON-able dict for grouped values).

    :return: a list of metric kinds; every plugin's lists are joined.
    """


# ---------------------------------------------------------------------------
# templates and reports
# ---------------------------------------------------------------------------

@hookspec
def flowctl_template_dirs() -> "list[Path]":
    """Folders of Jinja2 templates this plugin ships.

    Called once per command that renders. A company's own ``templates/`` folder beside
    its workflow comes first, then every plugin's folders, then the built-ins; the
    first folder with a template of the asked name wins.

    :return: a list of folder paths.
    """


@hookspec
def flowctl_report_formats() -> "dict[str, str]":
    """Report formats this plugin renders: file suffix -> template name.

    Called once by ``flowctl report`` and ``flowctl propose`` to pick the template for
    ``-o FILE``'s suffix (``.html``, ``.md``, …).

    :return: a mapping; later plugins do not override earlier ones.
    """


# ---------------------------------------------------------------------------
# observing runs
# ---------------------------------------------------------------------------

@hookspec
def flowctl_run_finished(summary: dict[str, Any], events: list[Event]) -> None:
    """Called once at the end of ``flowctl run`` (not on ``--dry-run``).

    :param summary: the run summary, as in ``run --format json`` (``summary["events"]``
        counts every event by kind).
    :param events: the events raised by this run (``flowctl.store.Event``): all of them
        with ``--format json``, else the first 1,000 of each process that recorded
        deals (``--jobs N``: up to N × 1,000), so memory does not grow with the
        number of deals. Every event is also in the store (``Store.events(run_id)``).
    """
