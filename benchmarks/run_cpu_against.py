"""The CPU time of a cold `flowctl run` of this checkout against another checkout's (for
example the commit before a change, checked out with `git worktree add`), on the same N
synthetic deals, runs alternating: CPU time (user + system of the process) moves less than
wall-clock time on a shared machine, and the minimum of several rounds is the figure.

Usage: python benchmarks/run_cpu_against.py OTHER_CHECKOUT [N] [ROUNDS]
Prints each checkout's minimum and the ratio this / other.
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import WORKFLOW, write_deals  # noqa: E402

HERE = Path(__file__).resolve().parents[1]


def cold_run_cpu(site: Path, root: Path) -> float:
    """CPU seconds of one `flowctl run` with an empty store, importing flowctl from `site`."""
    shutil.rmtree(root / ".flowctl", ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "flowctl", "run", str(root / "deals"), "-w", str(root / "workflow.yaml"),
                    "--now", "2026-11-23"], env=env, capture_output=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def site_of(checkout: Path, site: Path) -> Path:
    """A folder where `import flowctl` finds the checkout's package (it installs as flowctl
    from engine/, with plugins, workflows and templates inside it, as setup.cfg maps them)."""
    package = site / "flowctl"
    shutil.copytree(checkout / "engine", package)
    for name in ("plugins", "workflows", "templates"):
        shutil.copytree(checkout / name, package / name)
    return site


def main() -> None:
    other = Path(sys.argv[1]).resolve()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "workflow.yaml").write_text(WORKFLOW)
        write_deals(root / "deals", n)
        sites = {"this": site_of(HERE, root / "this"), "other": site_of(other, root / "other")}
        times: dict[str, list[float]] = {"this": [], "other": []}
        for _ in range(rounds):
            for name in ("other", "this"):
                times[name].append(cold_run_cpu(sites[name], root))
    this, that = min(times["this"]), min(times["other"])
    print(f"deals {n}, rounds {rounds}: this {this:.2f} s CPU, other ({other}) {that:.2f} s CPU; "
          f"this / other = {this / that:.3f}")


if __name__ == "__main__":
    main()
