"""action.yml, the composite GitHub Action: its declaration, and its script run by bash
as GitHub's runner runs it (inputs as the step's env, $GITHUB_STEP_SUMMARY a file), with
the flowctl of this checkout on PATH."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flowctl.testing import invoke_cli as invoke

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")


def run_step(cwd: Path, summary: Path, **inputs: str) -> subprocess.CompletedProcess:
    """The action's flowctl step, its `${{ inputs.x }}` replaced as the runner would."""
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()} | inputs
    step = ACTION["runs"]["steps"][-1]
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.update({k: EXPRESSION.sub(lambda m: values[m.group(1)], v) for k, v in step["env"].items()})
    return subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def repo(tmp_path) -> Path:
    folder = tmp_path / "sales"
    assert invoke("init", folder).exit_code == 0
    return folder


def test_the_action_is_composite_with_documented_inputs():
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) == {"command", "workflow", "deals", "store", "now", "against", "strict", "python-version"}
    assert all(spec.get("description") for spec in ACTION["inputs"].values())
    steps = ACTION["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert '"$GITHUB_ACTION_PATH"' in steps[1]["run"]  # flowctl from the action's own ref
    assert all(step.get("shell") == "bash" for step in steps[1:])
    # Inputs reach the script through env only: never pasted into the script's text.
    assert not EXPRESSION.search(steps[-1]["run"])


def test_check_annotates_and_summarises(repo, tmp_path):
    summary = tmp_path / "summary.md"
    done = run_step(repo, summary, deals="deals/ deals-to-fix/", now="2026-11-23")
    assert done.returncode == 2, done.stderr
    # A misspelt job is a warning; the action validates --strict (the CI mode) unless told `strict: false`.
    assert done.stdout.splitlines()[0].startswith("::warning file=deals-to-fix/ACME-2026-099.yaml,line=14,col=3::")
    text = summary.read_text("utf-8")
    assert text.startswith("## flowctl run --dry-run: acme-sales, 2026-11-23") and "### Who moves" in text
    assert not (repo / ".flowctl").exists()  # nothing recorded by a check


def test_check_without_strict_passes_warnings(repo, tmp_path):
    done = run_step(repo, tmp_path / "summary.md", deals="deals/ deals-to-fix/", now="2026-11-23", strict="false")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0].startswith("::warning file=deals-to-fix/ACME-2026-099.yaml")


def test_check_passes_a_good_repository(repo, tmp_path):
    done = run_step(repo, tmp_path / "summary.md", now="2026-11-23")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "::error" not in done.stdout


def test_run_summarises_then_records(repo, tmp_path):
    summary = tmp_path / "summary.md"
    done = run_step(repo, summary, command="run", now="2026-11-23", store=f"sqlite:///{tmp_path / 'state.db'}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "### Forecast before and after" in summary.read_text("utf-8")
    assert (tmp_path / "state.db").exists()
    again = run_step(repo, summary, command="plan", now="2026-11-23", store=f"sqlite:///{tmp_path / 'state.db'}")
    assert again.returncode == 0 and "Before (the store's last run)" in summary.read_text("utf-8")


def test_an_unknown_command_is_an_annotation(repo, tmp_path):
    done = run_step(repo, tmp_path / "summary.md", command="deploy")
    assert done.returncode == 2 and done.stdout.startswith("::error::unknown command 'deploy'")


def test_inputs_with_shell_characters_stay_arguments(repo, tmp_path):
    done = run_step(repo, tmp_path / "summary.md", command="validate", workflow="workflow.yaml; touch pwned")
    assert done.returncode == 2 and not (repo / "pwned").exists()


def test_impact_summarises_a_workflow_change(repo, tmp_path):
    before = tmp_path / "before.yaml"
    before.write_text((repo / "workflow.yaml").read_text("utf-8"), "utf-8")
    summary = tmp_path / "summary.md"
    done = run_step(repo, summary, command="impact", against=str(before), now="2026-11-23")
    assert done.returncode == 0, done.stdout + done.stderr
    text = summary.read_text("utf-8")
    assert text.startswith("## flowctl impact: `workflow.yaml` against `") and "No deal changes stage." in text
    checked = run_step(repo, tmp_path / "checked.md", against=str(before), now="2026-11-23")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    both = (tmp_path / "checked.md").read_text("utf-8")
    assert "## flowctl run --dry-run:" in both and "## flowctl impact:" in both


def test_impact_without_against_is_an_annotation(repo, tmp_path):
    done = run_step(repo, tmp_path / "summary.md", command="impact")
    assert done.returncode == 2 and done.stdout.startswith("::error::impact needs the input 'against'")
