"""`flowctl run`: events, idempotency, time, dry runs and plans, bad deals, actions."""
from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import WORKFLOW, Project

DONE_PROSPECT = "jobs: {verify: 2026-01-05}\n"


def run_json(cli, project: Project, *args: str):
    result = cli("run", str(project.deals), *project.args("--format", "json", *args))
    return result, json.loads(result.stdout)


def test_run_reports_every_deal_with_the_spec_keys(cli, project):
    project.deal("D1")
    project.deal("D2", DONE_PROSPECT)
    result, data = run_json(cli, project, "--now", "2026-01-03")
    assert result.exit_code == 0
    deal = {d["id"]: d for d in data["deals"]}
    assert set(deal["D1"]) >= {"id", "file", "stage", "outcome", "entered_at", "jobs", "gates", "errors"}
    assert set(deal["D1"]["jobs"]) >= {"done", "pending", "overdue"}
    assert (deal["D1"]["stage"], deal["D2"]["stage"]) == ("prospect", "qualified")
    assert deal["D2"]["entered_at"] == "2026-01-05"
    kinds = sorted((e["kind"], e["deal"]) for e in data["events"])
    assert kinds == [("stage_entered", "D1"), ("stage_entered", "D2")]
    assert all(set(e) >= {"kind", "deal", "stage", "at"} for e in data["events"])
    assert data["summary"]["deals"] == 2


def test_second_run_with_no_change_raises_nothing(cli, project):
    project.deal("D1")
    first = run_json(cli, project, "--now", "2026-01-20")[1]
    assert {e["kind"] for e in first["events"]} >= {"stage_entered", "job_overdue", "deal_stuck"}
    second = run_json(cli, project, "--now", "2026-01-20")[1]
    assert second["events"] == []
    assert second["summary"]["notifications_queued"] == 0
    assert second["summary"]["unchanged"] == 1


def test_moving_now_forward_raises_job_overdue_once(cli, project):
    project.deal("D1", "activities: [{at: 2026-01-08, kind: call}]\n")
    before = run_json(cli, project, "--now", "2026-01-05")[1]
    assert "job_overdue" not in {e["kind"] for e in before["events"]}
    late = run_json(cli, project, "--now", "2026-01-09")[1]
    assert [e["kind"] for e in late["events"]] == ["job_overdue"]  # verify was due 2026-01-08
    later = run_json(cli, project, "--now", "2026-01-10")[1]
    assert "job_overdue" not in {e["kind"] for e in later["events"]}


def test_removing_a_fact_regresses_the_deal(cli, project):
    path = project.deal("D1", DONE_PROSPECT + "activities: [{at: 2026-01-06}]\n")
    run_json(cli, project, "--now", "2026-01-06")
    path.write_text(path.read_text().replace(DONE_PROSPECT, ""))
    data = run_json(cli, project, "--now", "2026-01-07")[1]
    assert [(e["kind"], e["stage"]) for e in data["events"]] == [("stage_regressed", "prospect")]


def test_won_and_lost_deals_raise_their_events_once(cli, project):
    project.deal("W", "outcome: won\nclosed_at: 2026-01-10\n")
    project.deal("L", "outcome: lost\nclosed_at: 2026-01-11\n")
    data = run_json(cli, project, "--now", "2026-01-12")[1]
    kinds = {(e["kind"], e["deal"]) for e in data["events"]}
    assert {("deal_won", "W"), ("deal_lost", "L")} <= kinds
    assert run_json(cli, project, "--now", "2026-01-12")[1]["events"] == []


def test_dry_run_changes_nothing_not_even_the_store(cli, project):
    project.deal("D1")
    result = cli("run", project.deals, *project.args("--now", "2026-01-20", "--dry-run"))
    assert result.exit_code == 0
    assert "DRY RUN" in result.stdout
    assert "event   job_overdue D1" in result.stdout
    assert not (project.root / "state.db").exists()
    run_json(cli, project, "--now", "2026-01-02")
    db = (project.root / "state.db").read_bytes()
    again = cli("run", project.deals, *project.args("--now", "2026-01-20", "--dry-run"))
    assert "skip" in again.stdout or "event" in again.stdout
    assert (project.root / "state.db").read_bytes() == db


