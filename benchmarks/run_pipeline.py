"""Benchmark `flowctl run` on N synthetic deals (default 20,000).

Prints, all measured in this one run (the machines are shared: trust the ratios):
  - bare CSafeLoader parse of the same files (the floor)
  - cold run (empty store): deals/second and the ratio to the bare parse
  - an immediate re-run with nothing changed
  - a re-run with 1% of the files changed
  - a re-run the next day (only files whose deadlines passed are read)
  - peak memory (max RSS) of each run

Usage: python benchmarks/run_pipeline.py [N]
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import WORKFLOW, write_deals  # noqa: E402

PARSE = """
import sys, time, yaml, os
t = time.perf_counter()
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        with open(os.path.join(root, f)) as fh:
            yaml.load(fh.read(), Loader=yaml.CSafeLoader)
print(time.perf_counter() - t)
"""


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB of the command and its children, stdout), measured by
    GNU time's wrapper-free way: a helper process that waits for the command alone."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PEAK, *cmd], capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    out, _, peak = proc.stdout.rpartition("PEAK_KB=")
    return elapsed, int(peak) / 1024, out


# Runs the command in a fresh process and reports the largest RSS of it and its children.
_PEAK = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print("PEAK_KB=%d" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, end="")
sys.exit(code)
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "workflow.yaml").write_text(WORKFLOW)
        deals = root / "deals"
        paths = write_deals(deals, n)
        flowctl = [sys.executable, "-m", "flowctl"]
        base = [*flowctl, "run", str(deals), "-w", str(root / "workflow.yaml"), "--now", "2026-11-23"]
        parse_s = float(subprocess.run([sys.executable, "-c", PARSE, str(deals)], capture_output=True, text=True).stdout)
        cold_s, cold_mb, _ = timed(base)
        parse_again = float(subprocess.run([sys.executable, "-c", PARSE, str(deals)], capture_output=True, text=True).stdout)
        floor = min(parse_s, parse_again)
        rerun_s, rerun_mb, _ = timed(base)
        for p in paths[:: 100]:
            p.write_text(p.read_text() + "notes: touched\n")
        changed_s, _, _ = timed(base)
        next_day_s, _, _ = timed([*base[:-1], "2026-11-24"])
        for p in paths[:: 100]:
            p.write_text(p.read_text().replace("notes: touched\n", ""))
        import shutil
        shutil.rmtree(root / ".flowctl")
        jobs2_s, jobs2_mb, _ = timed([*base, "--jobs", "2"])
        print(f"deals                      {n}")
        print(f"bare CSafeLoader parse     {floor:8.2f} s  ({n / floor:,.0f} deals/s)")
        print(f"cold run                   {cold_s:8.2f} s  ({n / cold_s:,.0f} deals/s)  {cold_s / floor:.2f}x the parse  peak {cold_mb:.0f} MB")
        print(f"re-run, nothing changed    {rerun_s:8.2f} s  peak {rerun_mb:.0f} MB")
        print(f"re-run, 1% changed         {changed_s:8.2f} s")
        print(f"re-run the next day        {next_day_s:8.2f} s")
        print(f"cold run, --jobs 2         {jobs2_s:8.2f} s  ({n / jobs2_s:,.0f} deals/s)  {jobs2_s / floor:.2f}x the parse  peak {jobs2_mb:.0f} MB (largest process)")
        print("(runs include interpreter start and imports; peak is the largest RSS among the run's processes)")


if __name__ == "__main__":
    main()
