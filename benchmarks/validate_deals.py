#!/usr/bin/env python3
"""How much flowctl's deal reading and checking costs over libyaml's bare parse.

    python3 benchmarks/validate_deals.py [N] [--rounds R] [--keep DIR]

Writes N synthetic deal files of about 1 KB each (default 20000: realistic fields, jobs
with dates, approvals, activities, history, orders and ten company fields) and a workflow
that extends builtin:six-stage with those fields, into a temporary folder. Then, in
interleaved rounds over the same (cached) files, it times

  (a) bare parse:  read the file, yaml.load(text, Loader=yaml.CSafeLoader)
  (b) flowctl:     flowctl.deals.read_deals(file) + flowctl.deals.check_deal(cw, doc)
                   with a CompiledWorkflow of that workflow (schema incl. its fields,
                   job, gate and history-stage ids)
  (c) flowctl parse only: read_deals(file), to show where (b)'s time goes

and prints deals per second for each (median over rounds) and the ratio (b)/(a).
The goal (PERFORMANCE.md): (b) at most 1.5x (a).
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from flowctl.compiled import CompiledWorkflow
from flowctl.deals import check_deal, read_deals
from flowctl.workflow import load_workflow

WORKFLOW = """\
# Benchmark workflow: builtin:six-stage plus ten company fields.
flowctl: 1
name: bench-sales
extends: builtin:six-stage
currency: EUR
fields:
  roi: {type: number, minimum: 0}
  region: {enum: [north, south, east, west, central]}
  segment: {enum: [smb, mid-market, enterprise]}
  seats: {type: integer, minimum: 1}
  discount: {type: number, minimum: 0, maximum: 1}
  renewal: {type: boolean}
  competitors: {type: array, items: {type: string}}
  nps: {type: [integer, "null"], minimum: 0, maximum: 10}
  contract_months: {type: integer, minimum: 1}
  bant:
    type: object
    additionalProperties: false
    properties: {budget: {type: boolean}, authority: {type: boolean},
                 need: {type: boolean}, timeline: {type: boolean}}
stages:
  - id: developed
    gates:
      - {id: roi-threshold, when: "deal.roi >= 1.2", message: ROI must be at least 1.2}
