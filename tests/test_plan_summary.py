"""`flowctl run --dry-run --format markdown`: the plan as Markdown for
$GITHUB_STEP_SUMMARY — who moves, who gets blocked, the forecast before (the store's
last run) and after (what this run would record)."""
from __future__ import annotations

import json
import re

from flowctl.testing import invoke_cli as invoke
from markdown_reading import section, tables
from flowctl import plan_summary
from flowctl.markdown import escape

D1, D2 = "2026-01-05", "2026-01-20"


def dry_run(project, *extra: str):
    return invoke("run", "--dry-run", "--format", "markdown", "--now", D2, *project.args(*extra))


def test_moves_blocks_and_the_forecast_before_and_after(project):
    project.deal("FWD")
    project.deal("BACK", "jobs: {verify: 2026-01-02, agenda: 2026-01-03}\nroi: 2\n")  # proposed
    project.deal("WIN")
    project.deal("STAY")
    assert invoke("run", "--now", D1, *project.args()).exit_code == 0
    before = json.loads(invoke("status", "--format", "json", "--now", D1, *project.args()).stdout)["summary"]
    project.deal("FWD", "jobs: {verify: 2026-01-10, agenda: 2026-01-12}\nroi: 0.5\n")  # qualified, blocked by roi-ok
    project.deal("BACK", "roi: 2\n")  # loses its jobs: back to prospect
    project.deal("WIN", "outcome: won\nclosed_at: 2026-01-15\n")
    project.deal("NEW")
    result = dry_run(project)
    assert result.exit_code == 0, result.output
    md = result.stdout
    assert md.startswith("## flowctl run --dry-run: test-sales, 2026-01-20\n")
    moves = {row[0]: row[1:4] for row in tables(section(md, "Who moves"))[0][1:]}
    assert moves == {"FWD": ["prospect", "qualified", "forward"], "BACK": ["proposed", "prospect", "back"],
                     "NEW": ["(new)", "prospect", "new"], "WIN": ["prospect", "closed", "**won**"]}
    blocked = tables(section(md, "Who gets blocked"))[0][1:]
    assert [row[:3] for row in blocked] == [["FWD", "qualified", "`roi-ok`"]] and blocked[0][3] == "ROI too low"

    after = json.loads(invoke("run", "--dry-run", "--format", "json", "--now", D2, *project.args()).stdout)["summary"]
    totals, stages = tables(section(md, "Forecast before and after"))
    rows = {row[0]: row[1:] for row in totals[1:]}
    weighted_after = sum(v["weighted"] for k, v in after["by_stage"].items() if k not in ("won", "lost"))
    assert rows["Open deals"] == [str(before["open"]["count"]), "4", "±0"]
    assert rows["**Weighted pipeline** (stage-weighted forecast)"] == [
        f"**{before['open']['weighted']:,.0f} EUR**", f"**{weighted_after:,.0f} EUR**",
        f"−{before['open']['weighted'] - weighted_after:,.0f} EUR"]
    assert rows["Won"] == ["0 · 0 EUR", "1 · 1,000 EUR", "+1,000 EUR"]
    by_stage = {row[0]: row[1:] for row in stages[1:]}
    assert by_stage == {"prospect": ["3 · 3,000 EUR", "3 · 3,000 EUR", "±0"],
                        "qualified": ["0 · 0 EUR", "1 · 1,000 EUR", "+1"],
                        "proposed": ["1 · 1,000 EUR", "0 · 0 EUR", "−1"]}
    # A dry run changes nothing: the next one starts from the same store.
    assert tables(section(dry_run(project).stdout, "Forecast before and after"))[0] == totals


def test_without_a_store_before_is_unknown(project):
    project.deal("D1")
    md = dry_run(project).stdout
    totals = tables(section(md, "Forecast before and after"))[0]
    assert totals[0][1] == "Before (no run recorded yet)" and totals[1] == ["Open deals", "—", "1", ""]
    assert not (project.root / "state.db").exists()


def test_deal_values_stay_text(project):
    nasty = "X|<b>*y*</b>_[z](http://e)`q`\x1b[31m"
    (project.deals / "q1.json").write_text(json.dumps({"id": nasty, "owner": "a", "amount": 1, "created": "2026-01-01"}))
    md = dry_run(project).stdout
    row = tables(section(md, "Who moves"))[0][1]
    assert row[0] == escape(nasty) and "<b>" not in md and "\x1b" not in md
    assert not re.search(r"(?<!\\)\]\(", md)  # no link: every bracket escaped


def test_problems_are_listed_and_the_run_exits_1(project):
    project.deal("OK")
    project.deal("BAD", "outcome: maybe\n")
    result = dry_run(project)
    assert result.exit_code == 1
    problems = tables(section(result.stdout, "Problems"))[0][1:]
    assert problems[0][0].endswith("BAD.yaml:5") and problems[0][1] == "error"
    assert "BAD.yaml:5:10: error" in result.stderr


def test_markdown_needs_a_dry_run(project):
    project.deal("D1")
    result = invoke("run", "--format", "markdown", *project.args())
    assert result.exit_code == 2 and "--format markdown goes with --dry-run" in result.output
    assert not (project.root / "state.db").exists()


def test_a_snapshot_counts_open_deals_by_stage_and_closed_ones_by_outcome():
    rows = [{"stage": "p", "outcome": "open", "amount": 10, "probability": 0.5},
            {"stage": "c", "outcome": "won", "amount": 7, "probability": 1}]
    snap = plan_summary.pipeline_of_snapshot(rows)
    assert snap.to_json() == {"p": {"count": 1, "amount": 10.0, "weighted": 5.0},
                              "won": {"count": 1, "amount": 7.0, "weighted": 0.0}}
    assert snap.total("weighted") == 5.0
