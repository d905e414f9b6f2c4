"""Bad inputs (issue #8): every file of the corpus under tests/data/bad/ goes through the
command a user would run on it and must be refused cleanly: a clear message naming the
file (with line and column where there is one), exit code 2 (1 for a `run` where only
some deals are bad, or an import where only some rows are), no traceback.

Every case runs in-process (click's CliRunner, flowctl.testing_cli, under its hang guard);
one case of each class also runs as a real process under an address-space limit, and
must stay under 5 s of CPU time and 300 MB (CPU time, not wall-clock: the check holds
on a loaded machine; a process still running after KILL_AFTER seconds is killed).

The corpus is written by tests/data/bad/generate.py; each case says what is wrong and
what the output must contain (`# expect:` lines, or a sidecar `.expect` file). The 50 MB
file, the wrong types generated from the JSON Schemas, missing paths and folders given
for files are made here, in tmp_path.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from flowctl.testing import invoke_cli, run_cli

HERE = Path(__file__).parent
BAD = HERE / "data" / "bad"
BASE = BAD / "_base"
NOW = "2026-11-23"
MAX_CPU_SECONDS = 5.0
KILL_AFTER = 60.0  # wall-clock hang guard: a runaway is stopped here, and fails
MAX_RSS_MB = 300
ADDRESS_SPACE = 3 * 1024 ** 3  # a safety net for the machine, far above the 300 MB asked for


# --------------------------------------------------------------------------- running flowctl


@dataclasses.dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float
    max_rss_mb: float
    killed: bool
    seconds: float = 0.0  # wall-clock: only test_faults' 60 s hang guard reads it

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        return (f"flowctl {' '.join(self.args)}\nexit {self.returncode} after {self.cpu_seconds:.2f}s of CPU, "
                f"max RSS {self.max_rss_mb:.0f} MB{' (KILLED)' if self.killed else ''}\n"
                f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}")


def _limit() -> None:  # in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def real_process(*args: str | os.PathLike, cwd: Path, env: dict | None = None) -> Result:
    """Run `python -m flowctl ARGS` as a real process; measure its own CPU time and max RSS
    (os.wait4 gives the rusage of exactly that child)."""
    argv = [str(a) for a in args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "flowctl", *argv], cwd=cwd, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, preexec_fn=_limit,
                                env={**os.environ, "COLUMNS": "200", **(env or {})})
        killed = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > KILL_AFTER:
                proc.kill()
                killed = True
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Result(argv, proc.returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                      usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, killed, seconds)


def in_process(*args: str | os.PathLike, cwd: Path, env: dict | None = None) -> Result:
    """The same command through click's CliRunner (flowctl.testing_cli), with its hang guard;
    an exception that escaped the command is shown as the traceback a process would print.
    Time and memory are not measured here: the real-process smoke cases check them."""
    argv = [str(a) for a in args]
    result = run_cli(*argv, cwd=cwd, env={"COLUMNS": "200", **(env or {})})
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (most recent call last):\n" + "".join(traceback.format_exception(result.exception))
    return Result(argv, result.exit_code, result.stdout, stderr, 0.0, 0.0, False)


# One case of each class of bad input also runs as a real process, under the resource
# limits, measured: the ones where time or memory is the risk (bombs, huge numbers,
# deep nesting, runaway templates) and the first of each corpus folder.
REAL_PROCESS_CASES = {
    "deals/bomb-billion-laughs.yaml", "deals/huge-amount-int-10-5000.yaml", "deals/nest-flow-100000.yaml",
    "deals/date-activity.yaml", "workflows/bomb-billion-laughs.yaml", "templates/nested-loops--proposal.md.j2",
    "templates/center-gigabyte--proposal.md.j2", "templates/recursion-macro--proposal.md.j2",
    "workflows/nest-flow-100000.yaml", "workflows/huge-max-days.yaml", "imports/bomb.map.yaml",
    "imports/csv-huge-field.csv", "done/alias-bomb.yaml",
}


def flowctl(*args: str | os.PathLike, cwd: Path, env: dict | None = None, real: bool = False) -> Result:
    """`flowctl ARGS` in-process, or as a real process when `real` (a smoke case)."""
    return (real_process if real else in_process)(*args, cwd=cwd, env=env)


def assert_refused(result: Result, rc: int, names: list[str], expects: list[str] = ()) -> None:
    """The common contract of every bad input."""
    why = result.describe()
    assert not result.killed, f"still running after {KILL_AFTER}s: killed\n{why}"
    assert "Traceback" not in result.output, why
    assert result.returncode == rc, f"expected exit {rc}\n{why}"
    assert result.cpu_seconds < MAX_CPU_SECONDS, f"took {result.cpu_seconds:.1f}s of CPU (limit {MAX_CPU_SECONDS}s)\n{why}"
    assert result.max_rss_mb < MAX_RSS_MB, f"used {result.max_rss_mb:.0f} MB (limit {MAX_RSS_MB})\n{why}"
    assert any(name in result.output for name in names), f"the output does not name {names}\n{why}"
    for expect in expects:
        if expect == "@":  # some line and column
            assert any(re.search(re.escape(name) + r":\d+:\d+", result.output) for name in names), f"no position\n{why}"
        elif expect.startswith("@"):
            wanted = [f"{name}:{expect[1:]}" for name in names]
            assert any(w in result.output for w in wanted), f"no position {wanted}\n{why}"
        else:
            assert expect in result.output, f"the output does not say {expect!r}\n{why}"


def digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for p in files:
            h.update(str(p).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- the corpus


@dataclasses.dataclass
class Case:
    path: Path
    what: str
    expects: list[str]
    rc: int
    also: list[str] = dataclasses.field(default_factory=list)  # other files the message may name instead

    def names(self, *more: str) -> list[str]:
        return [self.path.name, *more, *self.also]

    @property
    def id(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}"


def _meta(path: Path) -> Case:
    sidecar = path.with_name(path.name + ".expect")
    lines = (sidecar.read_text("utf-8") if sidecar.exists()
             else path.read_bytes().decode("utf-8", "replace")).splitlines()
    what, expects, rc, also = "", [], 2, []
    for line in lines:
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(": ")
        if key == "bad":
            what = value
        elif key == "expect":
            expects.append(value)
        elif key == "rc":
            rc = int(value)
        elif key == "name":
            also.append(value)
    return Case(path, what, expects, rc, also)


def corpus(folder: str, suffixes: tuple[str, ...] = ()) -> list[Case]:
    out = []
    for path in sorted((BAD / folder).iterdir()):
        if path.name.startswith(("_", ".")) or path.name.endswith(".expect") or not path.is_file():
            continue
        if suffixes and not path.name.endswith(suffixes):
            continue
        out.append(_meta(path))
    return out


def params(cases: list[Case]) -> list[Any]:
    return [pytest.param(c, id=c.id) for c in cases]


WORKFLOWS = corpus("workflows")
DEALS = corpus("deals")
TEMPLATES = corpus("templates")
DONE = corpus("done")


def _imports() -> list[Case]:
    """An import case is a map, a CSV, or both, sharing a name."""
    out = []
    for path in sorted((BAD / "imports").iterdir()):
        if path.name.endswith(".expect"):
            continue
        stem = path.name.removesuffix(".map.yaml").removesuffix(".csv")
        if path.name.endswith(".csv") and (BAD / "imports" / f"{stem}.map.yaml").exists():
            continue  # the pair is listed once, by its map
        out.append(_meta(path))
    return out


IMPORTS = _imports()


def test_the_corpus_is_large_and_complete() -> None:
    files = [p for p in BAD.rglob("*") if p.is_file() and not p.name.endswith(".expect")
             and "_base" not in p.parts and p.name not in ("generate.py", ".keep")]
    assert len(files) >= 200, len(files)
    for case in WORKFLOWS + DEALS + TEMPLATES + DONE + IMPORTS:
        assert case.what, f"{case.id} does not say what is wrong with it"


# --------------------------------------------------------------------------- workflows


@pytest.mark.parametrize("case", params(WORKFLOWS))
def test_validate_refuses_bad_workflow(case: Case) -> None:
    before = digest(case.path)
    result = flowctl("validate", case.path.name, cwd=case.path.parent, real=case.id in REAL_PROCESS_CASES)
    assert_refused(result, 2, case.names(), case.expects)
    assert digest(case.path) == before


# `run` reads a workflow as `validate` does; it is tried on the cases whose trouble could
# show only when deals are evaluated (numbers, durations, references, templates, sizes).
RUN_WORKFLOWS = [c for c in WORKFLOWS if c.path.name.startswith(
    ("huge-", "duration-", "ref-", "tmpl-", "nest-", "bomb-", "dup-top", "enc-nul", "empty", "yaml-python-tag",
     "expr-internals-field", "expr-internals-attr-filter", "struct-"))]


@pytest.mark.parametrize("case", params(RUN_WORKFLOWS))
def test_run_refuses_bad_workflow(case: Case, tmp_path: Path) -> None:
    deals = tmp_path / "deals"
    deals.mkdir()
    shutil.copy(BASE / "good-deal.yaml", deals)
    result = flowctl("run", str(deals), "-w", case.path.name, "--now", NOW, "--store", f"sqlite:///{tmp_path / 's.db'}",
                     cwd=case.path.parent, real=case.id in REAL_PROCESS_CASES)
    assert_refused(result, 2, case.names(), [e for e in case.expects if not e.startswith("@")])
    assert not (tmp_path / "artifacts").exists()


# --------------------------------------------------------------------------- deals


@pytest.mark.parametrize("case", params(DEALS))
def test_validate_refuses_bad_deal(case: Case) -> None:
    """An error exits 2; what the workflow does not know (`rc: 0`) is a warning: exit 0,
    and 2 with --strict."""
    before = digest(case.path)
    result = flowctl("validate", "-w", "../_base/workflow.yaml", case.path.name, cwd=case.path.parent, real=case.id in REAL_PROCESS_CASES)
    assert_refused(result, case.rc, case.names(), case.expects)
    if case.rc == 0:
        assert "warning:" in result.output and "error:" not in result.output, result.describe()
        strict = flowctl("validate", "--strict", "-w", "../_base/workflow.yaml", case.path.name, cwd=case.path.parent, real=case.id in REAL_PROCESS_CASES)
        assert_refused(strict, 2, case.names(), case.expects)
    assert digest(case.path) == before


@pytest.mark.parametrize("case", params(DEALS))
def test_run_with_one_bad_deal_finishes_with_exit_1(case: Case, tmp_path: Path) -> None:
    """One good deal and one bad: the run finishes, records the good one, exits 1."""
    before = digest(case.path)
    store = tmp_path / "s.db"
    result = flowctl("run", "-w", "../_base/workflow.yaml", "../_base/good-deal.yaml", case.path.name, "--now", NOW,
                     "--store", f"sqlite:///{store}", "--format", "json", cwd=case.path.parent, real=case.id in REAL_PROCESS_CASES)
    assert_refused(result, 1 if case.rc else 0, case.names(), [e for e in case.expects if not e.startswith("@")])
    assert digest(case.path) == before
    report = json.loads(result.stdout)
    assert "GOOD-1" in [d.get("id") for d in report["deals"]], result.describe()
    if case.rc == 0:  # a warning: the deal is evaluated and recorded, its warnings beside it
        bad = [d for d in report["deals"] if d.get("id") == f"BAD-{case.path.stem}"]
        assert bad and bad[0]["stage"] and bad[0]["warnings"] and not bad[0]["errors"], result.describe()


# --------------------------------------------------------------------------- imports


@pytest.mark.parametrize("case", params(IMPORTS))
def test_import_refuses_bad_map_or_csv(case: Case, tmp_path: Path) -> None:
    stem = case.path.name.removesuffix(".map.yaml").removesuffix(".csv")
    folder = case.path.parent
    map_path = folder / f"{stem}.map.yaml" if (folder / f"{stem}.map.yaml").exists() else BASE / "good.map.yaml"
    csv_path = folder / f"{stem}.csv" if (folder / f"{stem}.csv").exists() else BASE / "good.csv"
    out = tmp_path / "out"
    before = digest(folder)
    result = flowctl("import", csv_path, "--map", map_path, "-o", out, "-w", BASE / "workflow.yaml", cwd=folder, real=case.id in REAL_PROCESS_CASES)
    names = [case.path.name] + ([csv_path.name] if case.path != csv_path and csv_path.parent == folder else [])
    assert_refused(result, case.rc, names, case.expects)
    assert digest(folder) == before
    if case.rc == 2:
        assert not out.exists() or not any(out.iterdir()), "a refused import wrote deal files"
    else:
        for written in out.iterdir():  # what an import writes is valid
            check = flowctl("validate", "-w", BASE / "workflow.yaml", written, cwd=tmp_path)
            assert check.returncode == 0, check.describe()


# --------------------------------------------------------------------------- company templates


def _template_project(case: Case, tmp_path: Path) -> tuple[Path, str]:
    name, _, target = case.path.name.partition("--")
    root = tmp_path / "project"
    (root / "templates").mkdir(parents=True)
    (root / "deals").mkdir()
    shutil.copy(BASE / "render-workflow.yaml", root / "workflow.yaml")
    shutil.copy(BASE / "good-deal.yaml", root / "deals")
    shutil.copy(case.path, root / "templates" / target)
    return root, target


@pytest.mark.parametrize("case", params(TEMPLATES))
def test_run_with_bad_company_template(case: Case, tmp_path: Path) -> None:
    """A proposal template used by a `render` job: the action fails, the run finishes with
    exit 1 and says why (JSON: the deal's errors). A broken notification template is bad
    input: exit 2."""
    root, target = _template_project(case, tmp_path)
    before = digest(root / "deals")
    result = flowctl("run", "--now", NOW, "--format", "json", cwd=root, real=case.id in REAL_PROCESS_CASES)
    assert_refused(result, case.rc, [target], case.expects)
    assert digest(root / "deals") == before
    artifacts = root / ".flowctl" / "artifacts"
    if target.startswith("proposal"):
        assert not artifacts.exists() or not any(artifacts.iterdir()), "a failed render left a file"


def _has_command(name: str) -> bool:
    return name in invoke_cli("--help").stdout


@pytest.mark.parametrize("command", ["report", "propose"])
@pytest.mark.parametrize("case", params([c for c in TEMPLATES if "proposal" in c.path.name]))
def test_report_and_propose_with_bad_company_template(case: Case, command: str, tmp_path: Path) -> None:
    """`flowctl report` with the company's report.md.j2, `flowctl propose` with its
    proposal.md.j2, broken: exit 2, the template named, nothing written."""
    if not _has_command(command):
        pytest.skip(f"flowctl {command} is not there yet")
    root, target = _template_project(case, tmp_path)
    if command == "report":
        shutil.move(root / "templates" / target, root / "templates" / "report.md.j2")
        target = "report.md.j2"
        args = ["report", "deals"]
    else:
        args = ["propose", "GOOD-1", "deals", "--template", target]
    out = tmp_path / "out.md"
    result = flowctl(*args, "-o", out, "--now", NOW, "--store", f"sqlite:///{tmp_path / 's.db'}", cwd=root, real=case.id in REAL_PROCESS_CASES)
    assert_refused(result, 2, [target])
    assert not out.exists(), "a failed render left a file"


# --------------------------------------------------------------------------- flowctl done


@pytest.mark.parametrize("case", params(DONE))
def test_done_refuses_and_changes_nothing(case: Case, tmp_path: Path) -> None:
    work = tmp_path / case.path.name
    shutil.copy(case.path, work)
    before = work.read_bytes()
    result = flowctl("done", work.name, "verify", "-w", BASE / "workflow.yaml", "--deals", ".", "--at", "2026-02-01",
                     cwd=tmp_path, real=case.id in REAL_PROCESS_CASES)
    assert_refused(result, 2, case.names(), case.expects)
    assert work.read_bytes() == before, "flowctl done changed a file it refused"
    assert sorted(p.name for p in tmp_path.iterdir()) == [case.path.name], "a temporary file was left behind"


# --------------------------------------------------------------------------- made here: size, paths, folders


def _fifty_megabytes(path: Path, kind: str) -> None:
    with path.open("w") as fh:
        if kind == "deal":
            fh.write("id: BIG-1\nname: big\nactivities:\n")
            line = '  - {at: 2026-01-01, kind: call, note: "' + "x" * 60 + '"}\n'
        else:
            fh.write((BASE / "workflow.yaml").read_text() + "x-padding:\n")
            line = "  - " + "y" * 76 + "\n"
        fh.write(line * (50 * 1024 * 1024 // len(line) + 1))


def test_validate_refuses_a_50_megabyte_deal(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    _fifty_megabytes(big, "deal")
    assert big.stat().st_size >= 50 * 1024 * 1024
    result = flowctl("validate", "-w", BASE / "workflow.yaml", big.name, cwd=tmp_path, real=True)
    assert_refused(result, 2, ["big.yaml"])


def test_run_with_a_50_megabyte_deal_finishes_with_exit_1(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    _fifty_megabytes(big, "deal")
    result = flowctl("run", "-w", BASE / "workflow.yaml", BASE / "good-deal.yaml", big.name, "--now", NOW,
                     "--store", f"sqlite:///{tmp_path / 's.db'}", cwd=tmp_path, real=True)
    assert_refused(result, 1, ["big.yaml"])


def test_validate_refuses_a_50_megabyte_workflow(tmp_path: Path) -> None:
    big = tmp_path / "workflow.yaml"
    _fifty_megabytes(big, "workflow")
    result = flowctl("validate", big.name, cwd=tmp_path, real=True)
    assert_refused(result, 2, ["workflow.yaml"])


def test_validate_refuses_an_endless_device_file(tmp_path: Path) -> None:
    """/dev/zero given as a deal file: refused (not a regular file, or too large), not read for ever."""
    result = flowctl("validate", "-w", BASE / "workflow.yaml", "/dev/zero", cwd=tmp_path, real=True)
    assert_refused(result, 2, ["/dev/zero"])


PATH_CASES = {
    "validate-missing-file": (["validate", "missing.yaml"], "missing.yaml"),
    "validate-missing-workflow": (["validate", "-w", "missing.yaml", "deal.yaml"], "missing.yaml"),
    "validate-workflow-is-folder": (["validate", "-w", "folder.yaml", "deal.yaml"], "folder.yaml"),
    "validate-deal-missing": (["validate", "-w", "workflow.yaml", "missing-deal.yaml"], "missing-deal.yaml"),
    "run-workflow-missing": (["run", "-w", "missing.yaml", "deal.yaml"], "missing.yaml"),
    "run-workflow-is-folder": (["run", "-w", "folder.yaml", "deal.yaml"], "folder.yaml"),
    "run-deals-missing": (["run", "-w", "workflow.yaml", "missing-deal.yaml"], "missing-deal.yaml"),
    "run-store-is-folder": (["run", "-w", "workflow.yaml", "deal.yaml", "--store", "sqlite:///folder.yaml"], "folder.yaml"),
    "import-csv-missing": (["import", "missing.csv", "--map", "good.map.yaml", "-o", "out"], "missing.csv"),
    "import-csv-is-folder": (["import", "folder.yaml", "--map", "good.map.yaml", "-o", "out"], "folder.yaml"),
    "import-map-missing": (["import", "good.csv", "--map", "missing.map.yaml", "-o", "out"], "missing.map.yaml"),
    "import-map-is-folder": (["import", "good.csv", "--map", "folder.yaml", "-o", "out"], "folder.yaml"),
    "import-out-is-file": (["import", "good.csv", "--map", "good.map.yaml", "-o", "deal.yaml"], "deal.yaml"),
    "done-deal-missing": (["done", "missing-deal.yaml", "verify", "-w", "workflow.yaml", "--deals", "."], "missing-deal.yaml"),
    "done-workflow-missing": (["done", "deal.yaml", "verify", "-w", "missing.yaml"], "missing.yaml"),
    "done-unknown-job": (["done", "deal.yaml", "no-such-job", "-w", "workflow.yaml"], "no-such-job"),
    "approve-unknown-gate": (["approve", "deal.yaml", "no-such-gate", "--role", "management", "-w", "workflow.yaml"], "no-such-gate"),
    "approve-wrong-role": (["approve", "deal.yaml", "price-approved", "--role", "intern", "-w", "workflow.yaml"], "intern"),
    "done-deals-folder-missing": (["done", "GOOD-1", "verify", "-w", "workflow.yaml", "--deals", "nowhere"], "nowhere"),
    "bad-now": (["run", "-w", "workflow.yaml", "deal.yaml", "--now", "2026-02-30"], "2026-02-30"),
}


@pytest.mark.parametrize("args,name", [pytest.param(*v, id=k) for k, v in PATH_CASES.items()])
def test_paths_that_do_not_exist_or_are_folders(args: list[str], name: str, tmp_path: Path) -> None:
    shutil.copy(BASE / "workflow.yaml", tmp_path / "workflow.yaml")
    shutil.copy(BASE / "good-deal.yaml", tmp_path / "deal.yaml")
    shutil.copy(BASE / "good.csv", tmp_path)
    shutil.copy(BASE / "good.map.yaml", tmp_path)
    (tmp_path / "folder.yaml").mkdir()
    before = digest(tmp_path / "deal.yaml")
    if args[0] == "run" and "--store" not in args:
        args = [*args, "--store", f"sqlite:///{tmp_path / 's.db'}"]
    result = flowctl(*args, cwd=tmp_path, real=args[0] == "validate" and name == "missing.yaml")
    assert_refused(result, 2, [name])
    assert digest(tmp_path / "deal.yaml") == before


# --------------------------------------------------------------------------- wrong types, generated from the schemas


def _schema(kind: str) -> dict:
    return json.loads(invoke_cli("schema", kind).stdout)


def _resolve(schema: dict, root: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _types(schema: dict, root: dict) -> set[str] | None:
    schema = _resolve(schema, root)
    kind = schema.get("type")
    if kind is None:
        branches = schema.get("anyOf") or schema.get("oneOf")
        if not branches:
            return None
        found: set[str] = set()
        for branch in branches:
            t = _types(branch, root)
            if t is None:
                return None
            found |= t
        return found
    return {kind} if isinstance(kind, str) else set(kind)


def _typed_paths(schema: dict, root: dict, path: tuple = ()) -> Iterator[tuple[tuple, set[str]]]:
    """(JSON path, allowed types) of every property with a type; lists take index 0."""
    schema = _resolve(schema, root)
    for name, sub in (schema.get("properties") or {}).items():
        if name == "$schema":
            continue
        types = _types(sub, root)
        if types:
            yield path + (name,), types
        sub = _resolve(sub, root)
        if isinstance(sub.get("items"), dict):
            yield from _typed_paths(sub["items"], root, path + (name, 0))
        elif sub.get("properties"):
            yield from _typed_paths(sub, root, path + (name,))


WRONG_VALUES = [("integer", 12345), ("string", "some text"), ("boolean", True), ("array", [1, 2]),
                ("object", {"k": 1}), ("null", None)]


def _wrong_value(allowed: set[str]) -> Any:
    for kind, value in WRONG_VALUES:
        if kind in allowed or (kind == "integer" and "number" in allowed):
            continue
        return value
    raise AssertionError(allowed)


BASE_WORKFLOW_DOC = yaml.safe_load((BASE / "workflow.yaml").read_text())
BASE_DEAL_DOC = {
    "id": "TYPED-1", "name": "typed", "owner": "bob@example.com", "amount": 1000, "created": "2026-01-01",
    "jobs": {"verify": "2026-01-02"}, "approvals": {"price-approved": {"by": "ann", "role": "management", "at": "2026-01-05"}},
    "activities": [{"at": "2026-01-02", "kind": "call", "note": "hi", "by": "bob"}],
    "history": [{"stage": "prospect", "at": "2026-01-01"}],
    "orders": [{"id": "SO-1", "amount": 10, "placed": "2026-01-05", "completed": None}],
    "tags": ["a"],
}


def _set(doc: Any, path: tuple, value: Any) -> Any:
    doc = copy.deepcopy(doc)
    target = doc
    for i, step in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(target, dict):
            if not isinstance(target.get(step), (dict, list)):
                target[step] = [{}] if isinstance(nxt, int) else {}
            target = target[step]
        else:
            while len(target) <= step:
                target.append({})
            target = target[step]
    if isinstance(target, list):
        while len(target) <= path[-1]:
            target.append({})
    target[path[-1]] = value
    if "stages" in path[:1] and isinstance(doc["stages"], list):  # keep every stage's id: one problem only
        for stage in doc["stages"]:
            if isinstance(stage, dict):
                stage.setdefault("id", f"s{id(stage)}")
    return doc


def _format_path(path: tuple) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _typed_cases(kind: str) -> list[Any]:
    try:
        schema = _schema(kind)
    except (AssertionError, json.JSONDecodeError) as exc:  # reported by the test itself
        return [pytest.param(kind, (), None, id=f"{kind}-schema-unavailable-{type(exc).__name__}")]
    out = []
    for path, allowed in _typed_paths(schema, schema):
        if kind == "workflow" and path[0] in ("stages",) and len(path) > 1 and path[1] != 0:
            continue
        # A plain scalar under `id:` is the id's text (SPEC section 1): wrong ones are collections.
        value = _wrong_value(allowed | {"integer", "boolean"} if path[-1] == "id" else allowed)
        out.append(pytest.param(kind, path, value, id=f"{kind}-{_format_path(path)}-{'/'.join(sorted(allowed))}"))
    return out


TYPED = _typed_cases("workflow") + _typed_cases("deal")
CORE = ("id", "outcome", "amount", "created", "expected_close", "closed_at")  # severity.TABLE's errors


def test_schema_generation_found_the_typed_fields() -> None:
    ids = [p.id for p in TYPED]
    assert len(ids) >= 60, ids
    for expected in ("workflow-$.stages[0].probability", "workflow-$.stages[0].jobs[0].owner",
                     "workflow-$.stages[0].gates[0].approval", "deal-$.amount", "deal-$.orders[0].amount"):
        assert any(i.startswith(expected + "-") for i in ids), expected


@pytest.mark.parametrize("kind,path,value", TYPED)
def test_wrong_type_everywhere_the_schema_has_a_type(kind: str, path: tuple, value: Any, tmp_path: Path) -> None:
    assert path, "flowctl schema failed"
    real = path in (("name",), ("amount",))  # one real process per kind of file
    name = "wrong-type.yaml"
    if kind == "workflow":
        doc = _set(BASE_WORKFLOW_DOC, path, value)
        (tmp_path / name).write_text(yaml.safe_dump(doc, sort_keys=False))
        result = flowctl("validate", name, cwd=tmp_path, real=real)
    else:
        doc = _set(BASE_DEAL_DOC, path, value)
        (tmp_path / name).write_text(yaml.safe_dump(doc, sort_keys=False))
        result = flowctl("validate", "-w", BASE / "workflow.yaml", name, cwd=tmp_path, real=real)
    # A deal that cannot be placed or counted is an error; any other wrong type is a warning
    # on the deal (SPEC section 2, first rule): validate exits 0, 2 with --strict.
    if kind == "deal" and path[0] not in CORE:
        assert_refused(result, 0, [name], [f"@", "warning:"])
        result = flowctl("validate", "--strict", "-w", BASE / "workflow.yaml", name, cwd=tmp_path, real=real)
    assert_refused(result, 2, [name], [f"@"])
    assert "[" + _format_path(path) in result.output or _format_path(path) in result.output, result.describe()


# --------------------------------------------------------------------------- messages


def test_run_text_output_says_why_an_action_failed(tmp_path: Path) -> None:
    """Without --format json, a failed action must still say why (the template, the line)."""
    root = tmp_path / "project"
    (root / "templates").mkdir(parents=True)
    (root / "deals").mkdir()
    shutil.copy(BASE / "render-workflow.yaml", root / "workflow.yaml")
    shutil.copy(BASE / "good-deal.yaml", root / "deals")
    (root / "templates" / "proposal.md.j2").write_text("Hello {{ deal.name }\n")
    result = flowctl("run", "--now", NOW, cwd=root)
    assert_refused(result, 1, ["proposal.md.j2"], ["template syntax error"])


def test_done_on_a_deal_file_needs_no_deals_folder(tmp_path: Path) -> None:
    """`flowctl done FILE JOB -w elsewhere/workflow.yaml`: DEAL is a file, so no deals/
    folder beside the workflow is needed to find it."""
    deal = tmp_path / "deal.yaml"
    shutil.copy(BASE / "good-deal.yaml", deal)
    result = flowctl("done", deal.name, "meet", "-w", BASE / "workflow.yaml", "--at", "2026-02-01", cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    assert "meet: 2026-02-01" in deal.read_text()
