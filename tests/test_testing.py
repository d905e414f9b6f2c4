"""engine/testing.py: the pytest fixtures flowctl ships for plugin authors (the pytest11
entry point `flowctl`): flowctl_project, flowctl_run, flowctl_now, flowctl_store, the capture
channel and captured_notifications, the flowctl_workflow marker and flowctl_plugins."""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
import yaml

from flowctl.hooktypes import DeliveryError, Message
from flowctl.testing import CapturedNotifications, CliOutput, FlowctlNow, FlowctlProject

DEFAULT_OVERLAY = "flowctl: 1\n        name: fixture-test\n        extends: builtin:six-stage"


def test_the_fixtures_are_registered_by_the_pytest11_entry_point(request):
    assert "flowctl.testing" in {ep.value for ep in importlib.metadata.entry_points(group="pytest11")}
    import flowctl.testing

    assert request.config.pluginmanager.get_plugin("flowctl") is flowctl.testing


def test_the_fixtures_work_in_a_fresh_test_suite_without_conftest(tmp_path):
    (tmp_path / "test_mine.py").write_text(textwrap.dedent('''\
        import pytest

        CAPTURE = """
        flowctl: 1
        name: mine
        extends: builtin:six-stage
        channels: {out: {use: capture}}
        notifications: [{on: job_overdue, channel: out}]
        """


        def test_default_project(flowctl_project, flowctl_run):
            flowctl_project.deal("D1")
            assert flowctl_run()["deals"][0]["stage"] == "prospect"


        @pytest.mark.flowctl_workflow(CAPTURE)
        def test_capture(flowctl_project, flowctl_run, flowctl_now, captured_notifications, flowctl_store):
            flowctl_project.deal("D1", owner="ann@example.com")
            flowctl_run()
            flowctl_now.advance("8d")
            flowctl_run()
            assert [m.recipient for m in captured_notifications] == ["ann@example.com"]
            assert flowctl_store.outbox(("sent",))[0].recipient == "ann@example.com"
        '''))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_flowctl_project_and_run_default_to_a_six_stage_overlay(flowctl_project, flowctl_run, flowctl_now):
    assert "extends: builtin:six-stage" in flowctl_project.workflow.read_text()
    flowctl_project.deal("D1", name="First", amount=2500)
    data = flowctl_run()
    assert data.exit_code == 0 and data.stderr == ""
    [deal] = data["deals"]
    assert (deal["id"], deal["stage"], deal["entered_at"]) == ("D1", "prospect", flowctl_now.iso())
    assert [(e["kind"], e["deal"]) for e in data["events"]] == [("stage_entered", "D1")]
    assert flowctl_project.store_path.exists()


def test_flowctl_now_moves_today(flowctl_project, flowctl_run, flowctl_now):
    flowctl_project.deal("D1")  # created today: verify-prospect is due in 7 days
    assert flowctl_run()["summary"]["events"] == {"stage_entered": 1}
    flowctl_now.advance(7)
    assert "job_overdue" not in flowctl_run()["summary"]["events"]
    flowctl_now.advance("1d")
    assert flowctl_run()["summary"]["events"] == {"job_overdue": 1}
    assert flowctl_now.set("2026-03-01").isoformat() == flowctl_now.iso() == "2026-03-01"


def test_flowctl_project_deal_rewrites_are_always_seen(flowctl_project, flowctl_run):
    flowctl_project.deal("D1")
    flowctl_run()
    flowctl_project.deal("D1", jobs={"verify-prospect": "2026-01-05"})
    data = flowctl_run()
    assert data["deals"][0]["jobs"]["done"] == ["verify-prospect"]


def test_flowctl_store_opens_the_projects_store(flowctl_project, flowctl_run, flowctl_store):
    flowctl_project.deal("D1")
    flowctl_project.deal("D2", jobs={"verify-prospect": "2026-01-05"})
    flowctl_run()
    records = flowctl_store.deals()
    assert {d: r.stage for d, r in records.items()} == {"D1": "prospect", "D2": "qualified"}
    assert [t.to_stage for t in flowctl_store.transitions("D2")] == ["qualified"]
    assert len(flowctl_store.runs()) == 1


