"""`flowctl done` and `flowctl approve` edit the deal file and nothing else."""
from __future__ import annotations

import json

DEAL = """\
# Fleet telemetry -- keep this comment
id: D1
owner: bob@example.com   # the rep
amount: 1000
created: 2026-01-01
jobs:
  verify: 2026-01-05     # met them twice
zeta: last
"""
WF_WITH_ZETA = None


def write_deal(project, text=DEAL):
    project.workflow.write_text(project.workflow.read_text().replace("  roi: {type: number}\n",
                                                                      "  roi: {type: number}\n  zeta: {type: string}\n"))
    path = project.deals / "D1.yaml"
    path.write_text(text)
    return path


def test_done_adds_one_line_and_keeps_every_other_byte(cli, project):
    path = write_deal(project)
    result = cli("done", "D1", "agenda", "-w", project.workflow, "--at", "2026-01-07", "--by", "bob")
    assert result.exit_code == 0, result.output
    assert path.read_text() == DEAL.replace("  verify: 2026-01-05     # met them twice\n",
                                            "  verify: 2026-01-05     # met them twice\n"
                                            "  agenda: {at: 2026-01-07, by: bob}\n")
    status = json.loads(cli("status", "-w", project.workflow, "--now", "2026-01-08", "--format", "json").stdout)
    assert status["deals"][0]["jobs"]["done"] == ["verify", "agenda"]


def test_done_twice_changes_nothing(cli, project):
    path = write_deal(project)
    cli("done", "D1", "agenda", "-w", project.workflow, "--at", "2026-01-07")
    before = path.read_bytes()
    result = cli("done", "D1", "agenda", "-w", project.workflow, "--at", "2026-01-09")
    assert result.exit_code == 0 and "already recorded" in result.output
    assert path.read_bytes() == before


def test_done_with_unknown_job_suggests_and_exits_2(cli, project):
    path = write_deal(project)
    result = cli("done", "D1", "agendaa", "-w", project.workflow)
    assert result.exit_code == 2
    assert "did you mean 'agenda'" in result.output
    assert path.read_text() == DEAL


def test_done_on_unknown_deal_exits_2(cli, project):
    write_deal(project)
    result = cli("done", "D2", "agenda", "-w", project.workflow)
    assert result.exit_code == 2 and "no deal with id 'D2'" in result.stderr


def test_approve_records_the_approval_and_opens_the_gate(cli, project):
    path = write_deal(project, DEAL.replace("  verify: 2026-01-05     # met them twice\n",
                                            "  verify: 2026-01-05     # met them twice\n  agenda: 2026-01-06\n")
                      + "roi: 2\n")
    result = cli("approve", "D1", "price-approved", "--role", "management", "--by", "carol", "--at", "2026-01-09",
                 "-w", project.workflow)
    assert result.exit_code == 0, result.output
    assert path.read_text().endswith("roi: 2\napprovals:\n  price-approved: {by: carol, role: management, at: 2026-01-09}\n")
    assert "# Fleet telemetry -- keep this comment\n" in path.read_text()
    status = json.loads(cli("status", "-w", project.workflow, "--now", "2026-01-10", "--format", "json").stdout)
    assert status["deals"][0]["outcome"] == "won"


def test_approve_with_the_wrong_role_exits_2_and_writes_nothing(cli, project):
    path = write_deal(project)
    result = cli("approve", "D1", "price-approved", "--role", "sales", "--by", "x", "-w", project.workflow)
    assert result.exit_code == 2 and "needs an approval by 'management'" in result.output
    assert path.read_text() == DEAL


def test_approve_a_gate_without_approval_role_exits_2(cli, project):
    write_deal(project)
    result = cli("approve", "D1", "roi-ok", "--role", "management", "--by", "x", "-w", project.workflow)
    assert result.exit_code == 2 and "takes no approval" in result.output


def test_done_accepts_the_deal_file_path(cli, project):
    path = write_deal(project)
    result = cli("done", str(path), "agenda", "-w", project.workflow, "--at", "2026-01-07")
    assert result.exit_code == 0
    assert "  agenda: 2026-01-07\n" in path.read_text()


def test_done_and_approve_refuse_what_run_refuses_and_change_nothing(cli, project):
    cases = {
        "dup.yaml": "id: D1\ncreated: 2026-01-01\njobs: {verify: 2026-01-02}\njobs: {}\n",
        "schema.yaml": "id: D1\ncreated: 2026-01-01\namount: lots\n",
        "far.yaml": "id: D1\ncreated: 9999-12-31\n",
        "key.yaml": "id: D1\ncreated: 2026-01-01\njobs: {~: 2026-01-02}\n",
    }
    for name, text in cases.items():
        path = project.deals / name
        path.write_text(text)
        for args in (("done", str(path), "agenda"), ("approve", str(path), "price-approved", "--role", "management")):
            result = cli(*args, "-w", project.workflow, "--at", "2026-01-07")
            assert result.exit_code == 2, (name, result.output)
            assert "Traceback" not in result.output
            assert path.read_text() == text
        run = cli("run", str(path), *project.args("--now", "2026-01-07"))
        assert run.exit_code == 1, (name, run.output)
        path.unlink()


def test_done_on_a_file_that_does_not_parse_reports_the_parse_error_with_its_position(cli, project):
    broken = project.deals / "broken.yaml"
    broken.write_text("id: X\nname: [unclosed\n")
    result = cli("done", "X", "verify", "--deals", broken, "-w", project.workflow)
    assert result.exit_code == 2
    assert "broken.yaml:3:1: error: YAML syntax error" in result.output, result.output
