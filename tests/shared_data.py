"""Where the shared, read-only data sets are: `../shared` beside the repository, as CI
and every checkout have it (or $FLOWCTL_MAVEN_DIR); and the Maven export imported once
for the whole test session (conftest's `maven_import` fixture)."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from filelock import FileLock

from flowctl.testing import invoke_cli

SHARED = Path(__file__).resolve().parents[2] / "shared"
MAVEN = Path(os.environ.get("FLOWCTL_MAVEN_DIR") or SHARED / "data" / "maven-crm-sales-opportunities")
MAVEN_EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "maven"
RAM = Path("/dev/shm")
RAM_NEEDED = 1 << 30  # the import and test_asof's twins take ~100 MB in 4 KB pages; containers often give 64 MB


def _free(folder: Path) -> int:
    stat = os.statvfs(folder)
    return stat.f_bavail * stat.f_frsize


def new_session_folder() -> Path:
    """A folder for one test session's big shared data: on tmpfs (/dev/shm) when the
    machine has one, where the Maven import's 8,800 fsyncs cost nothing (6 s instead of
    40 s on this machine's disk); else in the system's temporary folder."""
    ram = RAM if RAM.is_dir() and os.access(RAM, os.W_OK) and _free(RAM) >= RAM_NEEDED else None
    return Path(tempfile.mkdtemp(prefix="flowctl-tests-", dir=ram))


def import_maven_once(root: Path, worker: str) -> Path:
    """root/maven-import: examples/maven's workflow.yaml and map.yaml, and deals/ from
    `flowctl import` of the Maven CSV. The import costs seconds even in RAM, so the
    pytest-xdist workers share one folder: the first to come imports under the
    lock, the others wait for it and find it done. The folder appears whole or not at all
    (built under a worker's own name, renamed once the import passed)."""
    done = root / "maven-import"
    with FileLock(str(root / "maven-import.lock")):
        if done.is_dir():
            return done
        partial = root / f"maven-import.{worker}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        for name in ("workflow.yaml", "map.yaml"):
            shutil.copy(MAVEN_EXAMPLE / name, partial / name)
        result = invoke_cli("import", MAVEN / "sales_pipeline.csv", "--map", partial / "map.yaml",
                            "-w", partial / "workflow.yaml", "-o", partial / "deals")
        assert result.exit_code == 0, result.output
        assert "imported 8800 deal(s)" in result.stdout, result.stdout
        partial.rename(done)
    return done
