"""`flowctl import`: deal files from a CRM export (CSV), driven by a map (YAML).

The map names the CSV column of each deal field, fixes values (stage names, outcomes,
product spellings), says which dated columns become `history:` entries, and may fill an
empty field from a lookup table. Rows are streamed: one deal file written per row.

Every CSV cell is data: numbers must be finite and at most MAX_NUMBER, the CSV is read
strictly (an unclosed quote is an error, not one long field), and the map's `name:`
template may only name columns and fields, with widths of at most MAX_NAME_WIDTH.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import io
import math
import os
import re
import stat
import string
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence

import yaml

from .diagnostics import Diagnostic, FlowctlError, did_you_mean
from .importcrm import CRM_KEYS, apply_crm, check_crm, read_map_doc
from .importhistory import dated_values, stage_as_history
from .schema import deal_schema
from .yaml_positions import locate_all
from .yamlio import parse, read_text

MAP_KEYS = ("source", "columns", "values", "history", "lookup", "name", "constants", "types") + CRM_KEYS
TYPES = ("string", "number", "integer", "date", "boolean")
DEFAULT_TYPES = {"amount": "number", "probability": "number", "created": "date", "closed_at": "date",
                 "expected_close": "date"}
OUTCOMES = ("open", "won", "lost")
FIELD_ORDER = ("id", "name", "account", "owner", "product", "amount", "currency", "created", "expected_close",
               "outcome", "closed_at", "stage", "probability", "forecast_category", "history")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NUMBER = 1e15  # larger CSV numbers are refused: no amount or probability is that large
MAX_NAME_WIDTH = 1000  # width or precision in the map's `name:` template
MAX_LOOKUP_BYTES = 50 * 1024 * 1024  # a price list or an owner table; more is a mistake
_DIGITS = re.compile(r"\d+")
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """Writes dates plain (`at: 2017-01-02`), as people write them; flowctl reads them as ISO strings."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _BaseDumper.yaml_implicit_resolvers.items()
    }


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
    text, doc, optional = read_map_doc(path)
    if path.startswith("builtin:"):
        path = str(Path(__file__).parent / "import_presets" / f"{path[len('builtin:'):]}.yaml")
    problems: list[Diagnostic] = []
    try:
        result = _check_map(doc, path, workflow, problems)
        if result is not None:
            result.optional = optional
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
                    _check_name_field(field, spec or "")
        except ValueError as exc:
            problems.append(_err(path, f"name must be a template such as '{{product}} for {{account}}' ({exc})", ("name",)))
    for key, value in (doc.get("constants") or {}).items() if isinstance(doc.get("constants"), dict) else ():
        try:
            _check_number(value)
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


def _load_lookups(m: ImportMap, csv_path: str, problems: list[Diagnostic]) -> None:
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


# ---------------------------------------------------------------------------------
# rows -> deals
# ---------------------------------------------------------------------------------

def _check_name_field(field: str, spec: str) -> None:
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


class _NameFormatter(string.Formatter):
    """`str.format_map` for the map's `name:`, refusing attribute and item access and
    huge widths (checked when the map is loaded, and again here)."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        _check_name_field(field_name, "")
        return self.get_value(field_name, args, kwargs), field_name

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_name_field("x", format_spec)
        return super().format_field(value, format_spec)


_NAMES = _NameFormatter()


def _check_number(value: Any) -> None:
    """A number a deal may hold: finite and at most MAX_NUMBER; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    if abs(value) > MAX_NUMBER:
        raise ValueError(f"{_shown(value)} is too large (at most {MAX_NUMBER:.0e})")


