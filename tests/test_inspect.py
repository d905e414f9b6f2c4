"""`flowctl status`, `flowctl explain` and `flowctl impact`."""
from __future__ import annotations

import json

READY = "jobs: {verify: 2026-01-05, agenda: 2026-01-06}\n"


def test_status_shows_the_pipeline_by_stage_and_who_needs_attention(cli, project):
    project.deal("A")
    project.deal("B", READY + "roi: 1.0\namount: 5000\n".replace("amount: 5000\n", ""))
    project.deal("W", "outcome: won\nclosed_at: 2026-01-03\n")
    result = cli("status", "-w", project.workflow, "--now", "2026-01-20")
    assert result.exit_code == 0
    out = result.stdout
    assert "prospect" in out and "qualified" in out
    assert "won 1 (1,000)" in out
    assert "Needs attention:" in out
    assert "blocked by roi-ok: ROI too low" in out
    assert "overdue verify (due 2026-01-08)" in out


def test_status_json_has_the_run_keys_and_weighted_amounts(cli, project):
    project.deal("A", "probability: 0.5\n")
    data = json.loads(cli("status", "-w", project.workflow, "--now", "2026-01-02", "--format", "json").stdout)
    assert set(data) == {"deals", "events", "summary"}
    assert data["summary"]["by_stage"]["prospect"] == {"count": 1, "amount": 1000.0, "weighted": 500.0}


def test_status_as_of_a_past_date_uses_only_facts_dated_then(cli, project):
    project.deal("A", READY)
    now = json.loads(cli("status", "-w", project.workflow, "--now", "2026-02-01", "--format", "json").stdout)
    past = json.loads(cli("status", "-w", project.workflow, "--as-of", "2026-01-05", "--format", "json").stdout)
    assert now["deals"][0]["stage"] == "qualified"
    assert past["deals"][0]["stage"] == "qualified"
    earlier = json.loads(cli("status", "-w", project.workflow, "--as-of", "2026-01-04", "--format", "json").stdout)
    assert earlier["deals"][0]["stage"] == "prospect"


def test_status_does_not_create_a_store(cli, project):
    project.deal("A")
    cli("status", "-w", project.workflow, "--now", "2026-01-02")
    assert not (project.root / ".flowctl").exists()


def test_explain_names_the_missing_field_and_the_values_seen(cli, project):
    project.deal("A", READY)
    out = cli("explain", "A", "-w", project.workflow, "--now", "2026-01-10").stdout
    assert "gate roi-ok: FAILS — ROI too low (missing field 'roi')" in out
    assert "[done   ] verify" in out and "deal file, 2026-01-05" in out
    assert "5 days in stage" in out
    project.deal("B", READY + "roi: 1.1\n")
    out = cli("explain", "B", "-w", project.workflow, "--now", "2026-01-10").stdout
    assert "(saw deal.roi = 1.1)" in out


def test_explain_lists_waived_work_and_unsupported_claims(cli, project):
    project.deal("H", "stage: proposed\nhistory: [{stage: qualified, at: 2026-01-03}]\n")
    out = cli("explain", "H", "-w", project.workflow, "--now", "2026-01-10").stdout
    assert "[waived ] verify" in out
    assert "Waived (passed by history or a recorded win): job verify" in out
    assert "claims stage 'proposed', but the facts put it at 'qualified'" in out
    assert "missing jobs: agenda" in out and "failing gates: roi-ok" in out


def test_explain_json_and_unknown_deal(cli, project):
    project.deal("A")
    data = json.loads(cli("explain", "A", "-w", project.workflow, "--now", "2026-01-10", "--format", "json").stdout)
    assert data["stage"] == "prospect"
    assert {j["id"]: j["status"] for j in data["jobs_detail"]} == {"verify": "overdue", "meet": "pending"}
    result = cli("explain", "AA", "-w", project.workflow)
    assert result.exit_code == 2 and "did you mean 'A'" in result.stderr


def test_impact_shows_who_moves_who_is_blocked_and_the_weighted_change(cli, project, tmp_path):
    project.deal("A", READY + "roi: 1.3\n")   # passes roi >= 1.2, fails a stricter 1.5
    project.deal("B", READY + "roi: 2.0\n")
    new = tmp_path / "new.yaml"
    new.write_text(project.workflow.read_text().replace("deal.roi >= 1.2", "deal.roi >= 1.5"))
    result = cli("impact", "-w", new, "--against", project.workflow, project.deals, "--now", "2026-01-10",
                 "--format", "json")
    data = json.loads(result.stdout)
    assert data["moved"] == [{"deal": "A", "from": "proposed", "to": "qualified", "direction": "backward",
                              "outcome": {"from": "open", "to": "open"}}]
    assert data["blocked"] == [{"deal": "A", "stage": "qualified", "by": [{"gate": "roi-ok", "message": "ROI too low"}]}]
    assert data["weighted_pipeline"]["change"] == -300.0  # 1000 x (0.3 - 0.6)
    text = cli("impact", "-w", new, "--against", project.workflow, project.deals, "--now", "2026-01-10").stdout
    assert "  A:\n    moves proposed -> qualified (backward)\n    newly blocked in qualified by gate roi-ok (ROI too low)" in text


