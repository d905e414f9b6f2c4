"""CRM exports for `flowctl import`: the built-in presets (`--map builtin:hubspot`,
`builtin:salesforce`, `builtin:pipedrive`), maps that `extends:` one, and what a CRM row
says in its own conventions: its stage names (`stages: {CRM stage: stage id}`), stages
that close a deal (`outcome_stages`), closed/won flags (`flags`), the close date per
outcome (`closed_at_columns`), percentages (`percent`), and the columns no key names
(`extra_columns: crm` keeps them under `crm:` as data).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, FlowctlError
from .yamlio import parse, read_text

PRESETS = ("hubspot", "salesforce", "pipedrive")
PRESET_DIR = Path(__file__).parent / "import_presets"
CRM_KEYS = ("extends", "stages", "outcome_stages", "flags", "closed_at_columns", "percent", "extra_columns")
MAX_EXTENDS = 5
_TRUE = ("true", "1", "yes", "y")


def preset_path(name: str) -> Path | None:
    return PRESET_DIR / f"{name}.yaml" if name in PRESETS else None


def read_map_doc(path: str, depth: int = 0, notes: list[Diagnostic] | None = None) -> tuple[str, Any, set[str]]:
    """(text, document with `extends:` resolved, columns from a built-in preset). The
    preset's columns are optional: an export without one of them just lacks that field.
    Warnings about values whose meaning depends on YAML 1.1 go to `notes`, as a deal's do."""
    builtin = path.startswith("builtin:")
    if builtin:
        found = preset_path(path[len("builtin:"):])
        if found is None:
            raise FlowctlError(Diagnostic(path, f"no built-in import map '{path}' (there are "
                                                f"{', '.join('builtin:' + p for p in PRESETS)})"))
        path = str(found)
    text = read_text(path)
    doc = parse(text, path, notes)
    if not isinstance(doc, dict):
        return text, doc, set()
    own = set((doc.get("columns") or {}).values()) if isinstance(doc.get("columns"), dict) else set()
    optional = own if builtin else set()
    if doc.get("extends") is not None:
        parent = doc["extends"]
        if not isinstance(parent, str) or depth >= MAX_EXTENDS:
            raise FlowctlError(Diagnostic(path, "extends: must name builtin:hubspot, builtin:salesforce, "
                                                "builtin:pipedrive or a map file (at most 5 deep)", ("extends",)))
        if not parent.startswith("builtin:"):
            parent = str(Path(path).parent / parent)
        _, base, inherited = read_map_doc(parent, depth + 1, notes)
        if isinstance(base, dict):
            doc = merge(base, {k: v for k, v in doc.items() if k != "extends"})
            optional |= inherited - own
    return text, doc, optional


def merge(base: dict, child: dict) -> dict:
    """The child map over its parent: mappings merge key by key (the child's win), the rest is replaced."""
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = {**base[key], **value}
        else:
            out[key] = value
    return out


def check_crm(doc: dict, path: str, problems: list[Diagnostic]) -> dict:
    """The CRM keys of a map, checked; problems appended."""
    crm = {k: doc[k] for k in CRM_KEYS if k in doc and k != "extends"}
    for key in ("stages", "outcome_stages", "flags", "closed_at_columns"):
        if key in crm and not isinstance(crm[key], dict):
            problems.append(Diagnostic(path, f"`{key}:` must be a mapping", (key,)))
    for raw, outcome in (crm.get("outcome_stages") or {}).items() if isinstance(crm.get("outcome_stages"), dict) else ():
        if outcome not in ("won", "lost", "open"):
            problems.append(Diagnostic(path, f"outcome_stages.{raw}: '{outcome}' is not won, lost or open",
                                       ("outcome_stages", raw)))
    if "percent" in crm and not isinstance(crm["percent"], list):
        problems.append(Diagnostic(path, "`percent:` must list deal fields given in percent", ("percent",)))
    return crm


def crm_columns(crm: dict) -> list[tuple[str, tuple]]:
    """Columns the CRM keys name, with the map path naming each."""
    out = [(c, ("flags", k)) for k, c in (crm.get("flags") or {}).items()]
    out += [(c, ("closed_at_columns", k)) for k, c in (crm.get("closed_at_columns") or {}).items()]
    return out


def apply_crm(m: Any, row: dict[str, str], deal: dict, convert: Any) -> None:
    """What the row says in its CRM's conventions, into the deal; ValueError on a bad cell."""
    crm = m.crm
    if not crm:
        return
    stage_column = m.columns.get("stage")
    raw_stage = (row.get(stage_column) or "").strip() if stage_column else ""
    outcome_stages = crm.get("outcome_stages") or {}
    if raw_stage:
        if raw_stage in outcome_stages:
            deal["outcome"] = outcome_stages[raw_stage]
            deal.pop("stage", None)
        else:
            deal["stage"] = stage_id(m, raw_stage)
    flags = crm.get("flags") or {}
    if flags.get("closed") in row:
        closed = (row.get(flags["closed"]) or "").strip().lower() in _TRUE
        won = (row.get(flags.get("won", "")) or "").strip().lower() in _TRUE
        deal["outcome"] = ("won" if won else "lost") if closed else "open"
    outcome = deal.get("outcome") or "open"
    column = (crm.get("closed_at_columns") or {}).get(outcome)
    if outcome in ("won", "lost") and column and (row.get(column) or "").strip():
        try:
            deal["closed_at"] = convert((row.get(column) or "").strip(), "date")
        except ValueError as exc:
            raise ValueError(f"closed_at (column {column}): {exc}") from None
    elif outcome == "open":
        deal.pop("closed_at", None)  # a deal reopened: an earlier won/lost time no longer holds
    for field in crm.get("percent") or []:
        if isinstance(deal.get(field), (int, float)) and not isinstance(deal[field], bool):
            deal[field] = round(deal[field] / 100, 6)
    if crm.get("extra_columns"):
        used = set(m.columns.values()) | set(m.history.values()) | {c for c, _ in crm_columns(crm)}
        extra = {k: v.strip() for k, v in row.items() if isinstance(k, str) and k not in used and v and v.strip()}
        if extra:
            deal[str(crm["extra_columns"])] = extra


def stage_id(m: Any, raw: str) -> str:
    """The workflow stage a CRM stage name maps to; ValueError naming it otherwise."""
    stages = m.crm.get("stages") or {}
    if raw in stages:
        return str(stages[raw])
    if m.stage_ids is None or raw in m.stage_ids:
        if not stages or m.stage_ids is not None:
            return raw
    choices = f" (the workflow's stages: {', '.join(m.stage_ids)})" if m.stage_ids else ""
    raise ValueError(f"CRM stage '{raw}' maps to no workflow stage: add it under `stages:` in the map{choices}")