def _shown(value: Any) -> str:
    """A number or cell as a message shows it: never thousands of digits."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 40 else f"'{value[:20]}...' ({len(value)} characters)"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def convert(value: str, kind: str) -> Any:
    """A CSV cell as a deal value of `kind`; ValueError with a clear message."""
    if kind == "number" or kind == "integer":
        text = value.replace(",", "") if kind == "number" else value
        too_large = f"{_shown(value)} is too large (at most {MAX_NUMBER:.0e})"
        try:
            number = float(text) if kind == "number" else int(text)
        except ValueError:
            if text.strip().lstrip("+-").isdigit():  # an integer past Python's 4300 digits
                raise ValueError(too_large) from None
            raise ValueError(f"{_shown(value)} is not a number") from None
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(f"{_shown(value)} is not a finite number" if any(w in text.lower() for w in ("inf", "nan"))
                             else too_large)
        if abs(number) > MAX_NUMBER:
            raise ValueError(too_large)
        return int(number) if isinstance(number, float) and kind == "number" and number.is_integer() else number
    if kind == "date":
        try:
            return dt.date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            raise ValueError(f"'{value}' is not a date (YYYY-MM-DD)") from None
    if kind == "boolean":
        low = value.strip().lower()
        if low in ("true", "yes", "1", "y"):
            return True
        if low in ("false", "no", "0", "n"):
            return False
        raise ValueError(f"'{value}' is not true or false")
    return value


def row_to_deal(m: ImportMap, row: dict[str, str]) -> dict:
    """One CSV row as a deal; ValueError naming the field on a bad cell."""
    deal: dict[str, Any] = {}
    for field, column in m.columns.items():
        raw = (row.get(column) or "").strip()
        if field in m.values and raw in m.values[field]:
            value = m.values[field][raw]
            if value is None:
                continue
            deal[field] = value
            continue
        if raw == "":
            continue
        try:
            deal[field] = convert(raw, m.types.get(field, "string"))
        except ValueError as exc:
            raise ValueError(f"{field} (column {column}): {exc}") from None
    open_values: dict[str, Any] = {}
    for lookup in m.lookups:
        found = lookup.table.get(str(deal.get(lookup.by)))
        if found in (None, ""):
            continue
        try:
            value = convert(str(found), m.types.get(lookup.field, "string"))
        except ValueError as exc:
            raise ValueError(f"{lookup.field} from the lookup table: {exc}") from None
        if lookup.while_open:
            open_values[lookup.field] = value
        elif deal.get(lookup.field) in (None, ""):
            deal[lookup.field] = value
    for field, value in m.constants.items():
        deal.setdefault(field, value)
    apply_crm(m, row, deal, convert)
    if deal.get("outcome") not in (None, *OUTCOMES):
        raise ValueError(f"outcome '{deal['outcome']}' is not open, won or lost (map it under values.outcome)")
    history = []
    for stage, column in m.history.items():
        raw = (row.get(column) or "").strip()
        if raw:
            try:
                history.append({"stage": stage, "at": convert(raw, "date")})
            except ValueError as exc:
                raise ValueError(f"history {stage} (column {column}): {exc}") from None
    history.sort(key=lambda h: h["at"])
    stage_as_history(deal, history)
    dated_values(deal, history, open_values)
    if history:
        deal["history"] = history
    for field, value in deal.items():  # values and constants from the map, lookups: numbers stay sane
        try:
            _check_number(value)
        except ValueError as exc:
            raise ValueError(f"{field}: {exc}") from None
    if m.name:
        names = _Blank({**{k: (v or "").strip() for k, v in row.items() if isinstance(k, str)},
                        **{k: str(v) for k, v in deal.items()}})
        deal.setdefault("name", _NAMES.vformat(m.name, (), names).strip(" -:,;/"))
    if not deal.get("id"):
        raise ValueError(f"no id (column {m.columns['id']} is empty)")
    deal["id"] = str(deal["id"])
    order = {k: i for i, k in enumerate(FIELD_ORDER)}
    return dict(sorted(deal.items(), key=lambda kv: order.get(kv[0], len(order))))


class _Blank(dict):
    def __missing__(self, key: str) -> str:  # an empty cell leaves a mapped field out
        return ""


def file_name(deal_id: str) -> str:
    return (_UNSAFE.sub("_", deal_id).strip("._") or "deal") + ".yaml"


def dump(deal: dict, source: str, line: int) -> str:
    header = f"# Imported by flowctl import from {source}, row on line {line}.\n"
    return header + yaml.dump(deal, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=120)


# ---------------------------------------------------------------------------------
# the import
# ---------------------------------------------------------------------------------

@dataclasses.dataclass
class ImportResult:
    written: int = 0
    skipped: int = 0
    diagnostics: list[Diagnostic] = dataclasses.field(default_factory=list)


def _open_csv(csv_path: str) -> IO[str]:
    """The CSV opened for streaming; a pipe, device or folder is refused, not waited on
    or read for ever (rows stream, so a large regular file is fine)."""
    try:
        if not stat.S_ISREG(os.stat(csv_path).st_mode):
            what = "a folder" if os.path.isdir(csv_path) else "a device, pipe or socket"
            raise FlowctlError(Diagnostic(csv_path, f"not a regular file ({what}): cannot import it"))
        return open(csv_path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise FlowctlError(Diagnostic(csv_path, f"cannot read: {exc.strerror or exc}"))


def _rows(csv_path: str) -> Iterator[tuple[int, dict[str, str], Sequence[str]]]:
    """(line, row, header) for each row, streamed."""
    with _open_csv(csv_path) as fh:
        reader = csv.DictReader(fh, strict=True)  # strict: an unclosed quote is an error, not a long field
        start = 1  # the line the next record starts on
        try:
            header = reader.fieldnames or []
            start = reader.line_num + 1
            for row in reader:
                yield reader.line_num, row, header
                start = reader.line_num + 1
        except csv.Error as exc:
            hint = " (a quote opened in this record is never closed)" if "unexpected end of data" in str(exc) else ""
            raise FlowctlError(Diagnostic(csv_path, f"bad CSV: {exc}{hint}", line=start, column=1)) from None
        except UnicodeDecodeError as exc:  # decoded ahead, in blocks: the line is not known exactly
            raise FlowctlError(Diagnostic(csv_path, f"not a readable CSV: not utf-8 text after line {reader.line_num} "
                                                    f"({exc.reason}: byte 0x{exc.object[exc.start]:02x})")) from None


def _header(csv_path: str) -> list[str]:
    try:
        with _open_csv(csv_path) as fh:
            return next(csv.reader(fh, strict=True), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FlowctlError(Diagnostic(csv_path, f"cannot read the CSV header: {exc}"))


def check_columns(m: ImportMap, csv_path: str) -> None:
    """Every column the map names is in the CSV's header, else FlowctlError in the map."""
    header = _header(csv_path)
    problems = []
    for field in [f for f, c in m.columns.items() if c in m.optional and c not in header and f != "id"]:
        del m.columns[field]  # a preset's column this export does not have: no such field
    for column, path in m.needed_columns():
        if column not in header:
            key = ".".join(str(p) for p in path)
            problems.append(_err(m.file, f"map key {key} names column '{column}', which {csv_path} does not have"
                                         f"{did_you_mean(column, header)} (its columns: {', '.join(header)})", path))
    _load_lookups(m, csv_path, problems)
    if problems:
        locate_all(problems, {m.file: read_text(m.file)})
        raise FlowctlError(problems)


