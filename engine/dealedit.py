"""Record work in a deal file without disturbing anything else in it.

`flowctl done DEAL JOB` and `flowctl approve DEAL GATE --role R` add one key to a
deal's ``jobs:`` or ``approvals:`` mapping.  Deal files are the people's record, so the
edit is *surgical*: the new text is the old text with a few characters inserted (or,
for ``jobs: null`` / ``job: null``, one null token replaced).  Comments, key order,
quoting, blank lines, indentation, CRLF line endings, a missing final newline and a
UTF-8 BOM all survive byte for byte.

How it works:

* positions come from ``yaml.compose`` (libyaml's ``CSafeLoader`` when available; its
  marks count characters of the ``str`` input, like the pure-Python loader's, except
  for a leading BOM, which is set aside first), and the true end of a block collection
  from the parser's events inside it (block end marks lie past trailing comments, and
  composed aliases carry the anchor's marks); ``.json`` files use a small
  span-recording JSON scanner;
* the new key/value text is produced by the YAML emitter (``SafeDumper``) or
  ``json.dumps``, never by pasting raw user text;
* a safety net parses the old and the new text with the safe loader and checks that
  the new document is exactly the old one plus the added key, else nothing is written;
* files are written atomically (temporary file in the same directory, flush + fsync,
  ``os.replace``, permission bits kept), and only if the file did not change on disk
  since it was read.

This module is the API, the file handling and the safety net; the edits themselves are
flowctl.dealedit_yaml and flowctl.dealedit_json, their shared helpers flowctl.dealedit_text.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import yaml

from .atomic import write_atomic
from .dealedit_json import _edit_json, _json_value
from .dealedit_text import (AlreadyRecorded, _BOM, DealEditError, _LOADER, _matching_key, _MAX_KEY_CHARS,
                            _MISSING, _same)
from .dealedit_yaml import _edit_yaml

__all__ = [
    "DealEditError",
    "AlreadyRecorded",
    "record_job_done",
    "record_approval",
    "edit_text",
]


# ---------------------------------------------------------------------------------
# public API


def record_job_done(
    path: Path,
    deal_id: str,
    job_id: str,
    *,
    at: date,
    by: str | None = None,
    note: str | None = None,
) -> bool:
    """Record job ``job_id`` of deal ``deal_id`` as done in the deal file ``path``.

    Adds ``job_id: 2026-11-23`` under the deal's ``jobs:`` mapping when only ``at`` is
    given, else ``job_id: {at: 2026-11-23, by: alice, note: ...}`` (JSON files get the
    equivalent member).  A job listed with a null or ``false`` value gets that value
    replaced.  Returns ``False`` and changes nothing when the job is already recorded;
    ``True`` when the file was written.  Raises :class:`DealEditError` for anything the
    user must fix (unknown deal, unparsable file, ``jobs`` not a mapping, ...).
    """
    _check_date(at, "at")
    value: Any
    if by is None and note is None:
        value = at
    else:
        value = {"at": at}
        if by is not None:
            value["by"] = _check_str(by, "by")
        if note is not None:
            if not isinstance(note, str):
                raise DealEditError(f"note must be a string, got {note!r}")
            value["note"] = note
    try:
        _record(Path(path), deal_id, "jobs", job_id, value)
    except AlreadyRecorded:
        return False
    return True


def record_approval(
    path: Path, deal_id: str, gate_id: str, *, role: str, by: str, at: date
) -> bool:
    """Record an approval of gate ``gate_id`` by ``by`` acting as ``role``.

    Adds ``gate_id: {by: ..., role: ..., at: ...}`` under the deal's ``approvals:``.
    Returns ``False`` and changes nothing when an approval of that gate by that role is
    already there; ``True`` when the file was written.  An approval of the same gate by
    another role cannot be stored next to it (one key per gate) and is a
    :class:`DealEditError`.
    """
    _check_date(at, "at")
    value = {"by": _check_str(by, "by"), "role": _check_str(role, "role"), "at": at}
    path = Path(path)
    try:
        _record(path, deal_id, "approvals", gate_id, value)
    except AlreadyRecorded as exc:
        existing = exc.existing
        entries = existing if isinstance(existing, list) else [existing]
        for entry in entries:
            if isinstance(entry, dict) and str(entry.get("role")) == role:
                return False
        raise DealEditError(
            f"{exc}; it is not an approval by role {role!r}, and a gate holds a single "
            "approval: edit the file by hand"
        ) from None
    return True


def edit_text(
    text: str,
    deal_id: str,
    section: str,
    key: str,
    value: object,
    *,
    json_format: bool = False,
    source: str = "<string>",
) -> str:
    """Return ``text`` with ``key: value`` added to the ``section`` mapping of deal ``deal_id``.

    Pure function (no I/O).  ``value`` is a date, a string, a number, a bool or a flat
    mapping of those (rendered as a YAML flow mapping / JSON object).  The section is
    created at the end of the deal when it is absent, filled when it is empty or null.
    ``source`` names the file in error messages.

    The result is verified: parsed, it must equal the parsed ``text`` plus exactly the
    added key, or :class:`DealEditError` is raised.  :class:`AlreadyRecorded` (a
    :class:`DealEditError`) is raised when the key is already there with a value other
    than null/false.
    """
    if not isinstance(text, str):
        raise TypeError("text must be str")
    for name, val in (("deal id", deal_id), ("section", section), ("key", key)):
        if not isinstance(val, str) or not val:
            raise DealEditError(f"{name} must be a non-empty string, got {val!r}")
    if len(key) > _MAX_KEY_CHARS:
        raise DealEditError(f"{key[:40]!r}...: a key longer than {_MAX_KEY_CHARS} characters cannot be written")
    new_text, loc = _compute_edit(text, deal_id, section, key, value, json_format, source)
    _verify(text, new_text, loc, section, key, value, json_format, source)
    return new_text


# ---------------------------------------------------------------------------------
# argument checks


def _check_date(value: Any, name: str) -> date:
    if not isinstance(value, date):
        raise DealEditError(f"{name} must be a date, got {value!r}")
    return value


def _check_str(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise DealEditError(f"{name} must be a non-empty string, got {value!r}")
    return value


# ---------------------------------------------------------------------------------
# file handling


def _record(path: Path, deal_id: str, section: str, key: str, value: Any) -> None:
    """Read ``path``, edit it, write it back atomically.  Raises on any problem.

    Two edits of one file at once take turns: each holds an advisory lock (``flock``) on
    the file from its read to its rename, so the second reads what the first wrote."""
    _check_str(deal_id, "deal id")
    _check_str(key, "job id" if section == "jobs" else "gate id")
    shown = str(path)
    real = os.path.realpath(path)  # edit the target of a symlink, keep the link
    with _locked(real, shown) as fh:
        before = os.fstat(fh.fileno())
        try:
            data = fh.read()
        except OSError as exc:
            raise DealEditError(f"{shown}: cannot read: {exc.strerror or exc}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DealEditError(f"{shown}: not UTF-8 text (byte {exc.start})") from None
        json_format = path.suffix.lower() == ".json"
        new_text = edit_text(text, deal_id, section, key, value, json_format=json_format, source=shown)
        try:
            new_data = new_text.encode("utf-8")
        except UnicodeEncodeError:
            raise DealEditError(f"{shown}: the new value cannot be encoded as UTF-8") from None
        _atomic_write(real, new_data, before, shown)


@contextlib.contextmanager
def _locked(real: str, shown: str) -> Iterator[BinaryIO]:
    """The file, open for reading and locked. A writer that held the lock before us
    renamed a new file into place: then the lock we got is on the old one, so retry."""
    while True:
        try:
            fh = open(real, "rb")
        except FileNotFoundError:
            raise DealEditError(f"{shown}: no such file") from None
        except OSError as exc:
            raise DealEditError(f"{shown}: cannot read: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            held, now = os.fstat(fh.fileno()), os.stat(real)
        except OSError:
            fh.close()
            raise
        if (held.st_ino, held.st_dev) == (now.st_ino, now.st_dev):
            break
        fh.close()
    try:
        yield fh
    finally:
        fh.close()  # releases the lock, after the rename


def _same_file_state(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_ino, a.st_dev, a.st_size, a.st_mtime_ns) == (b.st_ino, b.st_dev, b.st_size, b.st_mtime_ns)


def _atomic_write(real: str, data: bytes, before: os.stat_result, shown: str) -> None:
    def unchanged() -> None:
        try:
            now = os.stat(real)
        except OSError:
            now = None
        if now is None or not _same_file_state(before, now):
            raise DealEditError(f"{shown}: the file changed while it was being edited; nothing written, try again")

    try:
        write_atomic(real, data, mode=before.st_mode, owner=(before.st_uid, before.st_gid), before_rename=unchanged)
    except OSError as exc:
        raise DealEditError(f"{shown}: cannot write: {exc.strerror or exc}") from None



# ---------------------------------------------------------------------------------
# the edit and its safety net


def _compute_edit(
    text: str, deal_id: str, section: str, key: str, value: Any, json_format: bool, source: str
) -> tuple[str, tuple]:
    """The new text and the location of the deal in the parsed document."""
    bom = _BOM if text.startswith(_BOM) else ""
    body = text[len(bom):]
    if json_format:
        new_body, loc = _edit_json(body, deal_id, section, key, value, source)
    else:
        new_body, loc = _edit_yaml(body, deal_id, section, key, value, source)
    return bom + new_body, loc


def _load(text: str, json_format: bool) -> Any:
    if json_format:
        return json.loads(text[1:] if text.startswith(_BOM) else text)
    return yaml.load(text, Loader=_LOADER)


def _tree_copy(obj: Any) -> Any:
    """A deep copy that does NOT keep sharing (anchors/aliases): editing one place of
    the copy must not silently edit another, or the safety net would miss it."""
    if isinstance(obj, dict):
        return {k: _tree_copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_tree_copy(v) for v in obj]
    return copy.copy(obj)


def _verify(
    old: str, new: str, loc: tuple, section: str, key: str, value: Any, json_format: bool, source: str
) -> None:
    """Raise unless ``new`` parses to ``old`` plus exactly ``section[key] = value`` in the deal."""
    refuse = f"{source}: internal check failed, nothing written"
    try:
        before = _load(old, json_format)
        after = _load(new, json_format)
    except (yaml.YAMLError, ValueError) as exc:
        raise DealEditError(f"{refuse} (the edited text does not parse: {exc})") from None
    try:
        expected = _tree_copy(before)
        deal = expected
        for step in loc:
            deal = deal[step]
        sec = deal.get(section)
        if sec is None:
            sec = deal[section] = {}
        target = _matching_key(sec, key)
        if target is _MISSING:
            target = key
        sec[target] = _json_value(value) if json_format else value
        ok = _same(expected, after)
    except (KeyError, IndexError, TypeError, AttributeError, RecursionError):
        ok = False
    if not ok:
        raise DealEditError(f"{refuse} (the edit would change more than {section}.{key})")

