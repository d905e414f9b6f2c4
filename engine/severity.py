"""One table decides, for every kind of problem in a deal file, whether it is a warning
or an error (SPEC section 2, "People's records are read as they are"), and what
evaluation does about a warning. `validate`, `run`, `status`, `explain` and every other
command read deals through `deals.check_deal`, which classifies with this table, and
evaluate what `for_evaluation` makes of the deal: the two can never disagree.

A warning leaves the deal evaluated and counted: the value is kept as data (KEEP),
ignored (IGNORE: evaluation reads the deal without it) or masked (MASK: a declared field
of the wrong type, which makes every gate, `done_when` or metric filter reading it fail
for that deal, naming the field). An error means the deal cannot be placed or counted:
that deal alone is reported as "could not be evaluated".
"""
from __future__ import annotations

from typing import Any, Container, Iterable

from .diagnostics import Diagnostic
from .expressions import WrongType

WARNING, ERROR = "warning", "error"
KEEP, IGNORE, MASK = "keep", "ignore", "mask"

# kind -> (severity, what evaluation does with the value)
TABLE: dict[str, tuple[str, str | None]] = {
    "unknown_key": (WARNING, KEEP),          # a key neither schema declares: kept as data
    "unknown_job": (WARNING, KEEP),          # a job the workflow does not have (removed, misspelt): ignored by evaluation
    "unknown_gate": (WARNING, KEEP),         # an approval for a gate the workflow does not have: ignored
    "approval_not_asked": (WARNING, KEEP),   # an approval for a gate that asks for none
    "wrong_role": (WARNING, KEEP),           # the gate does not hold; its message says whose approval is there
    "wrong_field_type": (WARNING, MASK),     # a declared field of the wrong type
    "bad_value": (WARNING, IGNORE),          # a known key whose value has the wrong shape (tags: 3, probability: 2)
    "bad_entry": (WARNING, IGNORE),          # an entry of jobs/approvals/activities/history/orders that cannot be read
    "unknown_stage": (WARNING, KEEP),        # history or a `stage:` claim naming a stage the workflow does not have
    "lost_without_date": (WARNING, KEEP),
    "no_id": (ERROR, None),
    "bad_id": (ERROR, None),
    "duplicate_id": (ERROR, None),
    "bad_outcome": (ERROR, None),
    "bad_amount": (ERROR, None),
    "bad_date": (ERROR, None),               # created, expected_close or closed_at that is not a date
    "unreadable": (ERROR, None),
}

CORE_DATES = ("created", "expected_close", "closed_at")
ENTRY_LISTS = ("jobs", "approvals", "activities", "history", "orders")
_CORE = {"id": "bad_id", "outcome": "bad_outcome", "amount": "bad_amount",
         **{key: "bad_date" for key in CORE_DATES}}


def severity(kind: str) -> str:
    return TABLE[kind][0]


def problem(file: str, kind: str, message: str, path: tuple = (), at_key: bool = False) -> Diagnostic:
    """A diagnostic of a kind in the table, with the severity the table gives it."""
    d = Diagnostic(file, message, path, severity(kind), kind=kind)
    d.at_key = at_key  # type: ignore[attr-defined]
    return d


def classify_schema(d: Diagnostic, prefix: tuple, fields: Container[Any]) -> Diagnostic:
    """Kind and severity of a deal schema problem, from where in the deal it is."""
    path = d.path[len(prefix):]
    at_key = getattr(d, "at_key", False)
    top = path[0] if path else None
    if top is None:
        kind = "no_id" if "'id'" in d.message else "bad_value"
    elif at_key and d.message.startswith("unknown key"):
        kind = "unknown_key"
    elif top in _CORE and len(path) == 1:
        kind = _CORE[top]
    elif top in fields:
        kind = "wrong_field_type"
    elif top in ENTRY_LISTS and len(path) >= 2:
        kind = "bad_entry"
    else:
        kind = "bad_value"
    d.kind, d.severity = kind, severity(kind)
    if kind == "unknown_key":
        d.message += " (kept as data)"
    elif kind == "wrong_field_type":
        d.message = f"field '{top}' is not as the workflow declares it: {d.message} (gates and metrics reading it fail for this deal)"
    elif kind in ("bad_value", "bad_entry"):
        d.message += " (ignored)"
    return d


def repair_path(d: Diagnostic, prefix: tuple) -> tuple:
    """The part of the deal a warning's repair acts on: the key, or the list/mapping entry."""
    path = d.path[len(prefix):]
    if d.kind == "bad_entry":
        return tuple(path[:2])
    return tuple(path[:1])


def for_evaluation(deal: dict, found: list[Diagnostic], prefix: tuple = ()) -> dict:
    """The deal as evaluation reads it: unchanged when nothing is to be ignored or masked
    (the happy path), else a copy without the values it cannot read."""
    todo = [(TABLE[d.kind][1], repair_path(d, prefix), d) for d in found
            if d.kind in TABLE and TABLE[d.kind][1] in (IGNORE, MASK)]
    if not todo:
        return deal
    out = dict(deal)
    drop: dict[str, set] = {}
    for action, path, d in todo:
        if not path or path[0] not in out:
            continue
        if action == MASK:
            out[path[0]] = WrongType(str(path[0]), out[path[0]], d.message.split(" (gates and metrics")[0])
        elif len(path) == 1:
            out.pop(path[0], None)
        else:
            drop.setdefault(path[0], set()).add(path[1])
    for key, items in drop.items():
        value = out.get(key)
        if isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if k not in items}
        elif isinstance(value, list):
            out[key] = [v for i, v in enumerate(value) if i not in items]
    return out


def warnings_of(found: Iterable[Diagnostic]) -> list[str]:
    return [d.format() for d in found if d.severity == WARNING]


def errors_of(found: Iterable[Diagnostic]) -> list[Any]:
    return [d for d in found if d.severity == ERROR]
