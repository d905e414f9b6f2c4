"""File names made from deal ids (artifacts): readable, distinct and inside their folder.

A name keeps the id when the id is already a safe file name ([A-Za-z0-9._-], no leading
dot). Otherwise unsafe characters become `_` and a `~` plus a digest of the exact id is
added: `A/B` -> `A_B~1c0b…`, `A:B` -> `A_B~9d41…`, `../../x` -> `x~…`. Since `~` never
survives as itself, a name with `~` can only come from a rewritten id, and two different
ids never share a name (up to a 48-bit digest collision).
"""
from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_READABLE = 100  # file names may have 255 bytes; leave room for the template part and suffixes


def safe_file_name(text: str) -> str:
    """A file name for `text` (see the module's doc)."""
    readable = _UNSAFE.sub("_", text).strip("._")
    if readable == text and 0 < len(text) <= MAX_READABLE:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{readable[:MAX_READABLE] or 'x'}~{digest}"
