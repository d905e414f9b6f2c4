"""Team-scale benchmark: `flowctl run` at 100,000 (default) or 1,000,000 synthetic deals,
for SQLite and PostgreSQL, with --jobs 1 and --jobs 2. For each: cold run, re-run with
nothing changed, re-run with 1% changed, peak memory; every time as a ratio to the bare
CSafeLoader parse of the same files, measured in the same run.

Usage: python benchmarks/scale.py [--deals N] [--million] [--no-postgres | --only STORE]
PostgreSQL comes from $FLOWCTL_TEST_POSTGRES or scripts/ensure-postgres.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from run_pipeline import PARSE, timed  # noqa: E402
from synthetic import WORKFLOW, write_deals  # noqa: E402


def postgres_db() -> str | None:
    from pg_server import postgres_url
    url = postgres_url()
    if url is None:
        return None
    import psycopg
    name = f"flowctl_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deals", type=int, default=100_000)
    ap.add_argument("--million", action="store_true", help="1,000,000 deals")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--only", choices=("sqlite", "postgresql"), help="measure one store")
    args = ap.parse_args()
    n = 1_000_000 if args.million else args.deals
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "workflow.yaml").write_text(WORKFLOW)
        paths = write_deals(root / "deals", n)
        parse = min(float(subprocess.run([sys.executable, "-c", PARSE, str(root / "deals")], capture_output=True,
                                         text=True).stdout) for _ in range(2))
        print(f"{n:,} deals; bare CSafeLoader parse {parse:.1f} s ({n / parse:,.0f} deals/s)")
        print(f"{'store':11} {'jobs':>4} {'cold':>16} {'re-run':>16} {'1% changed':>16} {'peak MB':>8}")
        stores = [("sqlite", lambda: f"sqlite:///{root / ('s' + uuid.uuid4().hex[:6] + '.db')}")]
        if not args.no_postgres:
            stores.append(("postgresql", postgres_db))
        stores = [s for s in stores if args.only in (None, s[0])]
        for name, make_url in stores:
            for jobs in (1, 2):
                url = make_url()
                if url is None:
                    print(f"{name:11} (no server)")
                    break
                cmd = [sys.executable, "-m", "flowctl", "run", str(root / "deals"), "-w", str(root / "workflow.yaml"),
                       "--now", "2026-11-23", "--store", url, "--jobs", str(jobs)]
                cold, peak, _ = timed(cmd)
                rerun, peak2, _ = timed(cmd)
                for p in paths[:: 100]:
                    p.write_text(p.read_text() + "notes: touched\n")
                changed, peak3, _ = timed(cmd)
                for p in paths[:: 100]:
                    p.write_text(p.read_text().replace("notes: touched\n", ""))
                cell = lambda s: f"{s:6.1f}s {s / parse:5.2f}x"  # noqa: E731
                print(f"{name:11} {jobs:>4} {cell(cold):>16} {cell(rerun):>16} {cell(changed):>16} {max(peak, peak2, peak3):>8.0f}")
    print("ratios are to the bare parse; peak MB is the largest child RSS so far in this benchmark")


if __name__ == "__main__":
    main()