def test_flowctl_run_expect_and_invoke(flowctl_project, flowctl_run):
    (flowctl_project.deals / "bad.yaml").write_text("id: BAD\namount: lots\n")
    data = flowctl_run(expect=1)
    assert data.exit_code == 1 and "bad.yaml" in data["deals"][0]["file"]
    with pytest.raises(AssertionError, match="exited 1, expected 0"):
        flowctl_run()
    status = flowctl_run.invoke("status", "-w", flowctl_project.workflow, "--store", flowctl_project.store_url,
                                "--format", "json")
    assert status.exit_code == 1  # the bad deal, again
    assert "BAD" in {d["id"] for d in json.loads(status.stdout)["deals"]}


CAPTURE_WORKFLOW = """\
flowctl: 1
name: capture-test
extends: builtin:six-stage
channels:
  out: {use: capture}
notifications:
  - {on: stage_entered, channel: out, subject: "{{ deal.name }} is in {{ stage_name }}"}
"""


@pytest.mark.flowctl_workflow(CAPTURE_WORKFLOW)
def test_captured_notifications_and_the_outbox(flowctl_project, flowctl_run, captured_notifications, flowctl_store):
    flowctl_project.deal("D1", name="Fleet {{ 7*7 }}", owner="ann@example.com")
    captured_notifications.fail = "receiver down"
    data = flowctl_run()
    assert data["summary"]["delivery_failed"] == 1 and len(captured_notifications) == 0
    [kept] = flowctl_store.outbox(("failed",))
    assert (kept.attempts, kept.last_error) == (1, "receiver down")
    captured_notifications.fail = None
    flowctl_run()
    flowctl_run()
    assert captured_notifications.subjects == ["Fleet {{ 7*7 }} is in Prospect"]
    [message] = captured_notifications.to("ann@example.com")
    assert message.channel == "out" and message.payload["deal"]["id"] == "D1"
    assert captured_notifications.configs == [{"use": "capture"}]
    assert captured_notifications.attempts == 2


@pytest.mark.flowctl_workflow(CAPTURE_WORKFLOW)
def test_the_capture_channel_exists_only_with_its_fixture(flowctl_project, flowctl_run):
    flowctl_project.deal("D1")
    data = flowctl_run(expect=2)
    assert "no plugin provides the channel type 'capture'" in data.stderr


class TestAPluginNotInstalledYet:
    """Override `flowctl_plugins` to load a plugin module with --plugin."""

    @pytest.fixture
    def flowctl_plugins(self) -> list[str]:
        return ["fixture_plugins.flaky_action"]

    @pytest.mark.flowctl_workflow(f"""\
        {DEFAULT_OVERLAY}
        stages:
          - id: prospect
            jobs:
              - {{id: auto, uses: flaky}}
        """)
    def test_it_runs(self, flowctl_project, flowctl_run, monkeypatch, tmp_path):
        monkeypatch.setenv("FLAKY_LOG", str(tmp_path / "log"))
        flowctl_project.deal("D1")
        data = flowctl_run()
        assert data["summary"]["actions_ok"] == 1
        assert (tmp_path / "log").read_text() == "D1 auto\n"


# --------------------------------------------------------------------------- the parts, in process

@pytest.mark.parametrize("step,day", [((), "2026-01-06"), ((3,), "2026-01-08"), (("2w",), "2026-01-19"),
                                      ((" 10d ",), "2026-01-15"), ((0,), "2026-01-05"), ((-5,), "2025-12-31"),
                                      (("0d",), "2026-01-05")])
def test_flowctl_now_advances_by_days_or_weeks(step: tuple, day: str) -> None:
    now = FlowctlNow()
    assert now.advance(*step).isoformat() == day == now.iso() == str(now)


def test_flowctl_now_advances_by_weeks_and_days_together() -> None:
    assert FlowctlNow(dt.date(2026, 2, 27)).advance(2, weeks=1).isoformat() == "2026-03-08"


@pytest.mark.parametrize("duration", ["3", "3 days", "2m", "-1d", "1.5w", "", "d"])
def test_flowctl_now_refuses_a_duration_it_cannot_read(duration: str) -> None:
    with pytest.raises(ValueError, match=f"expected a duration like 3d or 2w, not {duration!r}"):
        FlowctlNow().advance(duration)


