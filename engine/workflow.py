"""Loading a workflow file: read and merge its `extends:` chain (flowctl.workflow_read), check
what the schema cannot (flowctl.workflow_checks), then build the model (flowctl.workflow_model)."""
from __future__ import annotations

import os
from typing import Any

from .diagnostics import Diagnostic, has_errors
from .model import Workflow
from .plugin_configs import plugin_config_problems
from .workflow_checks import check, check_templates
from .workflow_model import build
from .workflow_read import (BUILTIN_PREFIX, Loaded, builtin_names, looks_like_workflow, merged_document,
                            read_chain, workflow_validator)
from .yaml_positions import locate_all

# The names the CLI, the tests and the benchmarks import from here.
__all__ = ["BUILTIN_PREFIX", "builtin_names", "load_workflow", "looks_like_workflow", "merged_document",
           "workflow_validator"]


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
