"""The rows of `flowctl import`: the CSV read strictly and streamed, each row made a deal
(as the import map says) and dumped as a deal file.

Every CSV cell is data: it is converted by the type its field has (never by YAML
resolution), numbers must be finite and at most MAX_NUMBER, and an unclosed quote is an
error, not one long field.
"""
from __future__ import annotations

import csv
import datetime as dt
import math
import os
import re
import stat
import string
from typing import IO, Any, Iterator, Sequence

import yaml

from .diagnostics import Diagnostic, FlowctlError
from .import_map import MAX_NUMBER, OUTCOMES, ImportMap, check_name_field, check_number, shown
from .importcrm import apply_crm
from .importhistory import dated_values, stage_as_history

FIELD_ORDER = ("id", "name", "account", "owner", "product", "amount", "currency", "created", "expected_close",
               "outcome", "closed_at", "stage", "probability", "forecast_category", "history")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """Writes dates plain (`at: 2017-01-02`), as people write them; flowctl reads them as ISO strings."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _BaseDumper.yaml_implicit_resolvers.items()
    }


class _NameFormatter(string.Formatter):
    """`str.format_map` for the map's `name:`, refusing attribute and item access and
    huge widths (checked when the map is loaded, and again here)."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        check_name_field(field_name, "")
        return self.get_value(field_name, args, kwargs), field_name

    def format_field(self, value: Any, format_spec: str) -> Any:
        check_name_field("x", format_spec)
        return super().format_field(value, format_spec)


_NAMES = _NameFormatter()


def convert(value: str, kind: str) -> Any:
    """A CSV cell as a deal value of `kind`; ValueError with a clear message."""
    if kind == "number" or kind == "integer":
        text = value.replace(",", "") if kind == "number" else value
        too_large = f"{shown(value)} is too large (at most {MAX_NUMBER:.0e})"
        try:
            if "_" in text:  # Python reads 1_000 as 1000, as YAML 1.1 does; an export means no number
                raise ValueError(text)
            number = float(text) if kind == "number" else int(text)
        except ValueError:
            if text.strip().lstrip("+-").isdigit():  # an integer past Python's 4300 digits
                raise ValueError(too_large) from None
            raise ValueError(f"{shown(value)} is not a number") from None
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(f"{shown(value)} is not a finite number" if any(w in text.lower() for w in ("inf", "nan"))
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
            check_number(value)
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


def open_csv(csv_path: str) -> IO[str]:
    """The CSV opened for streaming; a pipe, device or folder is refused, not waited on
    or read for ever (rows stream, so a large regular file is fine)."""
    try:
        if not stat.S_ISREG(os.stat(csv_path).st_mode):
            what = "a folder" if os.path.isdir(csv_path) else "a device, pipe or socket"
            raise FlowctlError(Diagnostic(csv_path, f"not a regular file ({what}): cannot import it"))
        return open(csv_path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise FlowctlError(Diagnostic(csv_path, f"cannot read: {exc.strerror or exc}"))


def read_rows(csv_path: str) -> Iterator[tuple[int, dict[str, str], Sequence[str]]]:
    """(line, row, header) for each row, streamed."""
    with open_csv(csv_path) as fh:
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


def read_header(csv_path: str) -> list[str]:
    try:
        with open_csv(csv_path) as fh:
            return next(csv.reader(fh, strict=True), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FlowctlError(Diagnostic(csv_path, f"cannot read the CSV header: {exc}"))

