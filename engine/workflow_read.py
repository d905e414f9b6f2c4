"""Reading a workflow file and everything it `extends:`: parse each file, check it against
the schema and for ids repeated within it, then merge the chain into one annotated document."""
from __future__ import annotations

import contextlib
import os
from importlib import resources
from pathlib import Path
from typing import Any

from . import expressions
from .diagnostics import Diagnostic, FlowctlError, did_you_mean
from .extends import annotate, duplicate_ids, merge, strip, where
from .schema import SchemaValidator, base_schema
from .yaml_positions import locate_all
from .yamlio import parse, read_text

BUILTIN_PREFIX = "builtin:"


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


def loaded_main(loaded: Loaded) -> str:
    """The display name of the file loading began with (for a diagnostic about the whole)."""
    return next(iter(loaded.texts), "?")


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
