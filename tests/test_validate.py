"""`flowctl validate`: every problem in workflow and deal files, positioned, sorted.

The corpus under tests/data/invalid/ holds one file per kind of mistake. Each records
the exact diagnostics `flowctl validate` must print for it, checked by hand: either as
`# expect: LINE:COL: SEVERITY: MESSAGE [PATH]` comments at the top of the file, or in a
sidecar `<file>.expect` (JSON files cannot hold comments). An expected line that does
not start with a position or a severity names its own file (a diagnostic in a file the
case extends). Every case is validated from inside tests/data/invalid/ with
`-w ../valid/workflow.yaml`, the workflow deal files are checked against.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


from flowctl.testing import invoke_cli as invoke  # noqa: E402

HERE = Path(__file__).parent
DATA = HERE / "data"
INVALID = DATA / "invalid"
VALID = DATA / "valid"
WORKFLOW = "../valid/workflow.yaml"  # relative to INVALID
FLOWCTL = shutil.which("flowctl")


# ---------------------------------------------------------------------------------------
# helpers


def corpus_cases() -> list[str]:
    return sorted(p.name for p in INVALID.iterdir()
                  if p.is_file() and not p.name.endswith(".expect") and not p.name.startswith((".", "_")))


def expected_lines(name: str) -> list[str]:
    """The diagnostics a case expects, each as `flowctl validate` prints it."""
    sidecar = INVALID / (name + ".expect")
    if sidecar.exists():
        raw = sidecar.read_text("utf-8").splitlines()
    else:
        raw = [line.decode("utf-8")[len(b"# expect: "):] for line in (INVALID / name).read_bytes().splitlines()
               if line.startswith(b"# expect: ")]
    assert raw, f"{name} records no expected diagnostics"
    out = []
    for line in raw:
        if re.match(r"^\d+:\d+: ", line):
            out.append(f"{name}:{line}")
        elif line.startswith(("error: ", "warning: ")):
            out.append(f"{name}: {line}")
        else:
            out.append(line)
    return out


def run_flowctl(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the installed `flowctl` command in a real process."""
    command = [FLOWCTL] if FLOWCTL else [sys.executable, "-m", "flowctl"]
    proc = subprocess.run(command + list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


def diagnostic_lines(result) -> list[str]:
    return result.stdout.splitlines()


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


def copy_workflow(folder: Path) -> Path:
    """tests/data/valid/workflow.yaml, copied into folder (it extends a built-in only)."""
    return Path(shutil.copy(VALID / "workflow.yaml", folder / "workflow.yaml"))


# ---------------------------------------------------------------------------------------
# the corpus


def test_corpus_is_big_enough():
    cases = corpus_cases()
    assert len(cases) >= 40
    assert sum(c.startswith("deal-") for c in cases) >= 15
    assert sum(c.startswith("wf-") for c in cases) >= 15
    for case in cases:
        expected_lines(case)


@pytest.mark.parametrize("case", corpus_cases())
def test_corpus(case):
    expected = expected_lines(case)
    result = invoke("validate", "-w", WORKFLOW, case, cwd=INVALID)
    assert diagnostic_lines(result) == expected
    has_error = any(": error: " in line for line in expected)
    assert result.exit_code == (2 if has_error else 0), result.output
    errors = sum(": error: " in line for line in expected)
    assert f"{errors} error(s), {len(expected) - errors} warning(s)" in result.stderr


@pytest.mark.parametrize("case", corpus_cases())
def test_corpus_json(case):
    """--format json carries the same diagnostics, field by field."""
    expected = expected_lines(case)
    result = invoke("validate", "--format", "json", "-w", WORKFLOW, case, cwd=INVALID)
    data = json.loads(result.stdout)
    assert set(data) >= {"ok", "diagnostics"}
    assert data["ok"] is not any(": error: " in line for line in expected)
    shown = []
    for d in data["diagnostics"]:
        assert set(d) >= {"file", "line", "column", "severity", "message", "path"}
        assert d["severity"] in ("error", "warning")
        where = d["file"] + (f":{d['line']}:{d['column']}" if d["line"] is not None else "")
        text = f"{where}: {d['severity']}: {d['message']}"
        if d["path"] != "$":
            text += f" [{d['path']}]"
        shown.append(text)
    assert shown == expected
    assert result.exit_code == (0 if data["ok"] else 2)


SUBPROCESS_CASES = ["deal-yaml-syntax.yaml", "deal-unknown-job.yaml", "deal-json-schema.json",
                    "deal-non-utf8.yaml", "wf-extends-cycle.yaml", "wf-expression-fields.yaml",
                    "wf-probability-falls.yaml"]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_corpus_in_a_real_process(case):
    """The installed command: same lines, exit code 2 (0 for warnings), no traceback."""
    expected = expected_lines(case)
    proc = run_flowctl("validate", "-w", WORKFLOW, case, cwd=INVALID)
    assert proc.stdout.splitlines() == expected
    assert proc.returncode == (2 if any(": error: " in line for line in expected) else 0)


def test_the_whole_corpus_at_once_is_sorted_by_file_and_line():
    """All cases in one run: every problem of every file, sorted by file, then line."""
    cases = corpus_cases()
    result = invoke("validate", "-w", WORKFLOW, *cases, cwd=INVALID)
    assert result.exit_code == 2
    lines = diagnostic_lines(result)
    keys = []
    for line in lines:
        m = re.match(r"^(.*?):(?:(\d+):(\d+):)? (error|warning): ", line)
        assert m, line
        keys.append((m.group(1), int(m.group(2) or 0), int(m.group(3) or 0)))
    assert keys == sorted(keys)
    # Each file's own problems are all there.
    for case in ["deal-wrong-types.yaml", "deal-list.yaml", "wf-unknown-keys.yaml", "deal-json-workflow.json"]:
        for line in expected_lines(case):
            assert line in lines


# ---------------------------------------------------------------------------------------
# valid files


def test_valid_files_pass(tmp_path):
    result = invoke("validate", "-w", "workflow.yaml", ".", cwd=VALID)
    assert result.stdout == ""
    assert result.exit_code == 0
    assert "ok:" in result.stderr


def test_valid_files_pass_in_json():
    result = invoke("validate", "--format", "json", "-w", "workflow.yaml", ".", cwd=VALID)
    assert json.loads(result.stdout) == {"ok": True, "diagnostics": []}
    assert result.exit_code == 0


def test_valid_files_in_a_real_process():
    proc = run_flowctl("validate", "-w", "workflow.yaml", "workflow.yaml", "deals", cwd=VALID)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""


def test_workflow_file_is_told_apart_by_content(tmp_path):
    """A workflow among the files is checked as a workflow and, without -w, used for
    the deals beside it, whatever the files are called."""
    shutil.copy(VALID / "workflow.yaml", tmp_path / "process.yml")
    write(tmp_path, "a.yaml", "id: A\njobs: {verfy-prospect: 2026-01-01}\n")
    result = invoke("validate", "process.yml", "a.yaml", cwd=tmp_path)
    assert diagnostic_lines(result) == [
        "a.yaml:2:8: warning: unknown job 'verfy-prospect', ignored (did you mean 'verify-prospect'?) [$.jobs.verfy-prospect]"]
    assert result.exit_code == 0


def test_deal_fields_come_from_the_workflow(tmp_path):
    """A deal is checked against the schema of the workflow given with -w, its `fields` included."""
    write(tmp_path, "deal.yaml", "id: A\nroi: 1.5\nregion: north\n")
    assert invoke("validate", "-w", str(VALID / "workflow.yaml"), "deal.yaml", cwd=tmp_path).exit_code == 0
    write(tmp_path, "plain.yaml", "flowctl: 1\nextends: builtin:six-stage\n")
    result = invoke("validate", "-w", "plain.yaml", "deal.yaml", cwd=tmp_path)
    assert diagnostic_lines(result) == [
        "deal.yaml:2:1: warning: unknown key 'roi' (kept as data) [$.roi]",
        "deal.yaml:3:1: warning: unknown key 'region' (kept as data) [$.region]",
    ]
    assert result.exit_code == 0


# ---------------------------------------------------------------------------------------
# every problem, not just the first


def test_every_problem_in_every_file_is_reported(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "deals/a.yaml", "id: A\namount: lots\nammount: 5\n")
    write(tmp_path, "deals/b.yaml", "id: B\njobs: {verfy-prospect: 2026-01-01, lunch: true}\n")
    write(tmp_path, "deals/c.yaml", "id: C\nname: [\n")
    result = invoke("validate", "-w", "workflow.yaml", "deals", cwd=tmp_path)
    assert diagnostic_lines(result) == [
        "deals/a.yaml:2:9: error: expected number or null, got string 'lots' [$.amount]",
        "deals/a.yaml:3:1: warning: unknown key 'ammount' (did you mean 'amount'?) (kept as data) [$.ammount]",
        "deals/b.yaml:2:8: warning: unknown job 'verfy-prospect', ignored (did you mean 'verify-prospect'?) [$.jobs.verfy-prospect]",
        "deals/b.yaml:2:36: warning: unknown job 'lunch', ignored [$.jobs.lunch]",
        "deals/c.yaml:3:1: error: YAML syntax error: did not find expected node content (while parsing a flow node)",
    ]
    assert result.stderr.strip().endswith("2 error(s), 3 warning(s)")
    assert result.exit_code == 2


def test_schema_problems_do_not_hide_the_workflow_checks_of_a_deal(tmp_path):
    """A wrong amount and a misspelt job id are two problems: both are reported."""
    copy_workflow(tmp_path)
    write(tmp_path, "deal.yaml", "id: A\namount: lots\njobs:\n  verfy-prospect: 2026-01-01\n")
    result = invoke("validate", "-w", "workflow.yaml", "deal.yaml", cwd=tmp_path)
    assert diagnostic_lines(result) == [
        "deal.yaml:2:9: error: expected number or null, got string 'lots' [$.amount]",
        "deal.yaml:4:3: warning: unknown job 'verfy-prospect', ignored (did you mean 'verify-prospect'?) [$.jobs.verfy-prospect]",
    ]


def test_a_problem_is_reported_once_when_a_base_and_its_overlays_are_validated_together(tmp_path):
    write(tmp_path, "base.yaml", (
        "flowctl: 1\nstages:\n  - id: a\n    probability: 0.5\n  - id: b\n    probability: 0.2\n"
        "  - id: won\n    terminal: true\n"))
    write(tmp_path, "overlay.yaml", "flowctl: 1\nextends: base.yaml\nname: overlay\n")
    result = invoke("validate", "base.yaml", "overlay.yaml", cwd=tmp_path)
    assert diagnostic_lines(result) == [
        "base.yaml:6:18: warning: probability falls from 0.5 in 'a' to 0.2 in 'b' as deals advance [$.stages[1].probability]"]
    assert result.exit_code == 0


# ---------------------------------------------------------------------------------------
# deal files: ids, dates, JSON, odd files


def test_duplicate_deal_ids_across_files(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "deals/a.yaml", "id: ACME-1\nname: first\n")
    write(tmp_path, "deals/b.yaml", "# the same id again\nid: ACME-1\nname: second\n")
    write(tmp_path, "deals/c.json", '{"deals": [{"id": "ACME-2"}, {"id": "ACME-1"}]}')
    write(tmp_path, "deals/d.yaml", "deals:\n  - id: ACME-2\n")
    result = invoke("validate", "-w", "workflow.yaml", "deals", cwd=tmp_path)
    assert diagnostic_lines(result) == [
        "deals/b.yaml:2:5: error: duplicate deal id 'ACME-1' (also in deals/a.yaml) [$.id]",
        "deals/c.json:1:37: error: duplicate deal id 'ACME-1' (also in deals/a.yaml) [$.deals[1].id]",
        "deals/d.yaml:2:9: error: duplicate deal id 'ACME-2' (also in deals/c.json deals[0]) [$.deals[0].id]",
    ]
    assert result.exit_code == 2


@pytest.mark.parametrize("value", ["2026-02-30", "2026-13-01", "2026-00-10", "2026-04-31", "2025-02-29"])
def test_calendar_dates_that_do_not_exist_are_errors(tmp_path, value):
    """`2026-02-30` has the shape of a date but is none; flowctl would read it as no date."""
    copy_workflow(tmp_path)
    write(tmp_path, "deal.yaml", f"id: A\ncreated: {value}\n")
    result = invoke("validate", "-w", "workflow.yaml", "deal.yaml", cwd=tmp_path)
    lines = diagnostic_lines(result)
    assert len(lines) == 1 and lines[0].startswith("deal.yaml:2:10: error: ") and lines[0].endswith("[$.created]"), lines
    assert result.exit_code == 2


@pytest.mark.parametrize("value", ["2026-02-28", "2024-02-29", "2026-10-01T09:30:00Z", "2026-10-01 09:30",
                                   "2026-10-01T09:30:00+02:00"])
def test_good_dates_and_date_times(tmp_path, value):
    copy_workflow(tmp_path)
    write(tmp_path, "deal.yaml", f"id: A\ncreated: {value}\njobs: {{verify-prospect: {value}}}\n")
    result = invoke("validate", "-w", "workflow.yaml", "deal.yaml", cwd=tmp_path)
    assert result.stdout == "" and result.exit_code == 0


def test_dates_in_deal_files_stay_iso_strings():
    from flowctl.yamlio import parse
    doc = parse("created: 2026-10-01\nat: 2026-10-01T09:30:00Z\nn: 2026\non: x\n", "d.yaml")
    assert doc == {"created": "2026-10-01", "at": "2026-10-01T09:30:00Z", "n": 2026, "on": "x"}


def test_a_deal_only_the_fast_validator_refuses_is_not_passed_silently(tmp_path):
    """`"EUR\\n"` is no currency code: jsonschema-rs refuses it, jsonschema's `$` lets it
    through. validate must not then say "ok" (and skip the job check) for the deal: both
    are warnings (the currency is ignored, the job too), and --strict fails on them."""
    copy_workflow(tmp_path)
    write(tmp_path, "deal.yaml", 'id: A\ncurrency: "EUR\\n"\njobs: {verfy-prospect: 2026-01-01}\n')
    result = invoke("validate", "-w", "workflow.yaml", "deal.yaml", cwd=tmp_path)
    assert result.exit_code == 0
    assert "[$.currency]" in result.stdout and "[$.jobs.verfy-prospect]" in result.stdout
    assert invoke("validate", "--strict", "-w", "workflow.yaml", "deal.yaml", cwd=tmp_path).exit_code == 2


def test_json_duplicate_keys_are_refused(tmp_path):
    """JSON deal files are held to the same rule as YAML ones: a key twice is an error,
    not a silent choice of the last value."""
    copy_workflow(tmp_path)
    write(tmp_path, "deal.json", '{\n  "id": "J-1",\n  "amount": 1,\n  "amount": 2\n}\n')
    result = invoke("validate", "-w", "workflow.yaml", "deal.json", cwd=tmp_path)
    lines = diagnostic_lines(result)
    assert len(lines) == 1 and lines[0].startswith("deal.json:4:3: error: duplicate key 'amount'"), lines
    assert result.exit_code == 2


def test_json_deal_with_tabs_is_positioned(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "deal.json", '{\n\t"id": "T-1",\n\t"amount": "x"\n}\n')
    result = invoke("validate", "-w", "workflow.yaml", "deal.json", cwd=tmp_path)
    assert diagnostic_lines(result) == ["deal.json:3:12: error: expected number or null, got string 'x' [$.amount]"]


def test_yaml_merge_keys_may_override(tmp_path):
    """`<<: *defaults` then a key of its own is YAML's way to override a default; it is
    not a duplicate key."""
    copy_workflow(tmp_path)
    write(tmp_path, "deal.yaml", (
        "id: M-1\n"
        "x-call: &call {kind: call, note: default}\n"
        "activities:\n"
        "  - <<: *call\n"
        "    at: 2026-01-01\n"
        "    note: override\n"))
    result = invoke("validate", "-w", "workflow.yaml", "deal.yaml", cwd=tmp_path)
    assert result.stdout == "" and result.exit_code == 0


def test_real_duplicate_keys_next_to_a_merge_key_are_still_refused(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "deal.yaml", (
        "id: M-2\n"
        "x-call: &call {kind: call}\n"
        "activities:\n"
        "  - <<: *call\n"
        "    at: 2026-01-01\n"
        "    at: 2026-01-02\n"))
    result = invoke("validate", "-w", "workflow.yaml", "deal.yaml", cwd=tmp_path)
    assert diagnostic_lines(result) == ["deal.yaml:6:5: error: duplicate key 'at' (first defined on line 5)"]


def test_billion_laughs_is_refused_quickly(tmp_path):
    """Nested aliases that expand to 10**9 nodes: refused, in a real process with a time limit."""
    copy_workflow(tmp_path)
    lines = ["id: BOMB-1", "x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 9):
        lines.append(f"x-a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines.append("tags: *a8")
    write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    try:
        proc = run_flowctl("validate", "-w", "workflow.yaml", "bomb.yaml", cwd=tmp_path, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("flowctl validate did not finish within 20 s on a billion-laughs document")
    assert proc.returncode == 2
    assert "too many YAML alias expansions" in proc.stdout


def test_a_few_aliases_are_fine(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "deal.yaml", "id: A\nx-who: &who alice@example.com\nowner: *who\nactivities:\n"
          "  - {at: 2026-01-01, by: *who}\n")
    result = invoke("validate", "-w", "workflow.yaml", "deal.yaml", cwd=tmp_path)
    assert result.stdout == "" and result.exit_code == 0


def test_empty_json_file(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "deal.json", "")
    result = invoke("validate", "-w", "workflow.yaml", "deal.json", cwd=tmp_path)
    assert result.exit_code == 2
    assert diagnostic_lines(result)[0].startswith("deal.json:")


def test_missing_file(tmp_path):
    copy_workflow(tmp_path)
    result = invoke("validate", "-w", "workflow.yaml", "nope.yaml", cwd=tmp_path)
    assert diagnostic_lines(result) == ["nope.yaml: error: no such file"]
    assert result.exit_code == 2


def test_missing_workflow(tmp_path):
    write(tmp_path, "deal.yaml", "id: A\n")
    result = invoke("validate", "-w", "nope.yaml", "deal.yaml", cwd=tmp_path)
    assert "nope.yaml: error: no such file" in result.output
    assert result.exit_code == 2


def test_a_folder_given_as_the_workflow(tmp_path):
    (tmp_path / "wf").mkdir()
    write(tmp_path, "deal.yaml", "id: A\n")
    result = invoke("validate", "-w", "wf", "deal.yaml", cwd=tmp_path)
    assert result.exit_code == 2
    assert "is a directory" in result.output or "is a folder" in result.output


def test_folders_are_searched_for_deal_files(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "deals/2026/q1/a.yaml", "id: A\nammount: 1\n")
    write(tmp_path, "deals/b.yml", "id: B\n")
    write(tmp_path, "deals/c.json", '{"id": "C", "amount": "x"}')
    write(tmp_path, "deals/notes.txt", "not a deal")
    write(tmp_path, "deals/.hidden/d.yaml", "id: [broken\n")
    write(tmp_path, "deals/.e.yaml", "id: [broken\n")
    result = invoke("validate", "-w", "workflow.yaml", "deals", cwd=tmp_path)
    assert diagnostic_lines(result) == [
        "deals/2026/q1/a.yaml:2:1: warning: unknown key 'ammount' (did you mean 'amount'?) (kept as data) [$.ammount]",
        "deals/c.json:1:23: error: expected number or null, got string 'x' [$.amount]",
    ]


def test_binary_file(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "deal.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    result = invoke("validate", "-w", "workflow.yaml", "deal.yaml", cwd=tmp_path)
    assert result.exit_code == 2
    assert diagnostic_lines(result)[0].startswith("deal.yaml")


def test_utf8_with_bom_and_crlf(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "deal.yaml", "\ufeffid: A\r\nname: Café\r\nammount: 1\r\n".encode("utf-8"))
    result = invoke("validate", "-w", "workflow.yaml", "deal.yaml", cwd=tmp_path)
    assert diagnostic_lines(result) == ["deal.yaml:3:1: warning: unknown key 'ammount' (did you mean 'amount'?) (kept as data) [$.ammount]"]


def test_unreadable_file(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    copy_workflow(tmp_path)
    path = write(tmp_path, "deal.yaml", "id: A\n")
    path.chmod(0)
    try:
        result = invoke("validate", "-w", "workflow.yaml", "deal.yaml", cwd=tmp_path)
    finally:
        path.chmod(0o644)
    assert result.exit_code == 2
    assert diagnostic_lines(result)[0].startswith("deal.yaml: error: cannot read")


def test_a_path_through_a_file(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "afile", "x")
    result = invoke("validate", "-w", "workflow.yaml", "afile/deal.yaml", cwd=tmp_path)
    assert diagnostic_lines(result) == ["afile/deal.yaml: error: cannot read: Not a directory"]
    assert result.exit_code == 2


def test_deeply_nested_yaml(tmp_path):
    copy_workflow(tmp_path)
    # Refused before the parser recurses into it (libyaml would crash far deeper).
    write(tmp_path, "deal.yaml", "id: A\nx-deep: " + "[" * 20000 + "]" * 20000 + "\ntags: 5\n")
    result = invoke("validate", "-w", "workflow.yaml", "deal.yaml", cwd=tmp_path)
    assert diagnostic_lines(result) == ["deal.yaml:2:208: error: nesting too deep (more than 200 levels) under 'x-deep'"]
    assert result.exit_code == 2


def test_deals_without_a_workflow(tmp_path):
    write(tmp_path, "deal.yaml", "id: A\n")
    result = invoke("validate", "deal.yaml", cwd=tmp_path)
    assert result.exit_code == 2
    assert "give -w WORKFLOW" in result.output


def test_workflow_yaml_in_the_current_folder_is_the_default(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "deal.yaml", "id: A\nroi: high\n")
    result = invoke("validate", "deal.yaml", cwd=tmp_path)
    assert diagnostic_lines(result) == ["deal.yaml:2:6: warning: field 'roi' is not as the workflow declares it: expected "
                                        "number, got string 'high' (gates and metrics reading it fail for this deal) [$.roi]"]
    assert result.exit_code == 0


def test_deals_are_not_checked_against_a_broken_workflow_but_the_run_fails(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: builtin:six-stage\nnme: x\n")
    write(tmp_path, "deal.yaml", "id: A\n")
    result = invoke("validate", "-w", "wf.yaml", "deal.yaml", cwd=tmp_path)
    assert diagnostic_lines(result) == ["wf.yaml:3:1: error: unknown key 'nme' (did you mean 'name'?) [$.nme]"]
    assert result.exit_code == 2


def test_only_a_workflow(tmp_path):
    assert invoke("validate", "-w", str(VALID / "workflow.yaml"), cwd=tmp_path).exit_code == 0
    result = invoke("validate", "-w", "wf-terminal-not-last.yaml", cwd=INVALID)
    assert diagnostic_lines(result) == expected_lines("wf-terminal-not-last.yaml")
    assert result.exit_code == 2


def test_the_same_file_twice_is_checked_once(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "deal.yaml", "id: A\nammount: 1\n")
    result = invoke("validate", "-w", "workflow.yaml", "deal.yaml", "./deal.yaml", "workflow.yaml", cwd=tmp_path)
    assert diagnostic_lines(result) == ["deal.yaml:2:1: warning: unknown key 'ammount' (did you mean 'amount'?) (kept as data) [$.ammount]"]


def test_no_files_is_a_usage_error(tmp_path):
    result = invoke("validate", cwd=tmp_path)
    assert result.exit_code == 2
    assert "Usage" in result.output


def test_bad_format_option(tmp_path):
    result = invoke("validate", "--format", "xml", "x.yaml", cwd=tmp_path)
    assert result.exit_code == 2


def test_json_output_of_a_clean_run(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "deal.yaml", "id: A\n")
    result = invoke("validate", "--format", "json", "-w", "workflow.yaml", "deal.yaml", cwd=tmp_path)
    assert json.loads(result.stdout) == {"ok": True, "diagnostics": []}


def test_json_output_warnings_only_is_ok(tmp_path):
    result = invoke("validate", "--format", "json", "wf-probability-falls.yaml", cwd=INVALID)
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert data["diagnostics"] == [{
        "file": "wf-probability-falls.yaml", "line": 10, "column": 18, "severity": "warning",
        "message": "probability falls from 0.4 in 'qualified' to 0.3 in 'proposed' as deals advance",
        "path": "$.stages[2].probability"}]
    assert result.exit_code == 0


def test_json_output_in_a_real_process():
    proc = run_flowctl("validate", "--format", "json", "-w", WORKFLOW, "deal-unknown-gate.yaml", "deal-nul.yaml",
                       cwd=INVALID)
    assert proc.returncode == 2
    data = json.loads(proc.stdout)
    assert data["ok"] is False
    assert [(d["file"], d["line"], d["column"], d["severity"]) for d in data["diagnostics"]] == [
        ("deal-nul.yaml", None, None, "error"), ("deal-unknown-gate.yaml", 4, 3, "warning")]
    assert data["diagnostics"][1]["path"] == "$.approvals.price-aproved"


def test_no_traceback_on_odd_input_in_a_real_process(tmp_path):
    copy_workflow(tmp_path)
    write(tmp_path, "a.yaml", b"\xff\xfe\x00i\x00d")
    write(tmp_path, "b.yaml", "!!python/object/apply:os.system ['echo hacked']\n")
    write(tmp_path, "c.yaml", "id: !!binary aGVsbG8=\n")
    write(tmp_path, "d.yaml", "? [a, b]\n: c\n")
    write(tmp_path, "e.yaml", "id: A\namount: 1e400\n")
    write(tmp_path, "f.yaml", "id: A\namount: 100000000000000000000000000000000000000000\n")
    write(tmp_path, "g.json", "[" * 100000 + "]" * 100000)
    write(tmp_path, "h.yaml", "id: A\njobs: {2024: true}\n")
    write(tmp_path, "i.yaml", "id: A\namount: .nan\n")
    proc = run_flowctl("validate", "-w", "workflow.yaml", *[f"{c}.yaml" for c in "abcdefhi"], "g.json", cwd=tmp_path)
    assert proc.returncode == 2
    assert "hacked" not in proc.stdout
    for name in ["a.yaml", "b.yaml", "d.yaml", "g.json"]:
        assert f"{name}:" in proc.stdout, proc.stdout
