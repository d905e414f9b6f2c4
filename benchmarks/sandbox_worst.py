"""The worst expressions and templates tried against the sandbox: for each, in a fresh
process, what it ended with, its time and the process's peak memory (max RSS), beside a
trivial expression's. Budgets as configured (FLOWCTL_EXPRESSION_SECONDS, default 1 s;
FLOWCTL_TEMPLATE_SECONDS, default 3 s).

Usage: python benchmarks/sandbox_worst.py [--only NAME]
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

EXPRESSIONS = {
    "trivial": "deal.amount > 0",
    # big: refused by the size bounds before the work is done
    "slice-300M": "([1]|slice(300000000)|select|list|length) > 0",
    "map-center-1M": "(deal.tags|map('center', 1000000)|list|length) > 0",
    "join-of-repeats": "(([('a' * 100000)] * 100000)|join)|length > 0",
    # as big as the bounds allow, in one operation
    "list-of-ranges-tojson": "(([range(100000)|list] * 24)|tojson|length) > 0",
    "list-of-ranges-string": "(([range(100000)|list] * 24)|string|length) > 0",
    "list-of-ranges-sort": "(([range(100000)|list] * 24)|sort|length) > 0",
    "list-of-ranges-too-many": "(([range(100000)|list] * 199)|tojson|length) > 0",
    "replace-to-bound": "(('x' * 100000)|replace('x', 'x' * 199)|length) > 0",
    "wordwrap-to-bound": "((('x' * 100000)|replace('x', 'x ' * 5))|wordwrap(1)|length) > 0",
    "wordwrap-too-long": "((('x' * 100000)|replace('x', 'x ' * 30))|wordwrap(1)|length) > 0",
    "map-string-to-bound": "(([range(100000)|list] * 24)|map('string')|join|length) > 0",
    # slow, not big: stopped by the time budget
    "reject-in-list": "(range(100000)|reject('in', range(100000)|list)|list|length) > 0",
    "deal-data-against-itself": "(deal.numbers|select('in', deal.numbers)|list|length) > 0",
}
TEMPLATES = {
    "nested-empty-loops": "{% set r = range(100000) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}",
    "exponential-macro": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
    "loop-output-to-cap": "{% for i in range(100000) %}{{ 'a' * 100000 }}{% endfor %}",
    "set-block-growing": "{% set s %}{% for i in range(100000) %}{{ 'a' * 100000 }}{% endfor %}{% endset %}{{ s|length }}",
}

CHILD = r"""
import json, resource, sys, time
from flowctl.expressions import ExpressionBatch
from flowctl.templating import Templates
kind, source = sys.argv[1], sys.argv[2]
deal = {"amount": 1, "tags": ["a"] * 1000, "numbers": list(range(50000))}
started = time.perf_counter()
if kind == "expression":
    [outcome] = ExpressionBatch([source]).evaluate({"deal": deal, "now": "2026-11-23", "stage": "s", "days_in_stage": 1})
    result = "true" if outcome.value else (outcome.error or "false")
else:
    try:
        result = "rendered %d characters" % len(Templates([]).render_string(source, deal=deal))
    except Exception as exc:
        result = str(exc).split("failed: ", 1)[-1]
seconds = time.perf_counter() - started
print(json.dumps({"result": result[:90], "seconds": seconds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(kind: str, source: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, kind, source], capture_output=True, text=True, cwd=HERE)
    if proc.returncode != 0:
        return {"result": f"exit {proc.returncode}: {proc.stderr.strip()[-90:]}", "seconds": float("nan"),
                "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
    return json.loads(proc.stdout)


def main() -> None:
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    cases = [("expression", k, v) for k, v in EXPRESSIONS.items()] + [("template", k, v) for k, v in TEMPLATES.items()]
    base = run("expression", EXPRESSIONS["trivial"])["peak_mb"]
    print(f"{'case':28} {'seconds':>8} {'peak MB':>8} {'+MB':>6}  result")
    worst = ("", 0.0)
    for kind, name, source in cases:
        if only and name != only:
            continue
        r = run(kind, source)
        extra = r["peak_mb"] - base
        worst = max(worst, (name, extra), key=lambda w: w[1])
        print(f"{name:28} {r['seconds']:8.2f} {r['peak_mb']:8.0f} {extra:6.0f}  {r['result']}")
    print(f"worst peak memory beyond a trivial expression's ({base:.0f} MB): {worst[0]}, +{worst[1]:.0f} MB")


if __name__ == "__main__":
    main()
