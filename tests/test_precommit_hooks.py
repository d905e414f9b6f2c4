""".pre-commit-hooks.yaml, run by the real pre-commit (from PyPI, the `test` extra) on
temporary git repositories laid out as `flowctl init` lays them out.

pre-commit installs this repository into a virtualenv of its own (`language: python`),
as a user's machine would (15-25 s here). `try-repo` does so on every call, into a store of
its own, so it runs once (the documented `try-repo --all-files`); the other checks share one
store for the module, installed once: `pre-commit run` with the config try-repo would write
(this snapshot, both hooks), which is what try-repo runs.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flowctl.testing import invoke_cli as invoke

ROOT = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT = 900  # a first install downloads flowctl's dependencies
pytestmark = pytest.mark.xdist_group("pre-commit-store")  # one worker installs the store once (scripts/test)
GIT = ["git", "-c", "user.name=flowctl tests", "-c", "user.email=tests@flowctl.invalid", "-c", "commit.gpgsign=false",
       "-c", "init.defaultBranch=main"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def pre_commit(cwd: Path, *args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never", "SKIP": ""}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=INSTALL_TIMEOUT)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    """This working tree, committed into a scratch repository (what a user's config
    would pin with `rev:`)."""
    pytest.importorskip("pre_commit")
    repo = tmp_path_factory.mktemp("hooks") / "flowctl"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "snapshot")
    return repo, git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def sales_repo(tmp_path) -> Path:
    """A company's repository: `flowctl init`'s scaffold, committed."""
    repo = tmp_path / "sales"
    assert invoke("init", repo).exit_code == 0
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "our sales process")
    return repo


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def configure(repo: Path, hook_repo: tuple[Path, str]) -> None:
    path, rev = hook_repo
    config = {"repos": [{"repo": str(path), "rev": rev, "hooks": [{"id": "flowctl-deals"}, {"id": "flowctl-workflow"}]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))


def test_the_hooks_are_declared_as_pre_commit_reads_them():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"flowctl-deals", "flowctl-workflow"}
    assert all(h["language"] == "python" and h["entry"] == "flowctl validate" for h in hooks.values())
    assert hooks["flowctl-deals"]["pass_filenames"] is True and hooks["flowctl-workflow"]["pass_filenames"] is False


def test_try_repo_passes_a_good_repository(hook_repo, sales_repo, tmp_path):
    done = pre_commit(sales_repo, "try-repo", str(hook_repo[0]), "--ref", hook_repo[1], "--all-files", home=tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("Passed") == 2  # both hooks ran and passed


def test_a_bad_deal_is_refused_with_its_position(hook_repo, sales_repo, store):
    configure(sales_repo, hook_repo)
    shutil.copy(sales_repo / "deals-to-fix" / "ACME-2026-099.yaml", sales_repo / "deals" / "ACME-2026-099.yaml")
    git(sales_repo, "add", "deals")
    done = pre_commit(sales_repo, "run", home=store)
    assert done.returncode == 1, done.stdout + done.stderr
    # a misspelt job is a warning; the hooks validate --strict, so the commit is refused
    assert "deals/ACME-2026-099.yaml:14:3: warning: unknown job 'verfy-prospect'" in done.stdout
    assert "flowctl validate (workflow, with every deal)" in done.stdout and "Skipped" in done.stdout


def test_a_commit_is_refused_then_accepted_once_fixed(hook_repo, sales_repo, store):
    configure(sales_repo, hook_repo)
    assert pre_commit(sales_repo, "install", home=store).returncode == 0
    deal = sales_repo / "deals" / "ACME-2026-001.yaml"
    deal.write_text(deal.read_text("utf-8").replace("amount: 85000", "amount: lots"), "utf-8")
    git(sales_repo, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(store), "PRE_COMMIT_COLOR": "never"}
    refused = subprocess.run([*GIT, "commit", "-qm", "typo"], cwd=sales_repo, capture_output=True, text=True, env=env,
                             timeout=INSTALL_TIMEOUT)
    assert refused.returncode != 0
    assert "deals/ACME-2026-001.yaml:8:9: error: expected number" in refused.stdout + refused.stderr
    deal.write_text(deal.read_text("utf-8").replace("amount: lots", "amount: 86000"), "utf-8")
    git(sales_repo, "add", "-A")
    accepted = subprocess.run([*GIT, "commit", "-qm", "fixed"], cwd=sales_repo, capture_output=True, text=True, env=env,
                              timeout=INSTALL_TIMEOUT)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_a_workflow_change_that_breaks_a_deal_is_refused(hook_repo, sales_repo, store):
    """Removing a job the deals record: the workflow hook checks every deal against it."""
    configure(sales_repo, hook_repo)
    workflow = sales_repo / "workflow.yaml"
    text = workflow.read_text("utf-8")
    assert "{id: site-survey," in text
    workflow.write_text(text.replace("{id: site-survey,", "{id: site-visit,"), "utf-8")
    git(sales_repo, "add", "-A")
    done = pre_commit(sales_repo, "run", home=store)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "unknown job 'site-survey'" in done.stdout and "deals/ACME-2026-006.yaml:" in done.stdout


def test_a_broken_workflow_is_refused_with_its_position(hook_repo, sales_repo, store):
    configure(sales_repo, hook_repo)
    workflow = sales_repo / "workflow.yaml"
    workflow.write_text(workflow.read_text("utf-8").replace("currency: EUR", "currency: euro"), "utf-8")
    git(sales_repo, "add", "-A")
    done = pre_commit(sales_repo, "run", home=store)
    assert done.returncode == 1
    line = next(i for i, l in enumerate(workflow.read_text("utf-8").splitlines(), 1) if l.startswith("currency:"))
    assert f"workflow.yaml:{line}:11: error:" in done.stdout


def test_files_outside_deals_are_not_checked_as_deals(hook_repo, sales_repo, store):
    configure(sales_repo, hook_repo)
    (sales_repo / "notes.yaml").write_text("not: [a, deal\n")
    (sales_repo / "deals" / "ACME-2026-011.json").write_text('{"id": "ACME-2026-011", "amount": 5}\n')
    git(sales_repo, "add", "-A")
    done = pre_commit(sales_repo, "run", home=store)
    assert done.returncode == 0, done.stdout + done.stderr
