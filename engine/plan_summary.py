"""`flowctl run --dry-run --format markdown`: what a run would do, as Markdown fit for
GitHub's `$GITHUB_STEP_SUMMARY` or a pull-request comment — who moves (forward, back,
won, lost, new), who gets blocked and by which gate, the forecast before (the store's
last state) and after (what the run would record), and the actions, notifications and
errors. Deal ids and labels are escaped: they stay text.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Sequence

from .markdown import capped as _capped, change as _change, escape, money as _money, table
from .model import Workflow
from .totals import StageTotals

def pipeline_of_snapshot(rows: Iterable[dict]) -> StageTotals:
    """The pipeline the store recorded last (its snapshot rows)."""
    out = StageTotals()
    out.add_snapshot(rows)
    return out


def render(workflow: Workflow, day: dt.date, result: Any, before: list[dict] | None) -> str:
    """The Markdown of a dry run's result (a RunResult), `before` being the snapshot rows
    of the store's last run (None: no store yet)."""
    label = {s.id: s.text("en") for s in workflow.stages}
    order = {s.id: s.index for s in workflow.stages}
    cur = workflow.currency
    blocked = [e for e in result.events if e.kind == "gate_blocked"]
    out = [f"## flowctl run --dry-run: {escape(workflow.name)}, {day.isoformat()}", "",
           f"{result.summary(True)['deals']:,} deal(s) · {len(result.transitions):,} would move · "
           f"{len(blocked):,} newly blocked · {len(result.actions):,} action(s) · "
           f"{len(result.notifications):,} notification(s) · {result.errors:,} error(s). Nothing was changed.", ""]

    out += ["### Who moves", ""]
    if result.transitions:
        rows: list[tuple[str, ...]] = []
        for t in sorted(result.transitions, key=lambda t: t["deal"]):
            src, dst = t["from"], t["to"]
            if t["outcome"] in ("won", "lost"):
                how = f"**{t['outcome']}**"
            elif src is None:
                how = "new"
            else:
                how = "forward" if order.get(dst, 0) > order.get(src, 0) else "back"
            rows.append((escape(t["deal"]), escape(label.get(src, src)) if src else "(new)",
                         escape(label.get(dst, dst)), how, t["at"]))
        rows, more = _capped(rows, "moves")
        out += [table(("Deal", "From", "To", "", "Since"), rows) + more, ""]
    else:
        out += ["No deal changes stage.", ""]

    out += ["### Who gets blocked", ""]
    if blocked:
        rows = [(escape(e.deal), escape(label.get(e.stage or "", e.stage)), f"`{escape(e.data.get('gate'))}`",
                 escape(e.data.get("message"))) for e in sorted(blocked, key=lambda e: (e.deal, e.key))]
        rows, more = _capped(rows, "blocked deals")
        out += [table(("Deal", "Stage", "Gate", "Why"), rows) + more, ""]
    else:
        out += ["No deal is newly blocked by a gate.", ""]

    out += _forecast(workflow, label, cur, pipeline_of_snapshot(before) if before is not None else None,
                     result.totals)

    if result.actions:
        rows = [(escape(a["deal"]), f"`{escape(a['job'])}`", f"`{escape(a['action'])}`") for a in result.actions]
        rows, more = _capped(rows, "actions")
        out += ["### Actions that would run", "", table(("Deal", "Job", "Action"), rows) + more, ""]
    if result.notifications:
        channels: dict[str, int] = {}
        for n in result.notifications:
            channels[n["channel"]] = channels.get(n["channel"], 0) + 1
        out += ["### Notifications that would be queued", "",
                table(("Channel", "Messages"), [(escape(c), f"{k:,}") for c, k in sorted(channels.items())], right=(1,)), ""]
    if result.diagnostics:
        rows = [(escape(d.file) + (f":{d.line}" if d.line else ""), escape(d.severity), escape(d.message))
                for d in result.diagnostics]
        rows, more = _capped(rows, "problems")
        out += ["### Problems", "", table(("File", "", "Message"), rows) + more, ""]
    return "\n".join(out)


def _forecast(workflow: Workflow, label: dict, cur: str, before: StageTotals | None, after: StageTotals) -> list[str]:
    title = "Before (the store's last run)" if before is not None else "Before (no run recorded yet)"
    b = before or StageTotals()
    known = before is not None
    rows = [("Open deals", f"{b.total('count'):,.0f}" if known else "—", f"{after.total('count'):,.0f}",
             _change(b.total("count") if known else None, after.total("count"))),
            ("Open pipeline", _money(b.total("amount"), cur) if known else "—", _money(after.total("amount"), cur),
             _change(b.total("amount") if known else None, after.total("amount"), cur)),
            ("**Weighted pipeline** (stage-weighted forecast)",
             f"**{_money(b.total('weighted'), cur)}**" if known else "—", f"**{_money(after.total('weighted'), cur)}**",
             _change(b.total("weighted") if known else None, after.total("weighted"), cur))]
    rows_out: list[tuple[str, ...]] = list(rows)
    for name, outcome in (("Won", "won"), ("Lost", "lost")):
        was, now = b.closed(outcome), after.closed(outcome)
        rows_out.append((name, f"{was['count']:,.0f} · {_money(was['amount'], cur)}" if known else "—",
                         f"{now['count']:,.0f} · {_money(now['amount'], cur)}",
                         _change(was["amount"] if known else None, now["amount"], cur)))
    stage_rows = []
    for s in workflow.stages:
        if s.terminal:
            continue
        old, new = b.open_rows().get(s.id), after.open_rows().get(s.id)
        if not old and not new:
            continue
        old = old or {"count": 0, "amount": 0.0}
        new = new or {"count": 0, "amount": 0.0}
        stage_rows.append((escape(label[s.id]), f"{old['count']:,.0f} · {_money(old['amount'], cur)}" if known else "—",
                           f"{new['count']:,.0f} · {_money(new['amount'], cur)}",
                           _change(old["count"] if known else None, new["count"])))
    return ["### Forecast before and after", "",
            table(("", title, "After this run", "Change"), rows_out, right=(1, 2, 3)), "",
            table(("Stage", "Before: deals · amount", "After: deals · amount", "Change in deals"), stage_rows,
                  right=(1, 2, 3)) if stage_rows else "No open deals.", ""]
