"""`flowctl init`: a scaffold that validates, with example deals over the stages and one
planted mistake that `validate` explains."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flowctl.compiled import CompiledWorkflow
from flowctl.deals import find_files, read_deals
from flowctl.plugin_manager import Plugins
from flowctl.workflow import load_workflow

from flowctl.testing import invoke_cli as invoke  # noqa: E402

FLOWCTL = shutil.which("flowctl")
NOW = dt.date(2026, 11, 24)  # the example deals are dated around this day


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("init") / "acme"
    result = invoke("init", str(target))
    assert result.exit_code == 0, result.output
    return target


def deal_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml", ".json"))


def test_scaffold_has_every_part(scaffold):
    assert (scaffold / "workflow.yaml").is_file()
    assert (scaffold / "README.md").is_file()
    assert len(deal_files(scaffold / "deals")) >= 8
    assert len(deal_files(scaffold / "deals-to-fix")) == 1
    templates = list((scaffold / "templates").iterdir())
    assert templates and all(t.name.endswith(".j2") for t in templates)
    assert not list(scaffold.rglob("__init__.py")) and not list(scaffold.rglob("__pycache__"))


def test_the_overlay_extends_six_stage_by_default(scaffold):
    text = (scaffold / "workflow.yaml").read_text("utf-8")
    assert re.search(r"^extends: builtin:six-stage\b", text, re.M)


def test_readme_explains_the_commands(scaffold):
    readme = (scaffold / "README.md").read_text("utf-8")
    for words in ("flowctl validate", "deals-to-fix", "flowctl run", "workflow.yaml"):
        assert words in readme


def test_the_scaffold_validates(scaffold):
    result = invoke("validate", "-w", str(scaffold / "workflow.yaml"), str(scaffold / "workflow.yaml"),
                    str(scaffold / "deals"))
    assert result.stdout == ""
    assert result.exit_code == 0


def test_the_scaffold_validates_as_the_readme_says_in_a_real_process(scaffold):
    command = [FLOWCTL] if FLOWCTL else [sys.executable, "-m", "flowctl"]
    proc = subprocess.run(command + ["validate", "-w", "workflow.yaml", "workflow.yaml", "deals/"],
                          cwd=scaffold, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_example_deals_stand_in_many_stages(scaffold):
    from flowctl.evaluate import evaluate
    workflow, diagnostics = load_workflow(str(scaffold / "workflow.yaml"), Plugins(()))
    assert workflow is not None, diagnostics
    cw = CompiledWorkflow(workflow)
    stages, outcomes = set(), set()
    for file in find_files([str(scaffold / "deals")]):
        _, docs = read_deals(file)
        for doc in docs:
            state = evaluate(cw, doc.deal, NOW)
            stages.add(state.stage)
            outcomes.add(state.outcome)
    assert len(stages) >= 5, stages
    assert workflow.stages[-1].id in stages  # one won
    assert {"open", "won", "lost"} <= outcomes


def test_the_planted_mistake_is_explained(scaffold):
    """A misspelt job is a warning: the deal still counts; `--strict` (CI) fails on it."""
    assert invoke("validate", "-w", str(scaffold / "workflow.yaml"), str(scaffold / "deals-to-fix")).exit_code == 0
    result = invoke("validate", "--strict", "-w", str(scaffold / "workflow.yaml"), str(scaffold / "deals-to-fix"))
    lines = result.stdout.splitlines()
    assert result.exit_code == 2
    assert len(lines) == 1, lines
    assert re.match(r"^.*deals-to-fix/[^:]+\.yaml:\d+:\d+: warning: .*\(did you mean '[^']+'\?\) \[\$\.\S+\]$", lines[0])


def test_fixing_the_planted_mistake_as_suggested_makes_it_pass(scaffold, tmp_path):
    copy = tmp_path / "acme"
    shutil.copytree(scaffold, copy)
    result = invoke("validate", "-w", "workflow.yaml", "deals-to-fix", cwd=copy)
    line = result.stdout.splitlines()[0]
    file, row = re.match(r"^([^:]+):(\d+):\d+: ", line).groups()
    wrong = re.search(r"'([^']+)'", line.split(": warning: ", 1)[1]).group(1)
    right = re.search(r"did you mean '([^']+)'", line).group(1)
    path = copy / file
    lines = path.read_text("utf-8").splitlines(keepends=True)
    lines[int(row) - 1] = lines[int(row) - 1].replace(wrong, right, 1)
    path.write_text("".join(lines), "utf-8")
    fixed = invoke("validate", "--strict", "-w", "workflow.yaml", "workflow.yaml", "deals", "deals-to-fix", cwd=copy)
    assert fixed.stdout == "" and fixed.exit_code == 0


def test_init_into_the_current_folder(tmp_path):
    result = invoke("init", cwd=tmp_path)
    assert result.exit_code == 0
    assert (tmp_path / "workflow.yaml").is_file()


def test_init_refuses_to_overwrite_a_workflow(tmp_path):
    (tmp_path / "workflow.yaml").write_text("flowctl: 1\nname: mine\n", "utf-8")
    result = invoke("init", str(tmp_path))
    assert result.exit_code == 2  # invalid usage (SPEC: exit codes)
    assert "--force" in result.output
    assert (tmp_path / "workflow.yaml").read_text("utf-8") == "flowctl: 1\nname: mine\n"
    assert not (tmp_path / "deals").exists()


def test_init_refuses_without_force_in_a_real_process(tmp_path):
    (tmp_path / "workflow.yaml").write_text("flowctl: 1\n", "utf-8")
    command = [FLOWCTL] if FLOWCTL else [sys.executable, "-m", "flowctl"]
    proc = subprocess.run(command + ["init", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "--force" in proc.stderr
    assert (tmp_path / "workflow.yaml").read_text("utf-8") == "flowctl: 1\n"


def test_init_force_overwrites(tmp_path):
    (tmp_path / "workflow.yaml").write_text("flowctl: 1\nname: mine\n", "utf-8")
    result = invoke("init", str(tmp_path), "--force")
    assert result.exit_code == 0
    assert "extends: builtin:six-stage" in (tmp_path / "workflow.yaml").read_text("utf-8")


def test_init_keeps_templates_already_edited(tmp_path):
    (tmp_path / "templates").mkdir()
    first = invoke("init", str(tmp_path / "x"))
    assert first.exit_code == 0
    name = sorted((tmp_path / "x" / "templates").iterdir())[0].name
    (tmp_path / "templates" / name).write_text("mine", "utf-8")
    assert invoke("init", str(tmp_path)).exit_code == 0
    assert (tmp_path / "templates" / name).read_text("utf-8") == "mine"


def test_init_from_seven_stage(tmp_path):
    target = tmp_path / "seven"
    result = invoke("init", str(target), "--from", "builtin:seven-stage")
    assert result.exit_code == 0, result.output
    assert re.search(r"^extends: builtin:seven-stage\b", (target / "workflow.yaml").read_text("utf-8"), re.M)
    validated = invoke("validate", "-w", "workflow.yaml", "workflow.yaml", "deals", cwd=target)
    assert validated.stdout == ""
    assert validated.exit_code == 0
    planted = invoke("validate", "--strict", "-w", "workflow.yaml", "deals-to-fix", cwd=target)
    assert planted.exit_code == 2 and "did you mean" in planted.stdout


@pytest.mark.parametrize("base", ["builtin:nine-stage", "six-stage", "./workflow.yaml", "builtin:"])
def test_init_from_something_unknown(tmp_path, base):
    result = invoke("init", str(tmp_path / "x"), "--from", base)
    assert result.exit_code == 2
    assert "builtin:six-stage" in result.output  # the choices are listed
    assert not (tmp_path / "x" / "workflow.yaml").exists()


def test_init_into_a_file(tmp_path):
    (tmp_path / "afile").write_text("x", "utf-8")
    result = invoke("init", str(tmp_path / "afile"))
    assert result.exit_code == 2