def test_saved_plan_applies_exactly_and_refuses_after_a_change(cli, project, tmp_path):
    path = project.deal("D1")
    plan = tmp_path / "plan.json"
    dry = cli("run", project.deals, *project.args("--now", "2026-01-20", "--dry-run", "--save-plan", plan))
    assert dry.exit_code == 0 and plan.exists()
    applied = cli("run", "--plan", plan, "--format", "json")
    assert applied.exit_code == 0, applied.output
    planned = json.loads(plan.read_text())["events"]
    assert sorted(e["key"] for e in json.loads(applied.stdout)["events"]) == planned
    # a second plan, then the deal file changes: applying must refuse
    cli("run", project.deals, *project.args("--now", "2026-01-21", "--dry-run", "--save-plan", plan))
    path.write_text(path.read_text() + "notes: changed\n")
    refused = cli("run", "--plan", plan)
    assert refused.exit_code == 2
    assert "D1.yaml changed" in refused.stderr


PLAN_DAMAGE = [("drop", key) for key in ("workflow", "workflow_digest", "deals", "now", "files", "transitions",
                                          "actions", "events", "notifications")] + [
    ("set", ("workflow", 3)), ("set", ("deals", "deals/")), ("set", ("deals", [1, 2])), ("set", ("now", "soon")),
    ("set", ("files", [])), ("set", ("events", {})), ("set", ("store", ["sqlite:///x.db"])), ("set", ("version", 99))]


@pytest.mark.parametrize("how, what", PLAN_DAMAGE, ids=lambda v: str(v))
def test_a_malformed_plan_is_refused_with_a_message_and_creates_no_store(cli, project, tmp_path, how, what):
    project.deal("D1")
    plan = tmp_path / "plan.json"
    assert cli("run", project.deals, *project.args("--now", "2026-01-20", "--dry-run", "--save-plan", plan)).exit_code == 0
    data = json.loads(plan.read_text())
    if how == "drop":
        del data[what]
    else:
        data[what[0]] = what[1]
    plan.write_text(json.dumps(data))
    refused = cli("run", "--plan", plan)
    assert refused.exit_code == 2, refused.output
    assert f"{plan}: error: not a flowctl plan" in refused.stderr and "Traceback" not in refused.output
    assert not (project.root / "state.db").exists()


def test_bad_deal_is_reported_others_processed_and_store_untouched(cli, project):
    project.deal("GOOD")
    bad = project.deals / "bad.yaml"
    bad.write_text("id: BAD\namount: lots\n")
    result, data = run_json(cli, project, "--now", "2026-01-02")
    assert result.exit_code == 1
    by_id = {d["id"]: d for d in data["deals"]}
    assert by_id["GOOD"]["stage"] == "prospect"
    assert by_id["BAD"]["stage"] is None
    assert "bad.yaml:2:9: error: expected number or null, got string 'lots'" in by_id["BAD"]["errors"][0]
    con = sqlite3.connect(project.root / "state.db")
    ids = {row[0] for row in con.execute("select deal_id from deals")}
    assert ids == {"GOOD"}


def test_text_output_names_the_bad_file_line_and_column(cli, project):
    (project.deals / "broken.yaml").write_text("id: X\njobs: [\n")
    result = cli("run", project.deals, *project.args("--now", "2026-01-02"))
    assert result.exit_code == 1
    assert "broken.yaml:3:1: error: YAML syntax error" in result.stderr
    assert "Traceback" not in result.output


def with_auto_job(spec: str) -> str:
    """The test workflow with one more job in its first stage, after `meet`."""
    meet = "      - {id: meet, required: false}\n"
    return WORKFLOW.replace(meet, meet + f"      - {spec}\n")


FLAKY = with_auto_job("{id: auto, uses: flaky, retry: {attempts: 3, backoff: 1ms}}")


