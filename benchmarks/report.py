"""Benchmark of `flowctl report`: N synthetic deals (benchmarks/synthetic.py, one YAML
file each), then the HTML and the Markdown report, timed as a user runs them.

    python3 benchmarks/report.py [N] [--dir DIR] [--baseline]

N defaults to 100000. --dir keeps the deals in DIR (and reuses them when DIR already
has N deal files); without it a temporary folder is used. --baseline also times
`flowctl metrics`, which reads and evaluates the same deals: the difference is what the
report itself costs (forecasts, layout, rendering). Prints the time of each step, the
peak memory of the report process and the size of each file: the report's size stays
bounded (aggregates and top-N lists), whatever N is.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import WORKFLOW, write_deals  # noqa: E402

NOW = "2026-11-23"  # the synthetic deals' "today"


def count_files(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.yaml")) if folder.is_dir() else 0


def timed(label: str, args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"{label} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    print(f"{label:44} {elapsed:8.2f} s")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--dir", default=None, help="keep (and reuse) the deals here")
    parser.add_argument("--baseline", action="store_true", help="also time `flowctl metrics` on the same deals")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flowctl-report-bench-") as tmp:
        root = Path(opts.dir) if opts.dir else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        (root / "workflow.yaml").write_text(WORKFLOW)
        deals = root / "deals"
        if count_files(deals) == opts.n:
            print(f"reusing {opts.n} deal files in {deals}")
        else:
            start = time.perf_counter()
            write_deals(deals, opts.n)
            print(f"{'generate ' + str(opts.n) + ' deal files':44} {time.perf_counter() - start:8.2f} s")
        flowctl = [sys.executable, "-m", "flowctl"]
        if opts.baseline:
            timed("flowctl metrics (read + evaluate + aggregate)", [*flowctl, "metrics", "--now", NOW, "--format", "json"],
                  root)
        out = Path(tmp)
        html, md = out / "x.html", out / "x.md"
        timed("flowctl report -o x.html", [*flowctl, "report", "-o", str(html), "--now", NOW], root)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        timed("flowctl report -o x.md", [*flowctl, "report", "-o", str(md), "--now", NOW], root)
        print(f"{'peak memory of a report process':44} {peak:8.0f} MB")
        for path in (html, md):
            print(f"{'size of ' + path.name:44} {os.path.getsize(path) / 1024:8.1f} KB")


if __name__ == "__main__":
    main()
