"""A realistic company, messy as people are: an overlay on a base workflow, and deals
written by different reps (tests/data/messy/). Every deal whose place and numbers can be
known is evaluated and counted, with warnings; only the three that cannot be are errors.
The expected stages were worked out by hand from SPEC section 2 (see each comment)."""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from flowctl.testing import invoke_cli as invoke

MESSY = Path(__file__).parent / "data" / "messy"
NOW = "2026-03-01"

# deal -> (stage, outcome, warning kinds' words), by hand from the overlay:
# prospect [verify; meet optional] -> qualified [agenda; gate roi >= 1.2] -> proposed [approval by management] -> closed
EXPECTED = {
    "D01": ("qualified", "open", []),                          # verify done, agenda not
    "D02": ("qualified", "open", ["unknown key 'industry'"]),  # a rep's own key: kept as data
    "D03": ("proposed", "open", ["unknown job 'survey'"]),     # the overlay removed survey: ignored
    "D04": ("prospect", "open", ["unknown job 'verfy'"]),      # misspelt: ignored, so verify is not done
    "D05": ("proposed", "open", ["not 'sales'"]),              # approval by the wrong role: the gate does not hold
    "D06": ("closed", "won", ["unknown gate 'legal-ok'"]),     # every stage met; the unknown approval ignored
    "D07": ("qualified", "open", ["field 'roi'"]),             # roi: high -> the roi gate fails naming the field
    "D08": ("prospect", "open", ["unknown key 'industry'", "field 'roi'", "unknown job 'verfy'", "unknown gate 'legal-ok'"]),
    "D12": ("qualified", "open", ["field 'region'"]),          # a declared enum of the wrong value
    "D13": ("closed", "won", []),                              # outcome: won, nothing else: the rest waived
    "D14": ("qualified", "open", ["[$.tags]", "[$.probability]"]),  # ignored: the stage's probability holds
    "D15": ("qualified", "open", []),                          # claims proposed: not supported
}
ERRORS = {"D09.yaml": "[$.amount]", "D10-duplicate.yaml": "duplicate deal id 'D01'", "D11.yaml": "[$.outcome]"}


@pytest.fixture(scope="module")
def status() -> tuple[int, dict]:
    result = invoke("status", "-w", MESSY / "workflow.yaml", MESSY / "deals", "--now", NOW, "--format", "json")
    return result.exit_code, json.loads(result.stdout)


def test_every_deal_that_can_be_placed_is_placed_where_spec_says(status):
    code, data = status
    assert code == 1  # three deals could not be evaluated: each for itself
    rows = {d["id"]: d for d in data["deals"] if d["stage"] is not None}
    assert set(rows) == set(EXPECTED)
    for deal_id, (stage, outcome, words) in EXPECTED.items():
        row = rows[deal_id]
        assert (row["stage"], row["outcome"]) == (stage, outcome), deal_id
        assert row["errors"] == [], deal_id
        assert len(row["warnings"]) == len(words), (deal_id, row["warnings"])
        for word in words:
            assert any(word in w for w in row["warnings"]), (deal_id, word, row["warnings"])


def test_only_the_deals_that_cannot_be_placed_or_counted_are_errors(status):
    _, data = status
    broken = [d for d in data["deals"] if d["stage"] is None]
    assert len(broken) == 3
    for d in broken:
        name = Path(d["file"]).name
        assert any(ERRORS[name] in e for e in d["errors"]), d


def test_the_figures_count_every_evaluated_deal(status):
    _, data = status
    summary = data["summary"]
    assert summary["open"]["count"] == 10 and summary["won"]["count"] == 2
    assert summary["won"]["amount"] == 6000 + 13000
    assert summary["by_stage"]["qualified"]["count"] == 6  # D01 D02 D07 D12 D14 D15
    # D14's probability: 7 is ignored, qualified's 0.3 holds
    assert summary["by_stage"]["qualified"]["weighted"] == pytest.approx(0.3 * (1000 + 2000 + 7000 + 12000 + 14000 + 15000))


def test_the_details_a_user_needs_are_in_explain_and_status(status):
    _, data = status
    rows = {d["id"]: d for d in data["deals"]}
    assert rows["D13"]["stage_entries"] == {"prospect": "2026-01-01", "qualified": "2026-02-01",
                                            "proposed": "2026-02-01", "closed": "2026-02-01"}
    assert rows["D06"]["closed_at"] == "2026-01-12"
    assert rows["D15"]["claim"] == {"stage": "proposed", "supported": False, "derived": "qualified",
                                    "missing_jobs": ["agenda"], "failing_gates": ["roi-ok"]}
    gate = next(g for g in rows["D05"]["gates"] if g["id"] == "price-approved")
    assert "carol@example.com as sales" in gate["message"]
    out = invoke("explain", "D07", "-w", MESSY / "workflow.yaml", MESSY / "deals", "--now", NOW).stdout
    assert "gate roi-ok: FAILS — ROI too low (field 'roi' is not as the workflow declares it" in out
    text = invoke("status", "-w", MESSY / "workflow.yaml", MESSY / "deals", "--now", NOW).stdout
    assert "D15" in text and "claims proposed; the facts say qualified: missing jobs agenda; failing gates roi-ok" in text


def test_validate_lists_every_problem_and_strict_fails_on_warnings_only(tmp_path):
    result = invoke("validate", "-w", MESSY / "workflow.yaml", MESSY / "deals")
    assert result.exit_code == 2  # the three errors
    assert result.stdout.count(": error: ") == 3
    assert result.stdout.count(": warning: ") == sum(len(w) for _, _, w in EXPECTED.values())
    clean = tmp_path / "deals"
    shutil.copytree(MESSY / "deals", clean)
    for name in ERRORS:
        (clean / name).unlink()
    assert invoke("validate", "-w", MESSY / "workflow.yaml", clean).exit_code == 0
    assert invoke("validate", "--strict", "-w", MESSY / "workflow.yaml", clean).exit_code == 2


def test_impact_of_the_overlay_says_which_deals_gain_a_warning():
    result = invoke("impact", "-w", MESSY / "workflow.yaml", "--against", MESSY / "base.yaml", MESSY / "deals",
                    "--now", NOW, "--format", "json")
    data = json.loads(result.stdout)
    gained = {w["deal"]: w["gained"] for w in data["warnings"]}
    assert any("unknown job 'survey'" in g for g in gained["D03"])
    assert any("field 'region'" in g for g in gained["D12"])  # the base did not declare region: it was a key


def test_the_report_lists_the_problems_and_the_unsupported_claims(tmp_path):
    out = tmp_path / "report.md"
    result = invoke("report", "-w", MESSY / "workflow.yaml", MESSY / "deals", "--now", NOW, "-o", out)
    assert result.exit_code == 1  # three deals left out, each named
    text = out.read_text("utf-8")
    section = text.split("## Problems in the deal files", 1)[1]
    assert section.count("| error |") == 3
    assert section.count("| warning |") == sum(len(w) for _, _, w in EXPECTED.values())
    assert "| D15 | claim | claims proposed; the facts say qualified: missing jobs agenda; failing gates roi-ok |" in section
    html = tmp_path / "report.html"
    invoke("report", "-w", MESSY / "workflow.yaml", MESSY / "deals", "--now", NOW, "-o", html, "--locale", "es")
    assert "Problemas en los archivos de oportunidades" in html.read_text("utf-8")
