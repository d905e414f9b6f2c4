"""What installed plugins cost `flowctl run`.

    python benchmarks/plugins_overhead.py [N] [--rounds R]

Generates N deal files (default 20000) for an overlay of builtin:six-stage, then times
`flowctl run` in a subprocess, cold (a fresh store every time), without and with ten
no-op plugins installed: ten tiny modules, each implementing every hook of
flowctl/hookspecs.py as a no-op, registered through entry points (a temporary folder of
`*.dist-info` put on PYTHONPATH, exactly how pip-installed plugins are found). Rounds
alternate which variant goes first, so drift (disk cache, CPU frequency) hits both.
Prints every time, the medians and their ratio; the goal is a ratio under 1.1.
"""
from __future__ import annotations

import argparse
import ast
import datetime as dt
import inspect
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 1.1
NOW = "2026-06-01"
PLUGINS = 10
WORKFLOW = """\
flowctl: 1
name: plugins-overhead
extends: builtin:six-stage
currency: EUR
fields:
  region: {type: string}
stages:
  # Measure the engine and the plugins, not the disk: no proposals are rendered.
  - id: proposed
    jobs:
      - {id: render-proposal, remove: true}
"""
JOBS = [
    ["verify-prospect", "meet-producers"],
    ["draw-up-agendas", "decide-product-creation", "schedule-follow-ups"],
    ["uncover-issues", "analyse-purchase-issues", "prioritise-and-price", "secure-funding", "identify-allies-enemies"],
    ["develop-plan", "customer-visits", "evaluate-resources"],
    ["final-proposal", "prospect-approves-contracts", "agree-changes", "send-to-legal"],
]


def write_deals(folder: Path, n: int) -> None:
    rng = random.Random(20260601)
    today = dt.date.fromisoformat(NOW)
    folder.mkdir(parents=True)
    for i in range(n):
        created = today - dt.timedelta(days=rng.randint(5, 300))
        lines = [f"id: OVH-{i:07d}", f"name: Deal {i}", f"owner: rep{rng.randint(0, 24)}@example.com",
                 f"amount: {rng.randint(1, 500) * 1000}", "currency: EUR", f"created: {created.isoformat()}",
                 f"region: {rng.choice(['emea', 'amer', 'apac'])}"]
        done, day = [], created
        for stage in JOBS[:rng.randint(0, 4)]:
            for job in stage:
                day += dt.timedelta(days=rng.randint(0, 3))
                done.append(f"  {job}: {day.isoformat()}")
        if done:
            lines += ["jobs:", *done]
        lines.append(f"activities: [{{at: {(created + dt.timedelta(days=3)).isoformat()}, kind: call}}]")
        (folder / f"OVH-{i:07d}.yaml").write_text("\n".join(lines) + "\n")


def hook_signatures() -> list[tuple[str, list[str], bool]]:
    """(name, argument names, firstresult) of every hook in flowctl's hookspecs."""
    import flowctl.hookspecs

    tree = ast.parse(inspect.getsource(flowctl.hookspecs))
    return [(node.name, [a.arg for a in node.args.args], "firstresult" in ast.unparse(node.decorator_list[0]))
            for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("flowctl_")]


def write_noop_plugins(site: Path, count: int) -> list[str]:
    """`count` installed plugins implementing every hook as a no-op; returns their names."""
    site.mkdir(parents=True)
    body = ["from flowctl.hookspecs import hookimpl", ""]
    for name, args, _ in hook_signatures():
        empty = "{}" if name == "flowctl_report_formats" else "None" if name in ("flowctl_open_store", "flowctl_run_finished") else "[]"
        body += ["", "@hookimpl", f"def {name}({', '.join(args)}):", f"    return {empty}", ""]
    names = []
    for i in range(count):
        module, name = f"flowctl_noop_{i}", f"noop{i}"
        (site / f"{module}.py").write_text("\n".join(body))
        info = site / f"flowctl_noop_{i}-1.0.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: flowctl-noop-{i}\nVersion: 1.0.0\n")
        (info / "entry_points.txt").write_text(f"[flowctl]\n{name} = {module}\n")
        names.append(name)
    return names


def environment(site: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWCTL_")}
    paths = [p for p in (str(site) if site else "", os.environ.get("PYTHONPATH", "")) if p]
    env.pop("PYTHONPATH", None)
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def timed_run(root: Path, env: dict[str, str]) -> float:
    store = root / "state.db"
    for leftover in (store, root / "state.db-wal", root / "state.db-shm"):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(root / ".flowctl", ignore_errors=True)
    command = [sys.executable, "-m", "flowctl", "run", str(root / "deals"), "-w", str(root / "workflow.yaml"),
               "--store", f"sqlite:///{store}", "--now", NOW]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"flowctl run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def check_plugins_load(site: Path, names: list[str]) -> None:
    import json

    listed = subprocess.run([sys.executable, "-m", "flowctl", "plugins", "--format", "json"], env=environment(site),
                            capture_output=True, text=True, check=True)
    plugins = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    hooks = sorted(name for name, _, _ in hook_signatures())
    missing = [n for n in names if n not in plugins or plugins[n]["hooks"] != hooks]
    if missing or "warning" in listed.stderr:
        raise SystemExit(f"the no-op plugins did not load as expected: {missing}\n{listed.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=20000, help="number of deal files (default 20000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (without, with) runs (default 3)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flowctl-plugins-overhead-") as tmp:
        root = Path(tmp)
        (root / "workflow.yaml").write_text(WORKFLOW)
        t0 = time.perf_counter()
        write_deals(root / "deals", options.n)
        site = root / "site"
        names = write_noop_plugins(site, PLUGINS)
        check_plugins_load(site, names)
        print(f"{options.n} deal files written in {time.perf_counter() - t0:.1f}s; "
              f"{PLUGINS} no-op plugins implementing all {len(hook_signatures())} hooks", flush=True)
        variants = {"without plugins": environment(None), f"with {PLUGINS} no-op plugins": environment(site)}
        times: dict[str, list[float]] = {v: [] for v in variants}
        timed_run(root, variants["without plugins"])  # warm the disk cache and .pyc files once
        for r in range(options.rounds):
            order = list(variants) if r % 2 == 0 else list(reversed(variants))
            for variant in order:
                times[variant].append(timed_run(root, variants[variant]))
            print(f"round {r + 1}: " + ", ".join(f"{v} {times[v][-1]:.2f}s" for v in variants), flush=True)
        base, plugged = (statistics.median(times[v]) for v in variants)
        ratio = plugged / base
        print(f"median without plugins: {base:.2f}s")
        print(f"median with {PLUGINS} no-op plugins: {plugged:.2f}s")
        print(f"ratio: {ratio:.3f} (goal < {GOAL}: {'met' if ratio < GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
