"""Shared fixtures: a scratch project (workflow + deals) and the CLI runner (flowctl.testing.invoke_cli)."""
from __future__ import annotations

import os
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest
import yaml
from click.testing import Result

from flowctl.model import Workflow
from flowctl.plugin_manager import Plugins
from flowctl.testing import invoke_cli
from flowctl.workflow import load_workflow

sys.path.insert(0, os.path.dirname(__file__))  # test helpers (servers.py, pg_server.py)
from shared_data import MAVEN, import_maven_once, new_session_folder  # noqa: E402

WORKFLOW = """\
flowctl: 1
name: test-sales
locale: en
currency: EUR
fields:
  roi: {type: number}
stages:
  - id: prospect
    probability: 0.1
    max_days: 10
    rot_days: 5
    jobs:
      - {id: verify, title: Verify the prospect, owner: rep, due: 7d}
      - {id: meet, required: false}
  - id: qualified
    probability: 0.3
    jobs:
      - {id: agenda, due: 3d, owner: alice@example.com}
    gates:
      - {id: roi-ok, when: "deal.roi >= 1.2", message: ROI too low}
  - id: proposed
    probability: 0.6
    gates:
      - {id: price-approved, approval: management}
  - id: closed
    terminal: true
    jobs:
      - {id: deliver, due: 30d}
"""


ANALYTICS_WORKFLOW = Path(__file__).parent / "data" / "analytics" / "workflow.yaml"


class Project:
    """A workflow file and a deals/ folder in a temporary directory: the one project
    builder of the tests (plugin-style tests use flowctl.testing's `flowctl_project`)."""

    def __init__(self, root: Path, workflow: str = WORKFLOW):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.workflow = root / "workflow.yaml"
        self.workflow.write_text(workflow)
        self.deals = root / "deals"
        self.deals.mkdir(exist_ok=True)

    @classmethod
    def analytics(cls, root: Path, deals: Iterable[dict] = (), **workflow_changes: Any) -> "Project":
        """tests/data/analytics/workflow.yaml with these top-level keys replaced, and these deals."""
        workflow = yaml.safe_load(ANALYTICS_WORKFLOW.read_text())
        project = cls(root, yaml.safe_dump({**workflow, **workflow_changes}, sort_keys=False))
        project.data(*deals)
        return project

    def data(self, *deals: dict) -> None:
        """Each deal, given as data, written as YAML to deals/<id>.yaml."""
        for deal in deals:
            (self.deals / f"{deal['id']}.yaml").write_text(yaml.safe_dump(deal, sort_keys=False))

    def deal(self, deal_id: str, body: str = "", name: str | None = None, owner: str = "bob@example.com") -> Path:
        """deals/<name, else id.yaml>: id, owner, amount 1000, created 2026-01-01, then `body` (dedented)."""
        path = self.deals / (name or f"{deal_id}.yaml")
        path.write_text(f"id: {deal_id}\nowner: {owner}\namount: 1000\ncreated: 2026-01-01\n"
                        + textwrap.dedent(body))
        return path

    def args(self, *extra: str) -> list[str]:
        return [*extra, "-w", str(self.workflow), "--store", f"sqlite:///{self.root / 'state.db'}"]


@pytest.fixture(scope="session")
def analytics_workflow() -> Workflow:
    """tests/data/analytics/workflow.yaml, loaded once; shared: a test changes a copy (dataclasses.replace)."""
    workflow, diagnostics = load_workflow(str(ANALYTICS_WORKFLOW), Plugins())
    assert workflow is not None, diagnostics
    return workflow


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture
def cli() -> Callable[..., Result]:
    """`cli(*args, cwd=, env=, input=)`: the CLI in-process, the runner of flowctl.testing
    (the one its `flowctl_run` fixture uses)."""
    return invoke_cli


SESSION_FOLDER = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the xdist controller, or a run without xdist, owns it
        config.stash[SESSION_FOLDER] = new_session_folder()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker is told the controller's session folder."""
    node.workerinput["flowctl_session_folder"] = str(node.config.stash[SESSION_FOLDER])


def pytest_unconfigure(config: pytest.Config) -> None:
    if SESSION_FOLDER in config.stash:  # after every worker has finished
        shutil.rmtree(config.stash[SESSION_FOLDER], ignore_errors=True)


@pytest.fixture(scope="session")
def session_folder(pytestconfig: pytest.Config) -> Path:
    """One folder for the whole session, every xdist worker's tests included, in RAM when
    the machine has /dev/shm; removed when the session ends. For big data the tests share
    read-only (each writer makes its own subfolder)."""
    workerinput = getattr(pytestconfig, "workerinput", None)
    return Path(workerinput["flowctl_session_folder"]) if workerinput else pytestconfig.stash[SESSION_FOLDER]


@pytest.fixture(scope="session")
def maven_import(session_folder: Path) -> Path:
    """The Maven CRM export imported with examples/maven's map, once for the whole session
    (every xdist worker's tests read the same folder): workflow.yaml, map.yaml, deals/.
    Read-only: a test that writes there works on a copy."""
    if not (MAVEN / "sales_pipeline.csv").is_file():
        pytest.skip(f"Maven data set not found at {MAVEN} (set FLOWCTL_MAVEN_DIR)")
    return import_maven_once(session_folder, os.environ.get("PYTEST_XDIST_WORKER", "main"))
