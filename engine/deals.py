"""Deal files: finding them, reading them one at a time, checking them."""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import re
from typing import Any, Callable, Iterable, Iterator

from .compiled import CompiledWorkflow
from .diagnostics import Diagnostic, FlowctlError, did_you_mean
from .severity import classify_schema, problem as severity_problem
from .yaml11 import notes_for
from .yaml_positions import Positions, locate_all
from .yamlio import parse, read_text

DEAL_SUFFIXES = (".yaml", ".yml", ".json")


def find_files(paths: Iterable[str | os.PathLike]) -> Iterator[str]:
    """Deal files named on the command line: files as given, folders searched
    recursively (sorted, hidden entries skipped)."""
    for p in paths:
        path = str(p)
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.endswith(DEAL_SUFFIXES) and not name.startswith("."):
                        yield os.path.join(root, name)
        else:
            yield path


@dataclasses.dataclass
class DealDoc:
    """One deal read from a file; `index` is its place in a `deals:` list, else None."""

    file: str
    deal: dict
    index: int | None = None
    notes: list[Diagnostic] = dataclasses.field(default_factory=list)  # warnings from parsing (YAML 1.1 forms)
    raw: dict | None = None  # the deal as written, when `deal` is what evaluation reads of it (severity.for_evaluation)

    @property
    def prefix(self) -> tuple:
        return ("deals", self.index) if self.index is not None else ()


def split_deals(doc: Any, file: str, notes: list[Diagnostic] | None = None, text: str = "") -> list[DealDoc]:
    """The deals of a parsed file: a single deal mapping, or a list under `deals:`; the
    parser's `notes` go to the deal they fall in."""
    docs = _split_deals(doc, file)
    if notes:
        starts = [1] + [Positions(text).locate(("deals", d.index or 0))[0] or 1 for d in docs[1:]]
        for d, mine in zip(docs, notes_for(notes, starts)):
            d.notes = mine
    return docs


def _split_deals(doc: Any, file: str) -> list[DealDoc]:
    if isinstance(doc, dict) and "deals" in doc and "id" not in doc:
        extra = [k for k in doc if k != "deals"]
        if extra:
            d = Diagnostic(file, f"unknown key '{extra[0]}' beside `deals:`", (extra[0],))
            d.at_key = True  # type: ignore[attr-defined]
            raise FlowctlError(d)
        items = doc["deals"]
        if not isinstance(items, list):
            raise FlowctlError(Diagnostic(file, "`deals:` must be a list of deals", ("deals",)))
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise FlowctlError(Diagnostic(file, "each entry of `deals:` must be a mapping (a deal)", ("deals", i)))
            out.append(DealDoc(file, item, i))
        return out
    if isinstance(doc, dict):
        return [DealDoc(file, doc)]
    if doc is None:
        raise FlowctlError(Diagnostic(file, "empty file: expected a deal (id, name, amount, …) or `deals:`"))
    raise FlowctlError(Diagnostic(file, "a deal file must be a mapping (id, name, amount, …) or `deals:` with a list"))


def read_deals(file: str) -> tuple[str, list[DealDoc]]:
    """(text, deals) of one deal file; FlowctlError if it cannot be read or parsed."""
    text = read_text(file)
    notes: list[Diagnostic] = []
    doc = parse(text, file, notes)
    return text, split_deals(doc, file, notes, text)


