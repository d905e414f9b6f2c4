"""The checks of a merged workflow that its schema cannot express: ids across stages, stage
order and probabilities, expressions against the deal schema, the actions, channels and metric
kinds plugins provide, and the templates the workflow names."""
from __future__ import annotations

from typing import Any, Iterable

from . import expressions, template_checks
from .diagnostics import did_you_mean
from .durations import parse_duration
from .extends import duplicate_ids, where
from .schema import SchemaValidator, deal_schema
from .workflow_read import Loaded, loaded_main


def check(merged: dict, loaded: Loaded, known_actions: Iterable[str] | None = None,
          known_channels: Iterable[str] | None = None, known_metric_kinds: Iterable[str] | None = None,
          channel_schemas: dict[str, dict] | None = None, action_schemas: dict[str, dict] | None = None) -> None:
    """What the schema cannot say: cross-stage ids, order, probabilities, expressions."""
    stages = merged.get("stages") or []
    top = merged.get("__top__", {})
    if not stages:
        loaded.error(top.get("stages", (loaded_main(loaded), ())), "the workflow has no stages")
        return
    # Job and gate ids are unique across the whole workflow: deal files name them alone.
    # (Twice in one stage was reported per file already.)
    for child in ("jobs", "gates"):
        firsts = [next(x for x in s.get(child) or [] if x.get("id") == ident)
                  for s in stages for ident in dict.fromkeys(x.get("id") for x in s.get(child) or [])]
        duplicate_ids(firsts, loaded.diagnostics, child[:-1])
    terminals = [i for i, s in enumerate(stages) if s.get("terminal")]
    for i in terminals:
        if i != len(stages) - 1:
            loaded.error(where(stages[i], "terminal"), f"terminal stage '{stages[i]['id']}' is not the last stage (the last is '{stages[-1]['id']}')")
    if not terminals:
        loaded.error(where(stages[-1]), f"no stage is terminal: the last stage '{stages[-1]['id']}' is taken as the terminal one (add terminal: true)", "warning")
    last_p, last_id = None, None
    for stage in stages:
        p = stage.get("probability")
        if p is not None:
            if last_p is not None and p < last_p and not stage.get("terminal"):
                loaded.error(where(stage, "probability"), f"probability falls from {last_p} in '{last_id}' to {p} in '{stage['id']}' as deals advance", "warning")
            last_p, last_id = p, stage["id"]
    for gate in stages[-1].get("gates") or []:
        loaded.error(where(gate), f"gate '{gate.get('id')}' on the terminal stage means nothing: the deal is already won", "warning")
    fields = merged.get("fields") or {}
    dschema = deal_schema(fields)["properties"]
    for stage in stages:
        for job in stage.get("jobs") or []:
            if job.get("due") is not None:
                try:
                    parse_duration(job["due"])
                except ValueError as exc:
                    loaded.error(where(job, "due"), str(exc))
            if job.get("done_when") is not None:
                _check_expression(job, "done_when", dschema, loaded)
            if job.get("uses") is not None and known_actions is not None and job["uses"] not in known_actions:
                loaded.error(where(job, "uses"), f"no plugin provides the action '{job['uses']}'{did_you_mean(job['uses'], known_actions)}")
            elif job.get("uses") is not None and action_schemas and action_schemas.get(job["uses"]):
                file, base = where(job, "with")
                for d in SchemaValidator(action_schemas[job["uses"]]).diagnostics(job.get("with") or {}, file, base):
                    loaded.diagnostics.append(d)
            named = (job.get("with") or {}).get("channel") if job.get("uses") == "notify" else None
            if isinstance(named, str) and named not in (merged.get("channels") or {}) and named != "console":
                known = list(merged.get("channels") or {}) + ["console"]  # else the run fails at the deal, not here
                loaded.error(where(job, "with"), f"no channel '{named}' under channels:{did_you_mean(named, known)}")
        for gate in stage.get("gates") or []:
            if gate.get("when") is not None:
                _check_expression(gate, "when", dschema, loaded)
            if gate.get("when") is None and gate.get("approval") is None:
                loaded.error(where(gate), f"gate '{gate.get('id')}' has neither `when` nor `approval`: it would always hold", "warning")
    stage_ids = [s["id"] for s in stages]
    channels = merged.get("channels") or {}
    for name, channel in channels.items():
        if known_channels is not None and channel.get("use") not in known_channels:
            loaded.error(_top_child(top, "channels", name, "use"), f"no plugin provides the channel type '{channel.get('use')}'{did_you_mean(str(channel.get('use')), known_channels)}")
        elif channel_schemas and channel_schemas.get(channel.get("use")):
            # The plugin's own description of its config: a missing `from` is found now, not at send time.
            file, base = _top_child(top, "channels", name)
            for d in SchemaValidator(channel_schemas[channel["use"]]).diagnostics(channel, file, base):
                loaded.diagnostics.append(d)
    for metric in merged.get("metrics") or []:
        if "kind" not in metric:
            loaded.error(where(metric), f"metric '{metric.get('id')}' has no `kind`")
    for rule in merged.get("notifications") or []:
        for key in ("on", "channel"):
            if key not in rule:
                loaded.error(where(rule), f"notification rule{' ' + repr(rule['id']) if 'id' in rule else ''} has no `{key}`")
        if "channel" not in rule:
            continue
        if rule.get("channel") not in channels and rule.get("channel") != "console":
            loaded.error(where(rule, "channel"), f"no channel '{rule.get('channel')}' under channels:{did_you_mean(str(rule.get('channel')), list(channels) + ['console'])}")
        if rule.get("where") is not None:
            _check_expression(rule, "where", dschema, loaded, extra_names=("event",))
    for metric in merged.get("metrics") or []:
        for key in ("from", "to", "stage"):
            if metric.get(key) is not None and metric[key] not in stage_ids:
                loaded.error(where(metric, key), f"no stage '{metric[key]}'{did_you_mean(str(metric[key]), stage_ids)}")
        if known_metric_kinds is not None and "kind" in metric and metric["kind"] not in known_metric_kinds:
            loaded.error(where(metric, "kind"), f"unknown metric kind '{metric.get('kind')}'{did_you_mean(str(metric.get('kind')), known_metric_kinds)}")
        if metric.get("where") is not None:
            _check_expression(metric, "where", dschema, loaded)


