"""A deal as of a past date (engine/asof.py): dated amounts, probabilities, expected
closes and forecast categories; deals with no dated fact left out; and the proof on the
real Maven data that no fact dated after D changes any figure as of D, in any command."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from flowctl.testing import invoke_cli as invoke
from flowctl.asof import as_of, exists_on, value_as_of

ROOT = Path(__file__).resolve().parents[1]
D = dt.date(2017, 6, 15)
NOW = "2017-12-31"
pytestmark = pytest.mark.xdist_group("asof-twins")  # one worker builds the twins (scripts/test: --dist loadgroup)


def test_amount_as_of_comes_from_the_last_history_entry_on_or_before_the_date():
    deal = {"id": "X", "created": "2026-10-01", "amount": 120000, "outcome": "won", "closed_at": "2026-12-01",
            "history": [{"stage": "prospect", "at": "2026-10-01", "amount": 100000},
                        {"at": "2026-11-15", "amount": 120000, "probability": 0.8}]}
    then = as_of(deal, dt.date(2026, 11, 1))
    assert then["amount"] == 100000 and then["outcome"] == "open" and then["closed_at"] is None
    assert "probability" not in then  # named only after the date: unknown then, the stage's applies
    later = as_of(deal, dt.date(2026, 11, 20))
    assert later["amount"] == 120000 and later["probability"] == 0.8
    assert as_of(deal, dt.date(2026, 9, 30)) is None  # not created yet


def test_top_level_value_when_no_entry_names_the_field():
    deal = {"id": "X", "created": "2026-10-01", "amount": 5, "expected_close": "2027-01-01",
            "history": [{"stage": "a", "at": "2026-10-01"}]}
    assert as_of(deal, dt.date(2026, 10, 2))["amount"] == 5
    assert value_as_of(deal, "expected_close", dt.date(2026, 10, 2)) == (True, "2027-01-01")


def test_only_later_entries_name_it_so_it_is_unknown_then():
    # SPEC says "else the earliest entry"; that entry is dated after D, so using it would leak.
    deal = {"id": "X", "created": "2026-10-01", "amount": 9, "history": [{"at": "2026-11-01", "amount": 7}]}
    assert "amount" not in as_of(deal, dt.date(2026, 10, 15))


def test_a_deal_without_created_exists_from_its_first_dated_fact():
    deal = {"id": "X", "history": [{"stage": "b", "at": "2026-03-01"}], "jobs": {"j": True}}
    assert not exists_on(deal, dt.date(2026, 2, 28)) and exists_on(deal, dt.date(2026, 3, 1))
    assert as_of({"id": "undated", "amount": 3}, dt.date(2030, 1, 1)) is None


def test_same_date_entries_the_later_in_the_file_wins():
    deal = {"id": "X", "created": "2026-01-01", "history": [{"at": "2026-02-01", "amount": 1},
                                                             {"at": "2026-02-01", "amount": 2}]}
    assert as_of(deal, dt.date(2026, 2, 1))["amount"] == 2


dates = st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
entries = st.lists(st.fixed_dictionaries({"at": dates.map(dt.date.isoformat)},
                                         optional={"amount": st.integers(0, 10**6),
                                                   "probability": st.floats(0, 1),
                                                   "forecast_category": st.sampled_from(["pipeline", "commit"])}),
                   max_size=6)


@settings(max_examples=200, deadline=None)
@given(entries, dates, dates, st.integers(0, 10**6), st.sampled_from(["won", "lost", "open"]))
def test_no_fact_after_the_date_changes_the_deal_as_of_it(history, when, closed, amount, outcome):
    deal = {"id": "P", "created": "2026-01-01", "amount": amount, "outcome": outcome, "closed_at": closed.isoformat(),
            "history": history}
    later = {"amount": 42, "probability": 0.5, "forecast_category": "commit"}
    changed = {**deal, "history": [{**e, **{k: later[k] for k in e if k in later}} if e["at"] > when.isoformat()
                                   else e for e in history]}
    if closed > when:  # a later closing: flip it, move it, change the won value
        changed.update(outcome="lost" if outcome == "won" else "won",
                       closed_at=(closed + dt.timedelta(days=3)).isoformat())
        if any("amount" in e for e in history):  # else the undated top-level amount is the only one known
            changed["amount"] = amount + 1
    assert as_of(deal, when) == as_of(changed, when)


# ---------------------------------------------------------------------------------
# the proof on the Maven data: rewrite every fact dated after D, nothing as of D moves
# ---------------------------------------------------------------------------------

def _later(value: object) -> bool:
    return isinstance(value, dt.date) and value > D


def rewrite_after(deal: dict) -> dict:
    """Every fact dated after D changed: outcomes flipped, won values and close dates moved."""
    out = json.loads(json.dumps(deal, default=str))
    if _later(deal.get("created")):
        out["amount"] = (deal.get("amount") or 0) * 3 + 1
        out["product"] = "something else"
    if _later(deal.get("closed_at")):
        out["outcome"] = {"won": "lost", "lost": "won"}.get(deal["outcome"], "won")
        out["closed_at"] = (deal["closed_at"] + dt.timedelta(days=11)).isoformat()
        out["amount"] = (deal.get("amount") or 0) * 2 + 7
    for new, old in zip(out.get("history") or [], deal.get("history") or []):
        if _later(old.get("at")):
            new["at"] = (old["at"] + dt.timedelta(days=11)).isoformat()
            new["amount"] = (old.get("amount") or 0) * 2 + 7
            new["probability"] = 0.99
    return out


@pytest.fixture(scope="module")
def twins(maven_import, session_folder) -> tuple[Path, Path]:
    """The Maven import, and a copy with every fact after D rewritten. The commands write
    their reports beside workflow.yaml, so `a` is a folder of its own whose deals are hard
    links to conftest's one import of the session (they are only read); both beside it,
    in RAM when the machine has /dev/shm."""
    base = Path(tempfile.mkdtemp(prefix="asof-", dir=session_folder))
    a, b = base / "a", base / "b"
    for folder in (a, b):
        folder.mkdir()
        for name in ("workflow.yaml", "map.yaml"):
            shutil.copy(ROOT / "examples" / "maven" / name, folder / name)
    shutil.copytree(maven_import / "deals", a / "deals", copy_function=os.link)
    (b / "deals").mkdir()
    changed = 0
    for path in (a / "deals").iterdir():  # libyaml: the same data and text as safe_load/dump, 5x sooner
        deal = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        new = rewrite_after(deal)
        changed += new != json.loads(json.dumps(deal, default=str))
        (b / "deals" / path.name).write_text(yaml.dump(new, Dumper=yaml.CSafeDumper, sort_keys=False))
    assert changed > 3000  # most of the data set has facts after D
    return a, b


COMMANDS = [
    ("status", "--format", "json"),
    ("metrics", "--format", "json"),
    ("backlog", "--format", "json"),
    ("forecast", "--method", "weighted", "--format", "json"),
    ("forecast", "--method", "historical", "--format", "json"),
    ("forecast", "--method", "montecarlo", "--trials", "500", "--format", "json"),
    ("forecast", "--method", "runrate", "--format", "json"),
    ("forecast", "--backtest", "--trials", "200", "--format", "json"),
    ("report", "-o", "report.md"),
    ("board", "-o", "board.html"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:3]))
def test_no_fact_after_the_date_changes_any_figure_as_of_it(twins, command):
    outputs = []
    for folder in twins:
        result = invoke(*command, "-w", "workflow.yaml", "--now", NOW, "--as-of", D.isoformat(), cwd=folder)
        assert result.exit_code == 0, result.output
        written = [a for a in command if a.endswith((".md", ".html"))]
        outputs.append((folder / written[0]).read_text() if written else result.stdout)
    assert outputs[0] == outputs[1]
    if command[0] in ("metrics", "status"):
        data = json.loads(outputs[0])
        left_out = data["left_out"] if command[0] == "metrics" else data["summary"]["left_out"]
        assert left_out > 4000  # created after D, and the 500 undated Prospecting rows


def test_the_rewrite_does_change_figures_today(twins):
    a, b = (json.loads(invoke("metrics", "-w", "workflow.yaml", "--now", NOW, "--format", "json", cwd=f).stdout)
            for f in twins)
    assert a["metrics"] != b["metrics"]
