"""Forecast accuracy on the Maven data (issue 13): every method backtested at the 1st of
each month 2017-04..2017-10, horizons 90 and 60 days, with the --as-of code path.

    python benchmarks/forecast_accuracy.py [MAVEN_DIR]

Prints per method and horizon: MAPE and bias of the total against all revenue won,
the bias of `existing` (against revenue from deals open at the origin) and of `new`
(against revenue from deals created after it), P10-P90 coverage and mean width, and
the wall-clock time of the 7-origin backtest of every method.

Then the method `flowctl forecast` chooses on the whole data (as of 2017-12-31), and
the figures of the default method as `flowctl forecast --as-of ORIGIN` would choose it
at each origin: by the backtest at the six monthly dates before the origin,
on the deals as of the origin only (too little history: `weighted`).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from flowctl.compiled import CompiledWorkflow
from flowctl.asof import as_of
from flowctl.backtest import backtest, choose_method, score, summarise
from flowctl.evaluate import Facts, evaluate
from flowctl.forecasting import run_method
from flowctl.hooktypes import ForecastInput
from flowctl.import_map import load_map
from flowctl.importer import import_csv
from flowctl.pipeline import evaluate_all
from flowctl.plugin_manager import Plugins
from flowctl.workflow import load_workflow

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "maven-crm-sales-opportunities"
ORIGINS = [dt.date(2017, m, 1) for m in range(4, 11)]
NOW = dt.date(2017, 12, 31)


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.1%}"


def main() -> None:
    maven = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(os.environ.get("FLOWCTL_MAVEN_DIR") or DEFAULT)
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("workflow.yaml", "map.yaml"):
            shutil.copy(ROOT / "examples" / "maven" / name, Path(tmp) / name)
        plugins = Plugins()
        workflow, _ = load_workflow(str(Path(tmp) / "workflow.yaml"), plugins)
        import_csv(str(maven / "sales_pipeline.csv"), load_map(str(Path(tmp) / "map.yaml"), workflow), str(Path(tmp) / "deals"))
        cw = CompiledWorkflow(workflow)
        methods = plugins.forecast_methods()
        items = [(i.doc.deal, i.state) for i in evaluate_all(cw, [str(Path(tmp) / "deals")], NOW) if i.state]
        for horizon in (90, 60):
            start = time.perf_counter()
            r = backtest(items, cw, NOW, horizon, methods, None, options={"trials": 2000}, dates=ORIGINS)
            took = time.perf_counter() - start
            print(f"horizon {horizon} d, origins {ORIGINS[0]}..{ORIGINS[-1]} ({len(ORIGINS)}), "
                  f"backtest of {len(methods)} methods: {took:.1f} s")
            print(f"  {'method':12} {'MAPE':>7} {'bias':>7} {'existing':>9} {'new':>7} {'coverage':>9} {'width':>7}")
            for name, m in r["methods"].items():
                print(f"  {name:12} {m['mape']:>7.1%} {pct(m['bias']):>7} {pct(m['existing_bias']):>9} "
                      f"{pct(m['new_bias']):>7} {m['coverage']:>5}/{m['origins']} {m['width']:>7.0%}")
            for row in r["origins"]:
                print(f"    {row['origin']} actual {row['actual']:>12,.0f} (existing {row['actual_existing']:>11,.0f}, "
                      f"new {row['actual_new']:>11,.0f}) " + "  ".join(
                          f"{n} {d['expected']:,.0f} [{d['p10']:,.0f}-{d['p90']:,.0f}]{'' if d['held'] else ' MISS'}"
                          for n, d in row["detail"].items()))

            name, why = choose_method(items, cw, NOW, horizon, methods)
            print(f"  default of `flowctl forecast --horizon {horizon}d` on {NOW}: {name} ({why})")
            default_figures(items, cw, horizon, methods, r["origins"])


def default_figures(items: list, cw: CompiledWorkflow, horizon: int, methods: dict, rows: list[dict]) -> None:
    """At each origin, the method `forecast --as-of ORIGIN` chooses, and its forecast scored."""
    scored, chosen = [], []
    for row in rows:
        origin = dt.date.fromisoformat(row["origin"])
        then = [(doc, evaluate(cw, d, origin, Facts())) for doc, _ in items if (d := as_of(doc, origin)) is not None]
        finals: list = []
        name, _ = choose_method(then, cw, origin, horizon, methods, finals=finals)
        result = run_method(methods[name], ForecastInput(finals, cw.workflow, origin, horizon, None, {"trials": 2000}))
        scored.append(score(result, row["actual"], row["actual_existing"]))
        chosen.append(f"{origin:%m-%d} {name}")
    m = summarise(scored)
    print(f"  {'default':12} {m['mape']:>7.1%} {pct(m['bias']):>7} {pct(m['existing_bias']):>9} "
          f"{pct(m['new_bias']):>7} {m['coverage']:>5}/{m['origins']} {m['width']:>7.0%}   ({', '.join(chosen)})")


if __name__ == "__main__":
    main()