def check_deal(cw: CompiledWorkflow, doc: DealDoc) -> list[Diagnostic]:
    """Schema and workflow checks of one deal (positions not yet filled in), each
    problem a warning or an error as severity.TABLE says."""
    deal = doc.deal
    validator = cw.deal_validator
    out: list[Diagnostic] = list(doc.notes)
    wf = cw.workflow
    if not validator.is_valid(deal):
        out += [classify_schema(d, doc.prefix, wf.fields) for d in validator.diagnostics(deal, doc.file, doc.prefix)]
        # The workflow checks below still run, on whatever has the right shape.

    def problem(kind: str, path: tuple, message: str, at_key: bool = False) -> None:
        out.append(severity_problem(doc.file, kind, message, doc.prefix + path, at_key))

    def mapping(key: str) -> dict:
        value = deal.get(key)
        return value if isinstance(value, dict) else {}

    def entries(key: str) -> list[tuple[int, dict]]:
        value = deal.get(key)
        return [(i, e) for i, e in enumerate(value) if isinstance(e, dict)] if isinstance(value, list) else []

    for path, value in _dates(deal, mapping, entries):
        if value.__class__ is str:
            why = _date_problem(value)
            if why is not None:
                problem("bad_date" if len(path) == 1 else "bad_entry", path, why)
    unknown = 0
    for job_id in mapping("jobs"):
        if job_id not in wf.job_by_id:
            unknown += 1  # suggestions cost a fuzzy match each: a file of 20,000 unknown keys gets the first few
            hint = did_you_mean(str(job_id), wf.job_by_id) if unknown <= MAX_SUGGESTIONS else ""
            problem("unknown_job", ("jobs", job_id), f"unknown job '{job_id}', ignored{hint}", True)
    for gate_id, approval in mapping("approvals").items():
        if not isinstance(approval, dict):
            continue
        gate = wf.gate_by_id.get(gate_id)
        if gate is None:
            problem("unknown_gate", ("approvals", gate_id),
                    f"unknown gate '{gate_id}': its approval is ignored{did_you_mean(str(gate_id), wf.gate_by_id)}", True)
        elif gate.approval is None:
            problem("approval_not_asked", ("approvals", gate_id), f"gate '{gate_id}' takes no approval (it has no `approval:` role)", True)
        elif isinstance(approval.get("role"), str) and approval["role"] != gate.approval:
            problem("wrong_role", ("approvals", gate_id, "role"),
                    f"gate '{gate_id}' needs an approval by role '{gate.approval}', not '{approval['role']}': "
                    "the gate does not hold")
    for i, entry in entries("history"):
        if isinstance(entry.get("stage"), str) and entry.get("stage") not in wf.stage_by_id:
            problem("unknown_stage", ("history", i, "stage"),
                    f"unknown stage '{entry.get('stage')}', ignored{did_you_mean(str(entry.get('stage')), wf.stage_by_id)}")
    claimed = deal.get("stage")
    if isinstance(claimed, str) and claimed not in wf.stage_by_id:
        problem("unknown_stage", ("stage",), f"unknown stage '{claimed}' in the `stage:` claim, not checked{did_you_mean(str(claimed), wf.stage_by_id)}")
    if deal.get("outcome") == "lost" and not deal.get("closed_at"):
        problem("lost_without_date", ("outcome",), "a lost deal should say when: add closed_at (the date is taken from its latest dated fact meanwhile)")
    return out


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# Due dates, windows and forecasts add up to a few hundred years to a deal's dates
# (durations have at most 5 digits of days): far from the calendar's ends, none overflows.
FIRST_YEAR, LAST_YEAR = 1000, 8999
MAX_SUGGESTIONS = 50  # "did you mean" hints per deal


@functools.lru_cache(maxsize=4096)  # a pipeline's deals share a few hundred distinct days
def _date_problem(value: str) -> str | None:
    """Why a date-shaped text is no date flowctl computes with (None: it is one, or it has
    another shape, which is the schema's to judge)."""
    if not _real_date(value):
        return f"{value!r} is not a date on the calendar"
    if _DATE.match(value) and not FIRST_YEAR <= int(value[:4]) <= LAST_YEAR:
        return f"{value[:10]} is outside the years {FIRST_YEAR}-{LAST_YEAR} that flowctl computes with"
    return None


def _real_date(value: str) -> bool:
    """Not a date-shaped text of a day that does not exist (30 February, 25 o'clock);
    text of another shape is the schema's to judge."""
    if not _DATE.match(value):
        return True
    try:
        if len(value) > 10:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        else:
            dt.date.fromisoformat(value)
        return True
    except ValueError:
        return False


def _dates(deal: dict, mapping: Callable[[str], dict], entries: Callable[[str], list[tuple[int, dict]]]
           ) -> Iterator[tuple[tuple, Any]]:
    """(path, value) of every date a deal file holds."""
    for key in ("created", "expected_close", "closed_at"):
        yield (key,), deal.get(key)
    for job, value in mapping("jobs").items():
        yield (("jobs", job, "at"), value.get("at")) if isinstance(value, dict) else (("jobs", job), value)
    for gate, value in mapping("approvals").items():
        if isinstance(value, dict):
            yield ("approvals", gate, "at"), value.get("at")
    for key in ("activities", "history"):
        for i, entry in entries(key):
            yield (key, i, "at"), entry.get("at")
    for i, entry in entries("history"):
        yield ("history", i, "expected_close"), entry.get("expected_close")
    for i, order in entries("orders"):
        for key in ("placed", "completed"):
            yield ("orders", i, key), order.get(key)