def test_action_is_retried_recorded_and_not_repeated(cli, tmp_path, monkeypatch):
    project = Project(tmp_path, FLAKY)
    project.deal("D1", DONE_PROSPECT)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FLAKY_LOG", str(log))
    monkeypatch.setenv("FLAKY_FAILS", "2")
    result = cli("--plugin", "fixture_plugins.flaky_action", "run", project.deals,
                 *project.args("--now", "2026-01-06", "--format", "json"))
    data = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert len(log.read_text().splitlines()) == 3  # two failures, then success
    assert data["deals"][0]["stage"] == "qualified"  # auto is done by its action
    [action] = data["actions"]  # with the output the plugin returned, as docs/plugins.md says
    assert {k: action[k] for k in ("deal", "job", "action", "ok", "attempts", "error")} == {
        "deal": "D1", "job": "auto", "action": "flaky", "ok": True, "attempts": 3, "error": None}
    assert action["output"] == {"calls": 3}
    (project.deals / "D1.yaml").touch()  # force a re-read: the action must still not run again
    cli("--plugin", "fixture_plugins.flaky_action", "run", project.deals, *project.args("--now", "2026-01-07"))
    assert len(log.read_text().splitlines()) == 3


def test_failed_action_is_an_error_and_is_tried_again_next_run(cli, tmp_path, monkeypatch):
    project = Project(tmp_path, FLAKY)
    project.deal("D1", DONE_PROSPECT)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FLAKY_LOG", str(log))
    monkeypatch.setenv("FLAKY_FAILS", "3")
    first = cli("--plugin", "fixture_plugins.flaky_action", "run", project.deals, *project.args("--now", "2026-01-06"))
    assert first.exit_code == 1
    assert len(log.read_text().splitlines()) == 3
    second = cli("--plugin", "fixture_plugins.flaky_action", "run", project.deals, *project.args("--now", "2026-01-06"))
    assert second.exit_code == 0
    assert len(log.read_text().splitlines()) == 4


def test_a_plugin_raising_in_a_hook_is_named_and_the_run_exits_1(cli, project):
    project.deal("D1")
    result = cli("--plugin", "fixture_plugins.raising_plugin", "run", project.deals, *project.args("--now", "2026-01-02"))
    assert result.exit_code == 1
    assert "fixture_plugins.raising_plugin" in result.stderr and "boom in run_finished" in result.stderr
    con = sqlite3.connect(project.root / "state.db")
    assert con.execute("select count(*) from deals").fetchone()[0] == 1


def test_transitions_are_recorded_in_the_store(cli, project):
    path = project.deal("D1")
    run_json(cli, project, "--now", "2026-01-02")
    path.write_text(path.read_text() + DONE_PROSPECT)
    run_json(cli, project, "--now", "2026-01-06")
    con = sqlite3.connect(project.root / "state.db")
    rows = con.execute("select from_stage, to_stage from transitions order by rowid").fetchall()
    assert rows == [(None, "prospect"), ("prospect", "qualified")]


def test_deals_list_files_and_folders_recursively(cli, project):
    sub = project.deals / "emea"
    sub.mkdir()
    (sub / "many.yaml").write_text("deals:\n  - {id: A, created: 2026-01-01}\n  - {id: B, created: 2026-01-01}\n")
    project.deal("C")
    data = run_json(cli, project, "--now", "2026-01-02")[1]
    assert sorted(d["id"] for d in data["deals"]) == ["A", "B", "C"]


def test_duplicate_deal_ids_are_errors(cli, project):
    project.deal("D1")
    project.deal("D1", name="copy.yaml")
    result, data = run_json(cli, project, "--now", "2026-01-02")
    assert result.exit_code == 1
    assert any("duplicate deal id 'D1'" in e for d in data["deals"] for e in d["errors"])


@pytest.mark.parametrize("args,message", [
    (("--plan", "missing.json"), "does not exist"),
    (("--save-plan", "x.json"), "--save-plan goes with --dry-run"),
])
def test_run_usage_errors_exit_2(cli, project, args, message):
    project.deal("D1")
    result = cli("run", project.deals, *project.args(*args))
    assert result.exit_code == 2 and message in result.output


TARGETED = WORKFLOW + """\
metrics:
  - {id: qualified-share, kind: conversion, from: prospect, to: qualified, target: ">= 0.5"}
channels:
  console: {use: console}
notifications:
  - {on: metric_alert, channel: console, to: ops@example.com}
"""


