"""One way to write a file flowctl makes: whole or not at all.

The text goes to a temporary file beside the target (`.<name>.<random>.tmp`), is flushed
and fsynced, and is renamed over the target; the folder is fsynced so the rename lasts.
Any failure (a missing folder, /proc, a full disk) removes the temporary file and raises
OSError: no partial file is ever left under the target's name. A process killed midway
leaves only a `.tmp` file, which `remove_stale_temps` (called before each write) removes
once it is older than STALE_SECONDS. A writer of many files into one folder (`import`)
writes with `batch=True`: it removes the stale files once for all its names and fsyncs
the folder once at the end (a scan per file would make its work quadratic in the
folder's size, a folder fsync per file made an 8,800-row import five times slower).
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from typing import Callable, Iterable

STALE_SECONDS = 600  # a write takes milliseconds: a temporary file this old was left by a killed process


def write_atomic(path: str | os.PathLike, data: bytes | str, *, mode: int | None = None,
                 owner: tuple[int, int] | None = None, before_rename: Callable[[], None] | None = None,
                 batch: bool = False) -> int:
    """Write `data` to `path` atomically; its size in bytes. `before_rename` runs after the
    data is durable and may raise to abandon the write (the target is then untouched).
    `batch=True`: one of many files written into one folder, whose writer calls
    `remove_stale_temps` for all their names before and `sync_folder` after."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    target = os.fspath(path)
    directory, name = os.path.split(target)
    directory = directory or "."
    if not batch:
        remove_stale_temps(directory, name)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            if mode is not None:
                os.fchmod(fh.fileno(), stat.S_IMODE(mode))
            else:  # mkstemp makes 0600: give the file the mode any new file of this user gets
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fh.fileno(), 0o666 & ~umask)
            if owner is not None:
                with contextlib.suppress(OSError):  # not allowed to give the file away: keep ours
                    os.fchown(fh.fileno(), *owner)
            os.fsync(fh.fileno())
        if before_rename is not None:
            before_rename()
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if not batch:
        sync_folder(directory)
    return len(raw)


def remove_stale_temps(directory: str, names: str | Iterable[str], now: float | None = None) -> list[str]:
    """Remove the temporary files of `names` (one file name, or several) that a killed
    writer left behind; the folder is scanned once."""
    removed: list[str] = []
    now = time.time() if now is None else now
    wanted = {names} if isinstance(names, str) else set(names)
    try:
        entries = [e for e in os.scandir(directory) if _temp_of(e.name) in wanted]
    except OSError:
        return removed
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS:
                os.unlink(entry.path)
                removed.append(entry.path)
    return removed


def _temp_of(entry: str) -> str | None:
    """The file name whose temporary file `entry` is (`.<name>.<random>.tmp`), else None;
    mkstemp's random part has no dot."""
    if not (entry.startswith(".") and entry.endswith(".tmp")):
        return None
    name, dot, _ = entry[1:-len(".tmp")].rpartition(".")
    return name if dot else None


def sync_folder(directory: str) -> None:
    """Make the renames into `directory` last (fsync the folder)."""
    with contextlib.suppress(OSError):  # best effort: not every file system lets a folder be opened
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