@pytest.mark.parametrize("value", ["2026-13-01", "tomorrow", "01.02.2026"])
def test_flowctl_now_refuses_a_date_it_cannot_read(value: str) -> None:
    with pytest.raises(ValueError):
        FlowctlNow().set(value)


@pytest.mark.parametrize("deal_id,name", [("ACME-1", "ACME-1.yaml"), ("A/B", "A_B.yaml"), ("../../x", "x.yaml"),
                                          ("..", "deal.yaml"), ("ü ñ", "deal.yaml"), ("a b.c", "a_b.c.yaml")])
def test_a_deal_file_stays_in_deals_whatever_its_id(tmp_path: Path, deal_id: str, name: str) -> None:
    project = FlowctlProject(tmp_path, FlowctlNow())
    path = project.deal(deal_id, amount=5, closed_at=dt.date(2026, 2, 1))
    assert path == project.deals / name
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == {
        "id": deal_id, "owner": "rep@example.com", "amount": 5, "currency": "EUR", "created": dt.date(2026, 1, 5),
        "closed_at": dt.date(2026, 2, 1)}


def test_a_file_rewritten_the_same_size_in_the_same_instant_still_looks_changed(tmp_path: Path) -> None:
    project = FlowctlProject(tmp_path, FlowctlNow())
    first = project.deal("D1", stage="a").stat()
    os.utime(project.deals / "D1.yaml", ns=(first.st_atime_ns, first.st_mtime_ns))
    second = project.deal("D1", stage="b").stat()  # same size; a coarse clock may give the same mtime
    assert (second.st_size, second.st_mtime_ns) != (first.st_size, first.st_mtime_ns)


def test_templates_and_other_files_are_written_dedented_in_the_project(tmp_path: Path) -> None:
    project = FlowctlProject(tmp_path, FlowctlNow(), workflow="""\
        flowctl: 1
        name: t
        """)
    assert project.workflow.read_text() == "flowctl: 1\nname: t\n"
    assert project.template("mine.txt.j2", "    Hello\n    {{ deal.id }}\n").read_text() == "Hello\n{{ deal.id }}\n"
    assert project.file("sub/notes.txt", "  kept as is\n").read_text() == "  kept as is\n"
    assert project.store_url == f"sqlite:///{tmp_path}/.flowctl/state.db"


def test_captured_notifications_by_recipient_and_channel() -> None:
    captured = CapturedNotifications()
    for channel, recipient, subject in (("a", "x@example.com", "one"), ("b", "y@example.com", "two"),
                                        ("a", None, "three")):
        captured.send({"use": "capture"}, Message(subject, channel, recipient, subject, "", {}))
    assert (len(captured), captured.subjects, captured[1].subject) == (3, ["one", "two", "three"], "two")
    assert [m.subject for m in captured.to("x@example.com")] == ["one"]
    assert [m.subject for m in captured.on("a")] == ["one", "three"]
    captured.fail = "down"
    with pytest.raises(DeliveryError, match="^down$"):
        captured.send({}, Message("k", "a", None, "s", "", {}))
    assert (captured.attempts, len(captured)) == (4, 3)
    captured.clear()
    assert (list(captured), captured.configs) == ([], [])
    assert CapturedNotifications().module_name != captured.module_name  # one plugin module per test


@pytest.mark.parametrize("stdout,data,error", [('{"a": 1}', {"a": 1}, None), ("[1, 2]", {"value": [1, 2]}, None),
                                               ("", {}, None), ("  \n", {}, None), ("not json", {}, "Expecting value")])
def test_cli_output_is_the_json_document_or_says_why_not(stdout: str, data: dict, error: str | None) -> None:
    result = types.SimpleNamespace(exit_code=3, stdout=stdout, stderr="e")
    output = CliOutput(result)  # type: ignore[arg-type]
    assert (dict(output), output.exit_code, output.stderr) == (data, 3, "e")
    assert (output.json_error or "").startswith(error or "") and (output.json_error is None) == (error is None)