def test_a_metric_off_target_raises_one_alert_a_day_with_a_notification(cli, tmp_path):
    project = Project(tmp_path, TARGETED)
    project.deal("A")
    project.deal("B")
    project.deal("C", DONE_PROSPECT)  # 1 of 3 reached qualified: 0.33 < 0.5
    result, data = run_json(cli, project, "--now", "2026-01-06")
    alerts = [e for e in data["events"] if e["kind"] == "metric_alert"]
    assert len(alerts) == 1 and alerts[0]["deal"] is None
    assert alerts[0]["data"]["metric"] == "qualified-share" and alerts[0]["data"]["target"] == ">= 0.5"
    assert data["summary"]["notifications_queued"] >= 1
    again = run_json(cli, project, "--now", "2026-01-06")[1]
    assert [e for e in again["events"] if e["kind"] == "metric_alert"] == []  # unchanged files, same day
    next_day = run_json(cli, project, "--now", "2026-01-07")[1]
    assert [e["kind"] for e in next_day["events"]].count("metric_alert") == 1
    (project.deals / "B.yaml").write_text((project.deals / "B.yaml").read_text() + DONE_PROSPECT)
    on_target = run_json(cli, project, "--now", "2026-01-08")[1]  # 2 of 3: 0.67
    assert [e for e in on_target["events"] if e["kind"] == "metric_alert"] == []


DIGEST = WORKFLOW + """\
channels:
  console: {use: console}
notifications:
  - {on: job_overdue, channel: console, digest: true, subject: "{{ count }} late"}
"""


def test_digest_parts_left_by_a_crashed_run_are_sent_by_the_next(cli, tmp_path):
    import datetime as dt

    from flowctl.plugin_manager import Plugins
    from flowctl.store import Batch, OutboxItem
    project = Project(tmp_path, DIGEST)
    project.deal("A")
    project.deal("B")
    first = cli("run", project.deals, *project.args("--now", "2026-01-20"))
    assert "[console] to bob@example.com: 2 late" in first.stderr  # one message for both deals
    store = Plugins(load_entry_points=False).open_store(f"sqlite:///{project.root / 'state.db'}")
    try:  # what a run killed between recording an event and digesting it leaves behind
        part = OutboxItem("X:job_overdue|0|console|bob@example.com", "console", "bob@example.com", "", "",
                          {"rule": 0, "event": {"kind": "job_overdue"}, "deal": {"id": "X"}, "stage_name": "prospect",
                           "job": None}, status="digest", created_at=dt.date(2026, 1, 20))
        store.write(Batch(store.start_run(dt.date(2026, 1, 20), "wf", "d", []), outbox=[part]))
    finally:
        store.close()
    second = cli("run", project.deals, *project.args("--now", "2026-01-20"))
    assert "[console] to bob@example.com: 1 late" in second.stderr
    third = cli("run", project.deals, *project.args("--now", "2026-01-20"))
    assert "late" not in third.stderr


def test_deleted_deal_files_are_forgotten_and_renamed_ones_kept(cli, project):
    project.deal("GONE")
    moved = project.deal("MOVED")
    project.deal("STAYS")
    run_json(cli, project, "--now", "2026-01-02")
    (project.deals / "GONE.yaml").unlink()
    moved.rename(project.deals / "renamed.yaml")
    data = run_json(cli, project, "--now", "2026-01-02")[1]
    assert sorted(d["id"] for d in data["deals"]) == ["MOVED", "STAYS"]
    con = sqlite3.connect(project.root / "state.db")
    assert sorted(r[0] for r in con.execute("select deal_id from deals")) == ["MOVED", "STAYS"]
    assert sorted(r[0].rsplit("/", 1)[-1] for r in con.execute("select path from files")) == ["STAYS.yaml", "renamed.yaml"]
    assert con.execute("select count(*) from transitions where deal_id = 'GONE'").fetchone()[0] == 1  # history stays


