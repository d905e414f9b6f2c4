"""The import map of `flowctl import`: reading and checking it, and its lookup tables.

The map (YAML) names the CSV column of each deal field, fixes values (stage names,
outcomes, product spellings), says which dated columns become `history:` entries, and
may fill an empty field from a lookup table, inline or a CSV beside the import. Its
`name:` template may only name columns and fields, with widths of at most MAX_NAME_WIDTH;
its numbers, like the CSV's, are finite and at most MAX_NUMBER.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import re
import string
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, FlowctlError, did_you_mean
from .importcrm import CRM_KEYS, check_crm, read_map_doc
from .schema import deal_schema
from .yaml_positions import locate_all
from .yamlio import read_text

MAP_KEYS = ("source", "columns", "values", "history", "lookup", "name", "constants", "types") + CRM_KEYS
TYPES = ("string", "number", "integer", "date", "boolean")
DEFAULT_TYPES = {"amount": "number", "probability": "number", "created": "date", "closed_at": "date",
                 "expected_close": "date"}
OUTCOMES = ("open", "won", "lost")
MAX_NUMBER = 1e15  # larger CSV numbers are refused: no amount or probability is that large
MAX_NAME_WIDTH = 1000  # width or precision in the map's `name:` template
MAX_LOOKUP_BYTES = 50 * 1024 * 1024  # a price list or an owner table; more is a mistake
_DIGITS = re.compile(r"\d+")


@dataclasses.dataclass
class Lookup:
    field: str  # the deal field it fills when empty
    by: str  # the deal field whose value is looked up
    table: dict[str, Any]
    while_open: bool = False  # the value the deal had while open (a list price): see dated_values


@dataclasses.dataclass
class ImportMap:
    file: str
    columns: dict[str, str]  # deal field -> CSV column
    values: dict[str, dict[str, Any]]  # deal field -> {CSV value: deal value}
    history: dict[str, str]  # stage id -> CSV column of its date
    lookups: list[Lookup]
    name: str | None
    constants: dict[str, Any]
    types: dict[str, str]
    lookup_specs: dict[str, dict]  # as written, resolved against the CSV's folder later
    crm: dict = dataclasses.field(default_factory=dict)  # a CRM's conventions (importcrm.py)
    stage_ids: list[str] | None = None  # the workflow's, when one was given
    optional: set[str] = dataclasses.field(default_factory=set)  # a preset's columns an export may lack
    warnings: list[Diagnostic] = dataclasses.field(default_factory=list)  # YAML 1.1 forms in the map's files

    def needed_columns(self) -> list[tuple[str, tuple]]:
        """(CSV column, map path naming it) for every column the map uses."""
        out: list[tuple[str, tuple[str, ...]]] = [(c, ("columns", f)) for f, c in self.columns.items()]
        out += [(c, ("history", s)) for s, c in self.history.items()]
        if self.name:  # a template may name CSV columns and mapped deal fields
            out += [(c, ("name",)) for _, c, _, _ in string.Formatter().parse(self.name)
                    if c and c not in self.columns and c not in self.constants]
        return out


def _err(file: str, message: str, path: tuple = ()) -> Diagnostic:
    return Diagnostic(file, message, path)


def load_map(path: str, workflow: Any = None) -> ImportMap:
    """Read and check an import map; FlowctlError (positioned in the map) if it is bad."""
    notes: list[Diagnostic] = []
    text, doc, optional = read_map_doc(path, notes=notes)
    if path.startswith("builtin:"):
        path = str(Path(__file__).parent / "import_presets" / f"{path[len('builtin:'):]}.yaml")
    problems: list[Diagnostic] = []
    try:
        result = _check_map(doc, path, workflow, problems)
        if result is not None:
            result.optional, result.warnings = optional, notes
    finally:
        locate_all(problems, {path: text})
    if problems:
        raise FlowctlError(problems)
    return result  # type: ignore[return-value]


def _check_map(doc: Any, path: str, workflow: Any, problems: list[Diagnostic]) -> ImportMap | None:
    if not isinstance(doc, dict):
        problems.append(_err(path, "an import map must be a mapping with `columns:` (deal field: CSV column)"))
        return None
    for key in doc:
        if key not in MAP_KEYS:
            d = _err(path, f"unknown key '{key}'{did_you_mean(str(key), MAP_KEYS)}: a map has {', '.join(MAP_KEYS)}", (key,))
            d.at_key = True  # type: ignore[attr-defined]
            problems.append(d)
    fields = set(deal_schema(workflow.fields if workflow else {})["properties"]) - {"$schema", "history"}
    columns = _mapping(doc, "columns", path, problems, required=True)
    for field, column in columns.items():
        if field not in fields:
            problems.append(_err(path, f"'{field}' is not a deal field{did_you_mean(str(field), fields)} "
                                       "(declare it under the workflow's `fields:` and give -w)", ("columns", field)))
        if not isinstance(column, str) or not column:
            problems.append(_err(path, f"columns.{field} must name a CSV column", ("columns", field)))
    if columns and "id" not in columns:
        problems.append(_err(path, "columns.id is required: the column of the deal id", ("columns",)))
    values = _mapping(doc, "values", path, problems)
    for field, table in values.items():
        if not isinstance(table, dict):
            problems.append(_err(path, f"values.{field} must map CSV values to deal values", ("values", field)))
        elif field == "outcome":
            for raw, value in table.items():
                if value is not None and value not in OUTCOMES:
                    problems.append(_err(path, f"values.outcome.{raw}: '{value}' is not an outcome (open, won, lost)",
                                         ("values", "outcome", raw)))
    history = _mapping(doc, "history", path, problems)
    stage_ids = [s.id for s in workflow.stages] if workflow else None
    for stage, column in history.items():
        if stage_ids is not None and stage not in stage_ids:
            problems.append(_err(path, f"history: no stage '{stage}' in the workflow{did_you_mean(str(stage), stage_ids)}",
                                 ("history", stage)))
        if not isinstance(column, str) or not column:
            problems.append(_err(path, f"history.{stage} must name the CSV column of the date", ("history", stage)))
    types = _mapping(doc, "types", path, problems)
    for field, kind in types.items():
        if kind not in TYPES:
            problems.append(_err(path, f"types.{field}: '{kind}' is not one of {', '.join(TYPES)}", ("types", field)))
    lookups = _mapping(doc, "lookup", path, problems)
    for field, spec in lookups.items():
        where = ("lookup", field)
        if not isinstance(spec, dict):
            problems.append(_err(path, f"lookup.{field} must be a mapping (by, and file/key/value or table)", where))
            continue
        if not isinstance(spec.get("by"), str):
            problems.append(_err(path, f"lookup.{field}.by must name the deal field whose value is looked up", where))
        if not isinstance(spec.get("while_open", False), bool):
            problems.append(_err(path, f"lookup.{field}.while_open must be true or false", where + ("while_open",)))
        if "table" in spec:
            if not isinstance(spec["table"], dict):
                problems.append(_err(path, f"lookup.{field}.table must map values to values", where + ("table",)))
        elif not all(isinstance(spec.get(k), str) for k in ("file", "key", "value")):
            problems.append(_err(path, f"lookup.{field} needs `table:`, or `file:`, `key:` and `value:` "
                                       "(a CSV, its column to match and its column to take)", where))
    name = doc.get("name")
    if name is not None:
        try:
            if not isinstance(name, str):
                raise ValueError("not text")
            for _, field, spec, _ in string.Formatter().parse(name):
                if field is not None:
                    check_name_field(field, spec or "")
        except ValueError as exc:
            problems.append(_err(path, f"name must be a template such as '{{product}} for {{account}}' ({exc})", ("name",)))
    for key, value in (doc.get("constants") or {}).items() if isinstance(doc.get("constants"), dict) else ():
        try:
            check_number(value)
        except ValueError as exc:
            problems.append(_err(path, f"constants.{key}: {exc}", ("constants", key)))
    constants = _mapping(doc, "constants", path, problems)
    crm = check_crm(doc, path, problems)
    if problems:
        return None
    return ImportMap(path, dict(columns), dict(values), dict(history), [], name, dict(constants),
                     {**DEFAULT_TYPES, **types}, dict(lookups), crm, stage_ids)


def _mapping(doc: dict, key: str, path: str, problems: list[Diagnostic], required: bool = False) -> dict:
    value = doc.get(key)
    if value is None:
        if required:
            problems.append(_err(path, f"`{key}:` is required"))
        return {}
    if not isinstance(value, dict):
        problems.append(_err(path, f"`{key}:` must be a mapping", (key,)))
        return {}
    return value


def load_lookups(m: ImportMap, csv_path: str, problems: list[Diagnostic]) -> None:
    """Lookup tables: inline, or a CSV beside the imported one (else beside the map)."""
    for field, spec in m.lookup_specs.items():
        if "table" in spec:
            m.lookups.append(Lookup(field, spec["by"], {str(k): v for k, v in spec["table"].items()},
                                    bool(spec.get("while_open"))))
            continue
        where = ("lookup", field, "file")
        name = Path(str(spec["file"]))
        if name.is_absolute() or ".." in name.parts:
            problems.append(_err(m.file, f"lookup.{field}.file: '{spec['file']}' must name a file beside the CSV or "
                                         "the map (no absolute path, no '..')", where))
            continue
        folders = [Path(csv_path).parent, Path(m.file).parent]
        folder, found = next(((f, f / name) for f in folders if os.path.lexists(f / name)), (None, None))
        if folder is None or found is None:
            problems.append(_err(m.file, f"lookup.{field}.file: no file '{spec['file']}' beside {csv_path} or the map",
                                 where))
            continue
        if not _inside(found, folder):
            problems.append(_err(m.file, f"lookup.{field}.file: {found} leads outside its folder (a symbolic link); "
                                         "copy the table beside the CSV or the map", where))
            continue
        try:
            reader = csv.DictReader(io.StringIO(read_text(found, MAX_LOOKUP_BYTES), newline=""), strict=True)
            header = reader.fieldnames or []
            missing = [k for k in ("key", "value") if spec[k] not in header]
            for k in missing:
                problems.append(_err(m.file, f"lookup.{field}.{k}: column '{spec[k]}' is not in {found} "
                                             f"(its columns: {', '.join(header)})", ("lookup", field, k)))
            if missing:
                continue
            table = {row[spec["key"]]: row[spec["value"]] for row in reader}
        except FlowctlError as exc:  # a pipe, device, folder, oversized, binary or non-UTF-8 file
            problems.append(_err(m.file, f"lookup.{field}.file: cannot use {found}: {exc.diagnostics[0].message}", where))
            continue
        except csv.Error as exc:
            problems.append(_err(m.file, f"lookup.{field}.file: cannot read {found}: {exc}", where))
            continue
        m.lookups.append(Lookup(field, spec["by"], table, bool(spec.get("while_open"))))


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path`, its symbolic links followed, is still inside `folder`."""
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):  # outside, or a link loop
        return False
    return True