def import_csv(csv_path: str, m: ImportMap, out_dir: str, force: bool = False,
               progress: Callable[[Iterator, int], Any] | None = None) -> ImportResult:
    """Write one deal file per row into out_dir. A first streamed pass reads the whole CSV
    (strictly: a malformed CSV is refused there) and checks ids (no duplicates, no file
    overwritten without `force`), so nothing is written on refusal. If the writing pass
    still fails (a full disk, the CSV changed meanwhile), the error says which files were
    written. `progress(rows, count)` may wrap the writing pass (a context manager giving
    the rows)."""
    check_columns(m, csv_path)
    id_column = m.columns["id"]
    seen: dict[str, int] = {}
    refusals = []
    for line, row, _ in _rows(csv_path):
        deal_id = (row.get(id_column) or "").strip()
        if not deal_id:
            continue
        name = file_name(deal_id)
        if name in seen:
            refusals.append(Diagnostic(csv_path, f"id '{deal_id}' again (first on line {seen[name]}): ids must be unique",
                                       line=line, column=1))
        seen[name] = line
        if not force and os.path.exists(os.path.join(out_dir, name)):
            refusals.append(Diagnostic(os.path.join(out_dir, name), "exists: refusing to overwrite it (use --force)"))
    if refusals:
        raise FlowctlError(refusals[:20] + ([Diagnostic(csv_path, f"... and {len(refusals) - 20} more")] if len(refusals) > 20 else []))
    os.makedirs(out_dir, exist_ok=True)
    result = ImportResult()
    source = os.path.basename(csv_path)
    written: list[str] = []
    tmp = target = None
    try:
        with (progress(_rows(csv_path), len(seen)) if progress else contextlib.nullcontext(_rows(csv_path))) as rows:
            for line, row, _ in rows:
                try:
                    deal = row_to_deal(m, row)
                except ValueError as exc:
                    result.skipped += 1
                    result.diagnostics.append(Diagnostic(csv_path, f"row skipped: {exc}", line=line, column=1))
                    continue
                target = os.path.join(out_dir, file_name(deal["id"]))
                tmp = target + ".tmp"
                with open(tmp, "w", encoding="utf-8") as fh:
                    fh.write(dump(deal, source, line))
                os.replace(tmp, target)
                tmp = None
                written.append(target)
                result.written += 1
    except (FlowctlError, OSError) as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        problems = (exc.diagnostics if isinstance(exc, FlowctlError)
                    else [Diagnostic(target or out_dir, f"cannot write: {exc.strerror or exc}")])
        done = (f"{len(written)} deal file(s) were written before it stopped: {_span(written)}; "
                "fix the problem and import again with --force") if written else "no deal file was written"
        raise FlowctlError([*problems, Diagnostic(out_dir, f"the import stopped part way: {done}")]) from None
    return result


def _span(paths: list[str]) -> str:
    names = [os.path.basename(p) for p in paths]
    return ", ".join(names) if len(names) <= 5 else f"{', '.join(names[:3])}, ... {names[-1]}"
