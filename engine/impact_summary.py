"""`flowctl impact --format markdown`: what a workflow change would do to today's deals,
as Markdown for a pull request's `$GITHUB_STEP_SUMMARY` — who moves, who gets blocked
and by what, the weighted pipeline before and after, and the deals that could not be
evaluated. Deal ids, stage ids and messages are escaped: they stay text."""
from __future__ import annotations

from typing import Any, Sequence

from .diagnostics import Diagnostic
from .markdown import capped, change, escape, money, table
from .model import Workflow


def render(report: dict[str, Any], errors: Sequence[Diagnostic], new_wf: Workflow, old_wf: Workflow,
           new_path: str, old_path: str) -> str:
    """The Markdown of `impact.compare`'s report."""
    labels = {s.id: s.text("en") for s in old_wf.stages} | {s.id: s.text("en") for s in new_wf.stages}

    def stage(sid: str | None) -> str:
        return escape(labels.get(sid or "", sid))

    moved, blocked, w = report["moved"], report["blocked"], report["weighted_pipeline"]
    cur = new_wf.currency
    out = [f"## flowctl impact: `{escape(new_path)}` against `{escape(old_path)}`", "",
           f"{len(moved):,} deal(s) would move · {len(blocked):,} newly blocked · {report['unchanged']:,} unchanged · "
           f"{len(errors):,} could not be evaluated.", "", "### Who moves", ""]
    if moved:
        rows: list[tuple[str, ...]] = []
        for m in moved:
            how = m["direction"]
            if m["outcome"]["from"] != m["outcome"]["to"]:
                how += f" ({escape(m['outcome']['from'])} → **{escape(m['outcome']['to'])}**)"
            rows.append((escape(m["deal"]), stage(m["from"]), stage(m["to"]), how))
        rows, more = capped(rows, "moves")
        out += [table(("Deal", "From", "To", ""), rows) + more, ""]
    else:
        out += ["No deal changes stage.", ""]
    out += ["### Who gets blocked", ""]
    if blocked:
        held = [(escape(b["deal"]), stage(b["stage"]),
                 "; ".join(f"gate `{escape(x['gate'])}`: {escape(x['message'])}" if "gate" in x
                           else f"job `{escape(x['job'])}` ({escape(x['status'])})" for x in b["by"]))
                for b in blocked]
        held, more = capped(held, "blocked deals")
        out += [table(("Deal", "Stage", "Blocked by"), held) + more, ""]
    else:
        out += ["No deal is newly blocked.", ""]
    if report.get("outcomes"):
        closed = [(escape(o["deal"]), escape(o["change"]), f"{escape(o['from'])} → **{escape(o['to'])}**", stage(o["stage"]))
                  for o in report["outcomes"]]
        closed, more = capped(closed, "outcome changes")
        out += ["### Outcomes that would change", "", table(("Deal", "", "Outcome", "Stage"), closed) + more, ""]
    if report.get("warnings"):
        warned = [(escape(w["deal"]), "<br>".join(escape(x) for x in w["gained"]) or "—",
                   "<br>".join(escape(x) for x in w["lost"]) or "—") for w in report["warnings"]]
        warned, more = capped(warned, "deals with changed warnings")
        out += ["### Warnings gained or lost", "",
                "What the new workflow does not know about a deal (it is still counted):", "",
                table(("Deal", "New warnings", "Warnings gone"), warned) + more, ""]
    out += ["### Weighted pipeline", "",
            table(("", "Now", "With the change", "Change"),
                  [("**Weighted pipeline** (stage-weighted forecast)", money(w["old"], cur), money(w["new"], cur),
                    change(w["old"], w["new"], cur))], right=(1, 2, 3)), ""]
    if errors:
        problems = [(escape(d.file) + (f":{d.line}" if d.line else ""), escape(d.message)) for d in errors]
        problems, more = capped(problems, "problems")
        out += ["### Could not be evaluated", "", table(("File", "Why"), problems) + more, ""]
    return "\n".join(out)
