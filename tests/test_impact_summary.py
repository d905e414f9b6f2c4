"""`flowctl impact --format markdown`: a workflow change's effect on today's deals as
Markdown for a pull request's job summary — the same facts as `--format json`."""
from __future__ import annotations

import json
import re

from flowctl.testing import invoke_cli as invoke
from markdown_reading import section, tables

READY = "jobs: {verify: 2026-01-05, agenda: 2026-01-06}\n"
NOW = "2026-01-10"


def impact(project, new, fmt: str):
    return invoke("impact", "-w", new, "--against", project.workflow, project.deals, "--now", NOW, "--format", fmt)


def stricter(project, tmp_path, old: str, new: str):
    path = tmp_path / "new.yaml"
    path.write_text(project.workflow.read_text().replace(old, new))
    return path


def test_the_summary_says_what_the_json_says(project, tmp_path):
    project.deal("A", READY + "roi: 1.3\n")   # passes roi >= 1.2, fails 1.5: back to qualified
    project.deal("B", READY + "roi: 2.0\n")   # unchanged
    project.deal("C", READY + "roi: 1.4\n")
    new = stricter(project, tmp_path, "deal.roi >= 1.2", "deal.roi >= 1.5")
    md_run, json_run = impact(project, new, "markdown"), impact(project, new, "json")
    assert md_run.exit_code == json_run.exit_code == 0, md_run.output
    data, md = json.loads(json_run.stdout), md_run.stdout
    assert md.startswith("## flowctl impact: `")
    moves = {row[0]: row[1:] for row in tables(section(md, "Who moves"))[0][1:]}
    assert moves == {m["deal"]: [m["from"], m["to"], m["direction"]] for m in data["moved"]}
    assert set(moves) == {"A", "C"}
    blocked = {row[0]: row[1:] for row in tables(section(md, "Who gets blocked"))[0][1:]}
    assert blocked == {b["deal"]: [b["stage"], "gate `roi-ok`: ROI too low"] for b in data["blocked"]}
    weighted = tables(section(md, "Weighted pipeline"))[0][1]
    w = data["weighted_pipeline"]
    assert weighted[1:] == [f"{w['old']:,.0f} EUR", f"{w['new']:,.0f} EUR", f"−{-w['change']:,.0f} EUR"]
    assert f"{len(data['moved'])} deal(s) would move · {len(data['blocked'])} newly blocked · " \
           f"{data['unchanged']} unchanged · 0 could not be evaluated." in md


def test_no_change_says_so(project, tmp_path):
    project.deal("A", READY + "roi: 2\n")
    result = impact(project, project.workflow, "markdown")
    assert result.exit_code == 0
    assert "No deal changes stage." in result.stdout and "No deal is newly blocked." in result.stdout
    assert "±0" in section(result.stdout, "Weighted pipeline")


def test_values_stay_text(project, tmp_path):
    project.deal("X|<b>y</b>](http://e)", READY + "roi: 1.3\n", name="x.yaml")
    new = tmp_path / "new.yaml"
    new.write_text(project.workflow.read_text().replace("deal.roi >= 1.2", "deal.roi >= 1.5")
                   .replace("message: ROI too low", 'message: "<script>|x"'))
    md = impact(project, new, "markdown").stdout
    assert "<b>" not in md and "<script>" not in md and not re.search(r"(?<!\\)\]\(", md)
    rows = tables(section(md, "Who moves"))[0][1:]
    assert len(rows) == 1 and len(rows[0]) == 4  # the pipe stayed inside its cell


def test_a_deal_that_cannot_be_evaluated_is_listed_and_exits_1(project, tmp_path):
    project.deal("A", READY + "roi: 2\n")
    (project.deals / "broken.yaml").write_text("id: [unclosed\n")
    result = impact(project, project.workflow, "markdown")
    assert result.exit_code == 1
    problems = tables(section(result.stdout, "Could not be evaluated"))[0][1:]
    assert [row[0].split(":")[0] for row in problems] == [str(project.deals / "broken.yaml")]
    assert "1 could not be evaluated" in result.stdout
