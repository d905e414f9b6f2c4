"""flowctl.batch_step: one batch of deals recorded in one transaction, each deal behind
the safety net — whatever no check foresaw, in any step of one deal (evaluate, act, diff,
record), fails that deal alone (exit 1, an error naming its file), every other deal is
recorded, and the journal ends `failed`, never stays `running`."""
from __future__ import annotations

import json

import pytest

from conftest import Project


class Unforeseen(Exception):
    """An exception class no part of flowctl knows."""


EXCEPTIONS = [OverflowError("date value out of range"), KeyError("stage"), RecursionError("too deep"),
              ZeroDivisionError("division by zero"), RuntimeError("plugin state"), Unforeseen("odd")]
# Each step of one deal, by the name the step's module calls (patched there).
STEPS = {"evaluate": ("flowctl.batch_step", "evaluate"), "act": ("flowctl.acting", "due_actions"),
         "diff": ("flowctl.batch_step", "new_events"), "record": ("flowctl.batch_step", "record_of")}


def fail_for(monkeypatch, step: str, exc: Exception, bad: str = "BAD") -> None:
    module, name = STEPS[step]
    target = __import__(module, fromlist=[name])
    real = getattr(target, name)

    def flaky(*args, **kwargs):
        deal_ids = {getattr(a, "id", None) for a in args} | {a.get("id") for a in args if isinstance(a, dict)}
        if bad in deal_ids:
            raise exc
        return real(*args, **kwargs)
    monkeypatch.setattr(target, name, flaky)


def runs(cli, project: Project) -> list[dict]:
    return json.loads(cli("runs", *project.args("--format", "json")).stdout)["runs"]


def run(cli, project: Project, *extra: str):
    result = cli("run", str(project.deals), *project.args("--now", "2026-01-03", "--format", "json", *extra))
    return result, json.loads(result.stdout)


@pytest.mark.parametrize("exc", EXCEPTIONS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_deal_failing_in_any_step_fails_alone(cli, project, monkeypatch, step, exc):
    for deal_id in ("GOOD-1", "BAD", "GOOD-2"):
        project.deal(deal_id)
    fail_for(monkeypatch, step, exc)
    result, data = run(cli, project)
    assert result.exit_code == 1, result.output
    errors = [d for d in data["diagnostics"] if d["severity"] == "error"]
    assert len(errors) == 1 and errors[0]["file"].endswith("BAD.yaml")
    assert f"{type(exc).__name__}: " in errors[0]["message"]
    by_id = {d["id"]: d for d in data["deals"]}
    assert by_id["BAD"]["errors"] and by_id["BAD"]["stage"] is None
    assert by_id["GOOD-1"]["stage"] == by_id["GOOD-2"]["stage"] == "prospect"
    assert data["summary"]["deals"] == 2 and data["summary"]["errors"] == 1
    (journal,) = runs(cli, project)
    assert journal["status"] == "failed" and journal["finished_at"] and journal["errors"] == 1
    monkeypatch.undo()
    # The good deals were recorded; the failed one is read again next time, and now passes.
    again, data = run(cli, project)
    assert again.exit_code == 0 and data["summary"]["unchanged"] == 2 and data["summary"]["deals"] == 3


def test_the_net_holds_with_jobs(cli, project, monkeypatch):
    for i in range(12):
        project.deal(f"GOOD-{i}")
    project.deal("BAD")
    fail_for(monkeypatch, "evaluate", OverflowError("date value out of range"))
    result, data = run(cli, project, "--jobs", "2")
    assert result.exit_code == 1 and data["summary"]["deals"] == 12 and data["summary"]["errors"] == 1
    assert runs(cli, project)[0]["status"] == "failed"


def test_a_failing_store_still_fails_the_run(cli, project, monkeypatch):
    """The net is for one deal's surprises: a store that fails is every deal's problem."""
    from flowctl.store import StoreError
    project.deal("D1")
    fail_for(monkeypatch, "record", StoreError("disk full"), bad="D1")
    result = cli("run", str(project.deals), *project.args("--now", "2026-01-03"))
    assert result.exit_code == 2 and "disk full" in result.output and "cannot evaluate" not in result.output
    monkeypatch.undo()
    assert runs(cli, project)[0]["status"] == "failed"
