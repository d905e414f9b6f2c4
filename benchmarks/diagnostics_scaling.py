"""How `flowctl validate` scales with the number of unknown keys in one deal (issue 12:
diagnostics must stay linear). Prints seconds for 2,500 / 5,000 / 10,000 / 20,000 unknown
job keys and the ratio of each to the previous (about 2 when linear, 4 when quadratic).

    python benchmarks/diagnostics_scaling.py
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKFLOW = "flowctl: 1\nname: bench\nextends: builtin:six-stage\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "workflow.yaml").write_text(WORKFLOW)
        previous = None
        for n in (2500, 5000, 10000, 20000):
            deal = root / f"big{n}.yaml"
            deal.write_text("id: BIG\ncreated: 2026-01-01\njobs:\n" + "".join(f"  unknown-{i}: 2026-01-02\n" for i in range(n)))
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "flowctl", "validate", "-w", str(root / "workflow.yaml"), str(deal)],
                           capture_output=True, check=False)
            seconds = time.perf_counter() - start
            ratio = f"  x{seconds / previous:.2f}" if previous else ""
            print(f"{n:>6} unknown keys: {seconds:6.2f} s{ratio}")
            previous = seconds


if __name__ == "__main__":
    main()