def test_status_counts_a_deal_with_warnings_and_shows_a_broken_one_as_not_evaluated(cli, project):
    """SPEC section 2, first rule: what the workflow does not know is a warning on the deal,
    which is still counted; only a deal that cannot be placed or counted is an error."""
    project.deal("A", "industry: packaging\njobs: {verfy: 2026-01-02}\n")
    (project.deals / "B.yaml").write_text("id: B\namount: lots\ncreated: 2026-01-01\n")
    result = cli("status", "-w", project.workflow, "--now", "2026-01-02")
    assert result.exit_code == 1
    assert "Could not be evaluated (1):" in result.stdout and "B.yaml:2:9: error:" in result.stdout
    assert "Warnings (2):" in result.stdout and "did you mean 'verify'" in result.stdout
    data = json.loads(cli("status", "-w", project.workflow, "--now", "2026-01-02", "--format", "json").stdout)
    rows = {d["id"]: d for d in data["deals"]}
    assert rows["A"]["stage"] == "prospect" and rows["A"]["errors"] == [] and len(rows["A"]["warnings"]) == 2
    assert rows["B"]["stage"] is None and rows["B"]["errors"] and rows["B"]["warnings"] == []
    assert data["summary"]["by_stage"]["prospect"]["count"] == 1 and data["summary"]["warnings"] == 2


def test_explain_lists_the_warnings_of_a_deal(cli, project):
    project.deal("A", "roi: high\njobs: {verify: 2026-01-05, agenda: 2026-01-06}\n")
    out = cli("explain", "A", "-w", project.workflow, "--now", "2026-01-10").stdout
    assert "Warnings (what the workflow does not know" in out
    assert "gate roi-ok: FAILS — ROI too low (field 'roi' is not as the workflow declares it" in out
    data = json.loads(cli("explain", "A", "-w", project.workflow, "--now", "2026-01-10", "--format", "json").stdout)
    assert data["errors"] == [] and "[$.roi]" in data["warnings"][0]


def test_status_shows_an_unsupported_stage_claim_with_what_is_missing(cli, project):
    project.deal("H", "stage: proposed\njobs: {verify: 2026-01-05}\n")
    project.deal("OK", "stage: prospect\n")
    out = cli("status", "-w", project.workflow, "--now", "2026-01-06").stdout
    assert "claims proposed; the facts say qualified: missing jobs agenda; failing gates roi-ok" in out
    assert "OK " not in out.split("Needs attention:")[1]


def test_impact_says_per_deal_what_a_user_must_know(cli, project, tmp_path):
    """A won deal that would no longer be won, a deal that would gain a warning (a job the
    new workflow removed), newly blocked gates; exit 0, and the same in JSON."""
    project.deal("W", "jobs: {verify: 2026-01-02, agenda: 2026-01-03}\nroi: 2.0\n"
                      "approvals: {price-approved: {by: bob, role: management, at: 2026-01-04}}\n")
    project.deal("M", "jobs: {verify: 2026-01-02, meet: 2026-01-02}\n")
    new = tmp_path / "new.yaml"
    new.write_text(project.workflow.read_text()
                   .replace("      - {id: meet, required: false}\n", "")
                   .replace("      - {id: price-approved, approval: management}\n",
                            "      - {id: price-approved, approval: management}\n      - {id: legal-ok, approval: legal}\n"))
    result = cli("impact", "-w", new, "--against", project.workflow, project.deals, "--now", "2026-01-10")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "  W:\n    moves closed -> proposed (backward)\n" in out
    assert "would no longer be won (won -> open in proposed): gate legal-ok" in out
    assert "gains a warning: unknown job 'meet', ignored [$.jobs.meet]" in out
    assert "1 no longer won, 1 with new or fewer warnings" in out
    data = json.loads(cli("impact", "-w", new, "--against", project.workflow, project.deals, "--now", "2026-01-10",
                          "--format", "json").stdout)
    assert data["outcomes"] == [{"deal": "W", "from": "won", "to": "open", "change": "no longer won", "stage": "proposed",
                                 "holding": [{"gate": "legal-ok", "message": "needs an approval by legal"}]}]
    assert data["warnings"] == [{"deal": "M", "gained": ["unknown job 'meet', ignored [$.jobs.meet]"], "lost": []}]
    assert {d["deal"] for d in data["deals"]} == {"W", "M"}
    md = cli("impact", "-w", new, "--against", project.workflow, project.deals, "--now", "2026-01-10",
             "--format", "markdown").stdout
    assert "### Outcomes that would change" in md and "### Warnings gained or lost" in md