def check_templates(merged: dict, loaded: Loaded, templates: Any) -> None:
    """Templates the workflow names exist, and inline ones (subject, to) parse."""
    import jinja2

    from .templating import OutsideLink  # here, as jinja2: loading a workflow without templates stays light

    def exists(element: dict, key: str, name: Any, syntax: bool = True) -> None:
        """A notification's template must exist and parse (else every message fails);
        an action's must exist (a broken one fails the action, reported per deal)."""
        if not isinstance(name, str):
            return
        try:
            template = templates.env.get_template(name)
            if syntax:  # a notification's: it is rendered for every deal
                source = templates.env.loader.get_source(templates.env, name)[0]
                _check_template_tree(templates.env.parse(source), element, key, f"template '{name}'")
        except jinja2.TemplateNotFound as exc:
            if exc.name == name:
                why = f": it is {OutsideLink.WHY}" if isinstance(exc, OutsideLink) else ""
                loaded.error(where(element, key), f"no template named '{name}' (looked in {', '.join(templates.folders) or 'no folder'}){why}")
            elif syntax:
                loaded.error(where(element, key), f"template '{name}' includes '{exc.name}', which does not exist")
        except jinja2.TemplateSyntaxError as exc:
            if syntax:
                loaded.error(where(element, key), f"template '{name}' does not parse: line {exc.lineno}: {exc.message}")
        except Exception as exc:  # unreadable, binary, a name leaving its folder: bad input either way
            loaded.error(where(element, key), f"template '{name}' cannot be read: {exc}")

    def _check_template_tree(tree: Any, element: dict, key: str, what: str) -> None:
        why = template_checks.refused(tree)
        if why:
            loaded.error(where(element, key), f"{what} would be refused at run time: {why}")
        slow = template_checks.runaway(tree)
        if slow:
            loaded.error(where(element, key), f"{what}: {slow}", severity="warning")

    for rule in merged.get("notifications") or []:
        exists(rule, "template", rule.get("template"))
        for key in ("subject", "to"):
            if isinstance(rule.get(key), str):
                try:
                    _check_template_tree(templates.env.parse(rule[key]), rule, key, f"`{key}`")
                except jinja2.TemplateSyntaxError as exc:
                    loaded.error(where(rule, key), f"`{key}` does not parse as a template: {exc.message}")
    for stage in merged.get("stages") or []:
        for job in stage.get("jobs") or []:
            params = job.get("with") if isinstance(job.get("with"), dict) else {}
            if job.get("uses") in ("render", "notify") and "template" in params:
                exists(job, "with", params["template"], syntax=False)


def _top_child(top: dict, key: str, *path: Any) -> tuple[str, tuple]:
    file, base = top.get(key, ("?", (key,)))
    return (file, base + tuple(path))


def _check_expression(element: dict, key: str, dschema: dict, loaded: Loaded, extra_names: tuple = ()) -> None:
    src = element[key]
    try:
        expr = expressions.parse_expression(src)
    except expressions.ExpressionError as exc:
        loaded.error(where(element, key), str(exc))
        return
    internal = expressions.internals_used(expr)
    if internal:
        loaded.error(where(element, key), internal)
    slow = template_checks.runaway(expr)
    if slow:
        loaded.error(where(element, key), slow, severity="warning")
    unknown = sorted(expressions.names_used(expr) - set(expressions.NAMES) - set(extra_names))
    if unknown:
        loaded.error(where(element, key), f"unknown name '{unknown[0]}': expressions can use {', '.join(expressions.NAMES + extra_names)}")
    for path in expressions.deal_fields_used(expr):
        head = path[0]
        if head.startswith(("x-", "x_")):
            continue  # extension fields are free
        if internal and any(part.startswith("_") for part in path[:2]):
            continue  # refused above already: `deal.__class__` is one problem, not an unknown field too
        if head not in dschema:
            loaded.error(where(element, key), f"expression names deal field '{head}', which neither the deal schema nor the workflow's `fields` declares{did_you_mean(head, dschema)}")
            continue
        props = dschema[head].get("properties") if isinstance(dschema[head], dict) else None
        if len(path) > 1 and props is not None and path[1] not in props and dschema[head].get("additionalProperties") is not True:
            loaded.error(where(element, key), f"expression names '{head}.{path[1]}', but field '{head}' declares no '{path[1]}'{did_you_mean(path[1], props)}")
