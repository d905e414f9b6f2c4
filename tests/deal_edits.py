"""What the tests of flowctl.dealedit and of its YAML and JSON edits share: a date, deal
files written and read as bytes, and the YAML loaders every YAML edit is run with."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import strategies as st

from flowctl import dealedit, dealedit_yaml
from flowctl.dealedit import record_job_done

D = date(2026, 11, 23)
LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])


@pytest.fixture(params=LOADERS, ids=lambda loader: loader.__name__)
def each_loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type:
    """libyaml's marks and the pure-Python loader's (in each module that reads YAML): a
    test using this runs with both."""
    for module in (dealedit, dealedit_yaml):
        monkeypatch.setattr(module, "_LOADER", request.param)
    return request.param


def put(tmp_path: Path, text: str, name: str = "deal.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def get(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def done(tmp_path: Path, text: str, job: str = "send-offer", name: str = "deal.yaml", deal: str = "A", **kw: object) -> str:
    """Record ``job`` in a file holding ``text``; return the new text (asserting it was written)."""
    path = put(tmp_path, text, name)
    assert record_job_done(path, deal, job, at=kw.pop("at", D), **kw) is True  # type: ignore[arg-type]
    return get(path)


# Property tests: job ids and short texts (names, deal ids) of every kind of character.
JOB = st.from_regex(r"[a-z][a-z0-9_-]{0,11}", fullmatch=True)
TEXT = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=16
)