def test_progress_shows_on_a_terminal_and_not_when_piped(project):
    import os
    import pty
    import subprocess
    import sys
    for i in range(250):
        project.deal(f"P{i:03d}")
    cmd = [sys.executable, "-m", "flowctl", "run", str(project.deals), *project.args("--now", "2026-01-02")]
    piped = subprocess.run(cmd, capture_output=True, text=True)
    assert piped.returncode == 0 and "%" not in piped.stderr
    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=child_fd, stdout=child_fd, stderr=child_fd)
    os.close(child_fd)
    out = b""
    while True:
        try:
            data = os.read(main_fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    proc.wait(timeout=60)
    os.close(main_fd)
    assert proc.returncode == 0
    assert b"deals" in out and b"100%" in out


COUNTED = with_auto_job("{id: auto, uses: count}")


def test_an_action_gets_a_stable_idempotency_key(cli, tmp_path, monkeypatch):
    project = Project(tmp_path, COUNTED)
    project.deal("D1", DONE_PROSPECT)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("COUNT_LOG", str(log))
    cli("--plugin", "fixture_plugins.counting_action", "run", project.deals, *project.args("--now", "2026-01-06"))
    assert log.read_text().splitlines() == ["D1 auto D1|auto|2026-01-06"]


def test_a_failing_action_is_tried_once_per_run_when_another_job_succeeds(cli, tmp_path, monkeypatch):
    project = Project(tmp_path, COUNTED.replace("      - {id: auto, uses: count}\n",
                                                "      - {id: auto, uses: count}\n"
                                                "      - {id: bad, uses: refuse}\n"))
    project.deal("D1", DONE_PROSPECT)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("COUNT_LOG", str(log))
    result = cli("--plugin", "fixture_plugins.counting_action", "run", project.deals, *project.args("--now", "2026-01-06"))
    assert result.exit_code == 1
    assert sorted(line.split()[1] for line in log.read_text().splitlines()) == ["auto", "bad"]
    cli("--plugin", "fixture_plugins.counting_action", "run", project.deals, *project.args("--now", "2026-01-07"))
    assert sorted(line.split()[1] for line in log.read_text().splitlines()) == ["auto", "bad", "bad"]  # next run: again


def test_a_crash_repeats_only_the_action_in_flight(tmp_path):
    """A real process killed by SIGKILL inside the third of five actions of one batch: the
    next run repeats that one action, not the two journaled before it."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    project = Project(tmp_path, COUNTED)
    for i in range(5):
        project.deal(f"D{i}", DONE_PROSPECT)
    log = tmp_path / "calls.log"
    env = {**os.environ, "COUNT_LOG": str(log), "COUNT_DIE_AT": "3",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "flowctl", "--plugin", "fixture_plugins.counting_action", "run", str(project.deals),
           *project.args("--now", "2026-01-06")]
    killed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    env["COUNT_DIE_AT"] = ""
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    calls = [line.split()[0] for line in log.read_text().splitlines()]
    assert sorted(set(calls)) == [f"D{i}" for i in range(5)]  # none lost
    assert len(calls) == 6 and calls.count(calls[2]) == 2  # only the one in flight, once more


def test_run_text_shows_unsupported_stage_claims(cli, project):
    project.deal("H", "stage: proposed\n")
    result = cli("run", str(project.deals), *project.args("--now", "2026-01-02"))
    assert result.exit_code == 0
    assert "claim    H claims proposed; the facts say prospect: missing jobs verify, agenda" in result.stdout


def test_run_text_names_the_metric_of_an_alert_never_none(cli, tmp_path):
    project = Project(tmp_path, TARGETED)
    project.deal("A")
    result = cli("run", str(project.deals), *project.args("--now", "2026-01-06"))
    line = next(x for x in result.stdout.splitlines() if x.startswith("metric_alert"))
    assert "None" not in line and "qualified-share = 0.0 (target >= 0.5)" in line


def test_a_message_carries_the_workflow_currency_when_the_deal_gives_none(cli, tmp_path):
    project = Project(tmp_path, WORKFLOW + "channels:\n  console: {use: console}\n"
                      "notifications:\n  - {on: stage_entered, channel: console, to: ops@example.com}\n")
    project.deal("A")  # amount 1000, no currency; the workflow's is EUR
    result = cli("run", str(project.deals), *project.args("--now", "2026-01-02"))
    assert result.exit_code == 0
    amount = [line for line in result.output.splitlines() if "Amount:" in line]
    assert amount and all(line.rstrip().endswith("EUR") for line in amount), result.output