"""

# The six-stage jobs in order, with the stage each belongs to.
JOBS = [
    ("prospect", "verify-prospect"), ("prospect", "meet-producers"),
    ("qualified", "draw-up-agendas"), ("qualified", "decide-product-creation"), ("qualified", "schedule-follow-ups"),
    ("discovery", "uncover-issues"), ("discovery", "analyse-purchase-issues"), ("discovery", "prioritise-and-price"),
    ("discovery", "secure-funding"), ("discovery", "identify-allies-enemies"),
    ("developed", "develop-plan"), ("developed", "customer-visits"), ("developed", "evaluate-resources"),
    ("proposed", "final-proposal"), ("proposed", "prospect-approves-contracts"), ("proposed", "agree-changes"),
    ("proposed", "send-to-legal"),
]
STAGES = ["prospect", "qualified", "discovery", "developed", "proposed"]
OWNERS = ["alice@example.com", "bob@example.com", "carol@example.com", "dana@example.com", "erik@example.com"]
ACCOUNTS = ["Nordhafen Logistik GmbH", "Brenner Foods AG", "Ibérica Metal S.L.", "Sørlie Pharma AS",
            "Hofmann Getränke GmbH", "Valdés Electrodomésticos S.A.", "Kessler Autoteile KG", "Lindqvist Retail AB"]
PRODUCTS = ["palletising cell", "vision inspection line", "cobot welding cells", "AMR fleet", "sorter retrofit"]
KINDS = ["call", "email", "meeting", "visit"]
NOTES = ["pricing follow-up", "sent the draft agenda", "site visit with the plant manager",
         "they asked for a phased payment plan", "legal reviewing the warranty terms"]


def _date(rng: random.Random, year: int = 2026) -> str:
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def deal_text(i: int, rng: random.Random) -> str:
    """One deal file of about 1 KB, in the style people write them."""
    reached = rng.randint(0, len(JOBS))
    outcome = rng.choices(["open", "won", "lost"], [0.75, 0.15, 0.10])[0]
    if outcome == "won":
        reached = len(JOBS)
    lines = [
        f"id: BENCH-{i:06d}",
        f"name: {rng.choice(PRODUCTS).capitalize()} for {rng.choice(ACCOUNTS).split()[0]}",
        f"account: {rng.choice(ACCOUNTS)}",
        f"owner: {rng.choice(OWNERS)}",
        f"amount: {rng.randrange(5_000, 500_000, 500)}",
        "currency: EUR",
        f"created: {_date(rng)}",
        f"expected_close: {_date(rng, 2027)}",
    ]
    if outcome != "open":
        lines += [f"outcome: {outcome}", f"closed_at: {_date(rng)}"]
    if outcome == "lost":
        lines.append("lost_reason: Budget frozen after the reorganisation")
    if rng.random() < 0.3:
        lines.append(f"probability: {rng.choice([0.2, 0.35, 0.5, 0.8])}")
    lines.append("jobs:")
    for _, job in JOBS[:max(reached, 1)]:
        style = rng.random()
        if style < 0.6:
            lines.append(f"  {job}: {_date(rng)}")
        elif style < 0.75:
            lines.append(f"  {job}: true")
        else:
            lines.append(f"  {job}: {{at: {_date(rng)}, by: {rng.choice(OWNERS)}}}")
    if reached >= 13:
        lines += ["approvals:",
                  f"  price-approved: {{by: dana@example.com, role: management, at: {_date(rng)}}}",
                  f"  roi-approved: {{by: dana@example.com, role: management, at: {_date(rng)}}}"]
    lines.append("activities:")
    for _ in range(rng.randint(1, 3)):
        lines.append(f"  - {{at: {_date(rng)}, kind: {rng.choice(KINDS)}, note: {rng.choice(NOTES)}}}")
    if rng.random() < 0.25:
        lines.append("history:")
        for stage in STAGES[:rng.randint(1, len(STAGES))]:
            lines.append(f"  - {{stage: {stage}, at: {_date(rng)}}}")
    if outcome == "won":
        lines.append("orders:")
        for n in range(rng.randint(1, 3)):
            done = f"{_date(rng)}" if rng.random() < 0.5 else "null"
            lines.append(f"  - {{id: SO-{i}-{n}, amount: {rng.randrange(1000, 100000, 100)}, "
                         f"placed: {_date(rng)}, completed: {done}}}")
    lines += [
        f"roi: {round(rng.uniform(0.8, 2.5), 2)}",
        f"region: {rng.choice(['north', 'south', 'east', 'west', 'central'])}",
        f"segment: {rng.choice(['smb', 'mid-market', 'enterprise'])}",
        f"seats: {rng.randint(1, 500)}",
        f"discount: {round(rng.uniform(0, 0.3), 2)}",
        f"renewal: {rng.choice(['true', 'false'])}",
        f"competitors: [{', '.join(rng.sample(['Kuka', 'Fanuc', 'ABB', 'Yaskawa', 'local integrator'], 2))}]",
        f"nps: {rng.choice(['null', str(rng.randint(0, 10))])}",
        f"contract_months: {rng.choice([12, 24, 36])}",
        "bant: {budget: true, authority: %s, need: true, timeline: %s}" % (
            rng.choice(["true", "false"]), rng.choice(["true", "false"])),
    ]
    return "\n".join(lines) + "\n"


def generate(folder: Path, n: int, seed: int = 20261124) -> list[str]:
    (folder / "deals").mkdir(parents=True, exist_ok=True)
    (folder / "workflow.yaml").write_text(WORKFLOW, "utf-8")
    rng = random.Random(seed)
    files = []
    for i in range(n):
        path = folder / "deals" / f"BENCH-{i:06d}.yaml"
        path.write_text(deal_text(i, rng), "utf-8")
        files.append(str(path))
    return files


def bare_parse(files: list[str]) -> int:
    load, loader = yaml.load, yaml.CSafeLoader
    count = 0
    for file in files:
        with open(file, encoding="utf-8") as fh:
            text = fh.read()
        if load(text, Loader=loader) is not None:
            count += 1
    return count


def flowctl_check(files: list[str], cw: CompiledWorkflow) -> tuple[int, int]:
    deals = problems = 0
    for file in files:
        _, docs = read_deals(file)
        for doc in docs:
            deals += 1
            problems += len(check_deal(cw, doc))
    return deals, problems


def flowctl_parse(files: list[str]) -> int:
    return sum(len(read_deals(file)[1]) for file in files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=20000, help="number of deal files (default 20000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--keep", metavar="DIR", help="write the files here and keep them")
    args = parser.parse_args(argv)
    if not getattr(yaml, "__with_libyaml__", False):
        print("PyYAML has no libyaml here: the comparison would be meaningless", file=sys.stderr)
        return 2

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="flowctl-bench-"))
    try:
        t0 = time.perf_counter()
        files = generate(folder, args.n)
        sizes = [os.path.getsize(f) for f in files]
        print(f"{args.n} deal files in {folder} ({statistics.mean(sizes):.0f} bytes each on average, "
              f"{min(sizes)}-{max(sizes)}), written in {time.perf_counter() - t0:.1f} s")
        workflow, diagnostics = load_workflow(str(folder / "workflow.yaml"))
        if workflow is None:
            for d in diagnostics:
                print(d.format(), file=sys.stderr)
            return 2
        cw = CompiledWorkflow(workflow)
        print(f"workflow: {len(workflow.stages)} stages, {len(workflow.job_by_id)} jobs, "
              f"{len(workflow.gate_by_id)} gates, {len(workflow.fields)} company fields, "
              f"{len(cw.deal_validator.schema['properties'])} deal properties")

        # Warm the page cache and every lazy import/compile once, untimed.
        bare_parse(files[:200])
        flowctl_check(files[:200], cw)
        for f in files:
            with open(f, "rb") as fh:
                fh.read()

        timings: dict[str, list[float]] = {"bare": [], "flowctl": [], "parse": []}
        cpu: dict[str, list[float]] = {"bare": [], "flowctl": [], "parse": []}
        for r in range(args.rounds):
            order = ["bare", "flowctl", "parse"] if r % 2 == 0 else ["parse", "flowctl", "bare"]
            for what in order:
                t, c = time.perf_counter(), time.process_time()
                if what == "bare":
                    count = bare_parse(files)
                    assert count == len(files)
                elif what == "flowctl":
                    count, problems = flowctl_check(files, cw)
                    assert count == len(files)
                    assert problems == 0, f"{problems} diagnostics on deals meant to be valid"
                else:
                    assert flowctl_parse(files) == len(files)
                timings[what].append(time.perf_counter() - t)
                cpu[what].append(time.process_time() - c)
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s ({cpu[k][-1]:.2f} s CPU)" for k, v in timings.items()))

        n = len(files)
        med = {k: statistics.median(v) for k, v in timings.items()}
        med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
        print()
        print(f"{'median of ' + str(args.rounds) + ' rounds':34} {'deals/s':>9} {'µs/deal':>9} {'CPU µs/deal':>12}")
        for key, label in (("bare", "(a) bare parse (CSafeLoader)"), ("flowctl", "(b) flowctl read_deals+check_deal"),
                           ("parse", "(c) flowctl read_deals only")):
            print(f"{label:34} {n / med[key]:9.0f} {med[key] / n * 1e6:9.1f} {med_cpu[key] / n * 1e6:12.1f}")
        ratio = med["flowctl"] / med["bare"]
        print(f"\nratio (b)/(a): {ratio:.2f}x wall clock, {med_cpu['flowctl'] / med_cpu['bare']:.2f}x CPU time"
              "  (goal: at most 1.5x)")
        print(f"of which parsing (c)/(a): {med_cpu['parse'] / med_cpu['bare']:.2f}x CPU; "
              f"checks (b)-(c): {(med_cpu['flowctl'] - med_cpu['parse']) / n * 1e6:.1f} CPU µs/deal")
        return 0 if ratio <= 1.5 else 1
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