def check_name_field(field: str, spec: str) -> None:
    """A field of the `name:` template: a column or field name, no attribute or item
    access, no positional field, a bounded width; ValueError otherwise."""
    if field == "" or field.isdigit():
        raise ValueError(f"'{{{field}}}' is positional: name a CSV column or a deal field, as in '{{Name}}'")
    if "." in field or "[" in field:
        raise ValueError(f"'{{{field}}}' reads an attribute or an item: name a CSV column or a deal field only")
    if "{" in spec:
        raise ValueError(f"'{{{field}:{spec}}}' has a nested field in its format")
    for digits in _DIGITS.findall(spec):
        if len(digits) > 6 or int(digits) > MAX_NAME_WIDTH:
            raise ValueError(f"'{{{field}:{spec[:20]}}}' is too wide (widths and precisions are at most {MAX_NAME_WIDTH})")



def check_number(value: Any) -> None:
    """A number a deal may hold: finite and at most MAX_NUMBER; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    if abs(value) > MAX_NUMBER:
        raise ValueError(f"{shown(value)} is too large (at most {MAX_NUMBER:.0e})")


def shown(value: Any) -> str:
    """A number or cell as a message shows it: never thousands of digits."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 40 else f"'{value[:20]}...' ({len(value)} characters)"
    return f"{value:.6g}" if isinstance(value, float) else str(value)

