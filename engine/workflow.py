"""Loading a workflow file: parse, check against the schema, follow `extends`, merge,
check what the schema cannot (ids, references, order, expressions), then build the model
(flowctl.workflow_model)."""
from __future__ import annotations

import contextlib
import os
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from . import expressions, template_checks
from .diagnostics import Diagnostic, FlowctlError, did_you_mean, has_errors
from .durations import parse_duration
from .extends import annotate, duplicate_ids, merge, strip, where
from .plugin_configs import plugin_config_problems
from .model import Workflow
from .schema import SchemaValidator, base_schema, deal_schema
from .workflow_model import build
from .yaml_positions import locate_all
from .yamlio import parse, read_text

BUILTIN_PREFIX = "builtin:"
EVENT_KINDS = ("stage_entered", "stage_regressed", "job_overdue", "deal_stuck", "deal_rotting",
               "gate_blocked", "deal_won", "deal_lost", "metric_alert")


def builtin_names() -> list[str]:
    folder = resources.files("flowctl.workflows")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


class Loaded:
    """Everything read while loading one workflow: texts for positions, diagnostics."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.diagnostics: list[Diagnostic] = []
        self.refused: dict | None = None  # a lone workflow file the schema refused, for the checks beyond it

    def error(self, src: tuple[str, tuple], message: str, severity: str = "error", at_key: bool = False) -> None:
        d = Diagnostic(src[0], message, src[1], severity)
        d.at_key = at_key  # type: ignore[attr-defined]
        self.diagnostics.append(d)


def _read(ref: str, base_dir: Path | None, loaded: Loaded, src: tuple[str, tuple] | None) -> tuple[str, dict | None, Path | None]:
    """(display name, document, folder) of a workflow reference: a path or builtin:NAME."""
    if ref.startswith(BUILTIN_PREFIX):
        name = ref[len(BUILTIN_PREFIX):]
        if name not in builtin_names() or "/" in name or "\\" in name:
            loaded.error(src or (ref, ()), f"no built-in workflow '{ref}'{did_you_mean(ref, [BUILTIN_PREFIX + n for n in builtin_names()])}")
            return ref, None, None
        text = resources.files("flowctl.workflows").joinpath(f"{name}.yaml").read_text("utf-8")
        display, folder = ref, None
    else:
        path = Path(ref) if base_dir is None else base_dir / ref
        display, folder = os.path.normpath(str(path)), path.parent
        if src is not None and path.is_dir():
            loaded.error(src, f"extends: '{ref}' is a folder, not a workflow file (looked at {display})")
            return display, None, None
        if src is not None and not path.is_file():
            loaded.error(src, f"extends: no such file '{ref}' (looked for {display})")
            return display, None, None
        try:
            text = read_text(path)
        except FlowctlError as exc:
            loaded.diagnostics.extend(exc.diagnostics)
            return display, None, None
    loaded.texts[display] = text
    try:
        doc = parse(text, display)
    except FlowctlError as exc:
        loaded.diagnostics.extend(exc.diagnostics)
        return display, None, folder
    if not isinstance(doc, dict):
        loaded.error((display, ()), "a workflow file must be a mapping (flowctl: 1, name, stages, …)")
        return display, None, folder
    return display, doc, folder


def workflow_validator(extra_schema: dict | None = None) -> SchemaValidator:
    schema = base_schema("workflow")
    if extra_schema:
        schema.setdefault("$defs", {}).update(extra_schema)
    return SchemaValidator(schema)


def read_chain(path: str | os.PathLike, loaded: Loaded, validator: SchemaValidator | None = None) -> dict | None:
    """The merged document of a workflow and everything it extends (annotated), or None."""
    validator = validator or workflow_validator()
    chain: list[tuple[str, dict]] = []
    ref = str(path)
    base_dir: Path | None = None
    src: tuple[str, tuple[str, ...]] | None = None  # where the reference was written: None for `path`
    seen: list[str] = []
    while True:
        display, doc, folder = _read(ref, base_dir, loaded, src)
        if doc is None:
            return None
        if display in seen:
            assert src is not None  # only an `extends:` comes back to a file already read
            loaded.error(src, "extends cycle: " + " -> ".join(seen + [display]))
            return None
        seen.append(display)
        if src is not None and not looks_like_workflow(doc):  # say nothing of what the file holds
            loaded.error(src, f"extends: '{ref}' is not a workflow (it has no `flowctl:`, `stages:` or `extends:`)")
            return None
        problems = validator.diagnostics(doc, display)
        loaded.diagnostics.extend(problems)
        if problems:
            _lenient_checks(doc, display, loaded)  # report what else is wrong in this file too
            if not chain and "extends" not in doc:
                with contextlib.suppress(Exception):  # a shape annotate does not expect: no checks beyond
                    loaded.refused = annotate(doc, display)
            return None
        _check_ids_in_file(doc, display, loaded)
        chain.append((display, annotate(doc, display)))
        if "extends" not in doc:
            break
        ref, base_dir, src = doc["extends"], folder, (display, ("extends",))
    merged = chain[-1][1]
    for _, doc in reversed(chain[:-1]):
        merged = merge(merged, doc, loaded.diagnostics)
    return merged


def _lenient_checks(doc: dict, file: str, loaded: Loaded) -> None:
    """The checks that still make sense in a file the schema refused: duplicate ids and
    expressions, on whatever parts have the right shape."""
    def dicts(value: Any) -> list[dict]:
        return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []

    stages = dicts(doc.get("stages"))
    for i, stage in enumerate(doc.get("stages") or [] if isinstance(doc.get("stages"), list) else []):
        if isinstance(stage, dict):
            stage["__src__"] = (file, ("stages", i))
            for child in ("jobs", "gates"):
                if isinstance(stage.get(child), list):
                    for j, sub in enumerate(stage[child]):
                        if isinstance(sub, dict):
                            sub["__src__"] = (file, ("stages", i, child, j))
    duplicate_ids([s for s in stages if isinstance(s.get("id"), str)], loaded.diagnostics, "stage")
    for stage in stages:
        for child, key in (("jobs", "done_when"), ("gates", "when")):
            items = [x for x in dicts(stage.get(child)) if isinstance(x.get("id"), str)]
            duplicate_ids(items, loaded.diagnostics, child[:-1])
            for item in items:
                if isinstance(item.get(key), str):
                    try:
                        expressions.check_expression(item[key])
                    except expressions.ExpressionError as exc:
                        loaded.error(where(item, key), str(exc))


def _check_ids_in_file(doc: dict, file: str, loaded: Loaded) -> None:
    for i, stage in enumerate(doc.get("stages") or []):
        stage["__src__"] = (file, ("stages", i))
    annotate(doc, file)
    duplicate_ids(doc.get("stages") or [], loaded.diagnostics, "stage")
    for key in ("metrics", "notifications"):
        duplicate_ids(doc.get(key) or [], loaded.diagnostics, key[:-1])
    for stage in doc.get("stages") or []:
        for child in ("jobs", "gates"):
            duplicate_ids(stage.get(child) or [], loaded.diagnostics, child[:-1])


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
                loaded.error(where(element, key), f"no template named '{name}' (looked in {', '.join(templates.folders) or 'no folder'})")
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


def loaded_main(loaded: Loaded) -> str:
    return next(iter(loaded.texts), "?")


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
        if head not in dschema:
            loaded.error(where(element, key), f"expression names deal field '{head}', which neither the deal schema nor the workflow's `fields` declares{did_you_mean(head, dschema)}")
            continue
        props = dschema[head].get("properties") if isinstance(dschema[head], dict) else None
        if len(path) > 1 and props is not None and path[1] not in props and dschema[head].get("additionalProperties") is not True:
            loaded.error(where(element, key), f"expression names '{head}.{path[1]}', but field '{head}' declares no '{path[1]}'{did_you_mean(path[1], props)}")


def load_workflow(path: str | os.PathLike, registry: Any = None) -> tuple[Workflow | None, list[Diagnostic]]:
    """Load, merge and check a workflow. Returns (workflow or None if it has errors,
    all diagnostics with positions). `registry` (the plugin manager's view) names the
    actions, channel types and metric kinds that plugins provide."""
    loaded = Loaded()
    validator = workflow_validator()
    merged = read_chain(path, loaded, validator)
    if merged is not None:
        _all_checks(merged, loaded, registry, path)
    elif loaded.refused is not None:
        _checks_beyond_the_schema(loaded.refused, loaded, registry, path)
    locate_all(loaded.diagnostics, loaded.texts)
    diagnostics = sorted(loaded.diagnostics, key=lambda d: d.sort_key())
    if merged is None or has_errors(diagnostics):
        return None, diagnostics
    return build(merged, str(path)), diagnostics


def _all_checks(merged: dict, loaded: Loaded, registry: Any, path: str | os.PathLike) -> None:
    check(merged, loaded,
          known_actions=registry.action_names() if registry else None,
          known_channels=registry.channel_names() if registry else None,
          known_metric_kinds=registry.metric_kind_names() if registry else None,
          channel_schemas={n: c.config_schema for n, c in registry.channel_types().items()} if registry else None,
          action_schemas={n: a.with_schema for n, a in registry.actions().items()} if registry else None)
    if registry is not None:
        from .templating import Templates
        check_templates(merged, loaded, Templates.for_workflow(str(path), registry.template_dirs()))
        loaded.diagnostics.extend(plugin_config_problems(merged, registry))


def _checks_beyond_the_schema(doc: dict, loaded: Loaded, registry: Any, path: str | os.PathLike) -> None:
    """validate says every problem of a file in one pass: the checks a schema-valid file
    gets also run on one the schema refused, and what they find stands unless it is about
    a part the schema refused already (or was said already)."""
    refused = [d.path for d in loaded.diagnostics]
    said = {(d.file, d.path, d.message) for d in loaded.diagnostics}
    beyond = Loaded()
    beyond.texts = loaded.texts
    try:
        _all_checks(doc, beyond, registry, path)
    except Exception:  # a part of a shape the checks do not expect: what they found until then stands
        pass
    for d in beyond.diagnostics:
        if (d.file, d.path, d.message) in said:
            continue
        if any(d.path[:len(r)] == r or r[:len(d.path)] == d.path for r in refused):
            continue  # about a part the schema refused (or around it): one message is enough
        loaded.diagnostics.append(d)


def merged_document(path: str | os.PathLike) -> dict:
    loaded = Loaded()
    merged = read_chain(path, loaded)
    if merged is None:
        locate_all(loaded.diagnostics, loaded.texts)
        raise FlowctlError(loaded.diagnostics)
    return strip(merged)


def looks_like_workflow(doc: Any) -> bool:
    """Tell a workflow document from a deal document by content."""
    return isinstance(doc, dict) and ("flowctl" in doc or "stages" in doc or "extends" in doc)
