"""`flowctl import`: deal files from a CRM export (CSV), driven by a map (YAML).

The map is read and checked by engine/import_map.py, the rows read and made deals by
engine/import_rows.py; this module checks the map against the CSV and writes one deal
file per row, refusing before it writes anything what it can see in a first pass.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Any, Callable, Iterator

from .atomic import remove_stale_temps, sync_folder, write_atomic
from .diagnostics import Diagnostic, FlowctlError, did_you_mean
from .import_map import ImportMap, load_lookups
from .import_rows import dump, file_name, read_header, read_rows, row_to_deal
from .yaml_positions import locate_all
from .yamlio import read_text


@dataclasses.dataclass
class ImportResult:
    written: int = 0
    skipped: int = 0
    diagnostics: list[Diagnostic] = dataclasses.field(default_factory=list)


def check_columns(m: ImportMap, csv_path: str) -> None:
    """Every column the map names is in the CSV's header, else FlowctlError in the map."""
    header = read_header(csv_path)
    problems: list[Diagnostic] = []
    for field in [f for f, c in m.columns.items() if c in m.optional and c not in header and f != "id"]:
        del m.columns[field]  # a preset's column this export does not have: no such field
    for column, path in m.needed_columns():
        if column not in header:
            key = ".".join(str(p) for p in path)
            problems.append(Diagnostic(m.file, f"map key {key} names column '{column}', which {csv_path} does not have"
                                         f"{did_you_mean(column, header)} (its columns: {', '.join(header)})", path))
    load_lookups(m, csv_path, problems)
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
    for line, row, _ in read_rows(csv_path):
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
    target = None
    remove_stale_temps(out_dir, seen)  # once for all the files: see write_atomic's `batch`
    try:
        with (progress(read_rows(csv_path), len(seen)) if progress else contextlib.nullcontext(read_rows(csv_path))) as rows:
            for line, row, _ in rows:
                try:
                    deal = row_to_deal(m, row)
                except ValueError as exc:
                    result.skipped += 1
                    result.diagnostics.append(Diagnostic(csv_path, f"row skipped: {exc}", line=line, column=1))
                    continue
                target = os.path.join(out_dir, file_name(deal["id"]))
                write_atomic(target, dump(deal, source, line), batch=True)
                written.append(target)
                result.written += 1
    except (FlowctlError, OSError) as exc:
        problems = (exc.diagnostics if isinstance(exc, FlowctlError)
                    else [Diagnostic(target or out_dir, f"cannot write: {exc.strerror or exc}")])
        done = (f"{len(written)} deal file(s) were written before it stopped: {_span(written)}; "
                "fix the problem and import again with --force") if written else "no deal file was written"
        raise FlowctlError([*problems, Diagnostic(out_dir, f"the import stopped part way: {done}")]) from None
    finally:
        sync_folder(out_dir)  # the renames of every file written, made to last at once
    return result


def _span(paths: list[str]) -> str:
    names = [os.path.basename(p) for p in paths]
    return ", ".join(names) if len(names) <= 5 else f"{', '.join(names[:3])}, ... {names[-1]}"