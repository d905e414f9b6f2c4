"""Odd documents are one deal's error, never a command's crash: non-text keys, alias
cycles, text that cannot be stored, dates at the calendar's edges; ids stay the text
written and YAML 1.1-only forms are warned about."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import Project
from engine.diagnostics import FlowctlError
from engine.yamlio import parse

ODD_DEALS = {
    "null-key.yaml": "jobs: {~: 2026-01-02}\n",
    "number-key.yaml": "1.5: x\n",
    "bool-in-list-key.yaml": "jobs: {verify: 2026-01-02, 3: 2026-01-02}\n",
    "alias-cycle.yaml": "activities: &a [*a]\n",
    "map-cycle.yaml": "x-crm: &m {self: *m}\n",
    "nul.yaml": 'notes: "a\\0b"\n',
    "far-created.yaml": "name: x\n# see below\n",
    "far-job.yaml": "jobs: {verify: 9999-12-31}\n",
    "early-activity.yaml": "activities: [{at: 0001-01-01, kind: call}]\n",
}
CREATED = {"far-created.yaml": "9999-12-31"}


def _write_odd(project: Project) -> None:
    project.deal("GOOD")
    for i, (name, body) in enumerate(ODD_DEALS.items()):
        created = CREATED.get(name, "2026-01-01")
        (project.deals / name).write_text(f"id: ODD-{i}\namount: 10\ncreated: {created}\n{body}")
    (project.deals / "surrogate.json").write_text('{"id": "J1", "name": "\\ud800", "created": "2026-01-01"}')
    (project.deals / "nul.json").write_text('{"id": "J2", "notes": "a\\u0000", "created": "2026-01-01"}')


@pytest.mark.parametrize("command", [("run", "--format", "json"), ("status",), ("report", "-o", "{tmp}/r.html"),
                                     ("metrics",), ("forecast",)])
def test_each_odd_deal_is_its_own_error_and_the_others_go_on(cli, project, command):
    _write_odd(project)
    args = [a.replace("{tmp}", str(project.root)) for a in command]
    if command[0] == "run":
        result = cli("run", str(project.deals), *project.args(*args[1:], "--now", "2026-01-05"))
    else:
        result = cli(args[0], str(project.deals), *args[1:], "-w", str(project.workflow), "--now", "2026-01-05")
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    if command[0] == "run":
        data = json.loads(result.stdout)
        by_id = {d["id"] or d["file"]: d for d in data["deals"]}
        assert by_id["GOOD"]["stage"] == "prospect"
        bad = [d for d in data["deals"] if d["id"] != "GOOD"]
        # An unreadable document is an error; a far date on a job or activity is a warning
        # on a deal still evaluated without it (issue 11's severity table): never silence.
        assert len(bad) == len(ODD_DEALS) + 2 and all(d["errors"] or d.get("warnings") for d in bad)


@pytest.mark.parametrize("key", ["~", "null", "3", "1.5", "0x1f", "1:30", "-7", "010"])
def test_keys_that_are_not_text_are_refused_with_their_position(key):
    with pytest.raises(FlowctlError) as exc:
        parse(f"id: D\njobs:\n  verify: 2026-01-02\n  {key}: 2026-01-03\n", "d.yaml")
    d = exc.value.diagnostics[0]
    assert (d.line, d.column) == (4, 3) and "a key must be text" in d.message


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=1),
       st.sampled_from(["name", "notes", "owner"]))
def test_lone_surrogates_from_json_are_refused(chars, field):
    escaped = "".join(f"\\u{ord(c):04x}" for c in chars)
    with pytest.raises(FlowctlError) as exc:
        parse(f'{{"id": "D", "{field}": "x{escaped}"}}', "d.json")
    assert "surrogate" in exc.value.diagnostics[0].message and exc.value.diagnostics[0].line == 1


@pytest.mark.parametrize("text", ["010", "0123", "1e3", "2026-01-05", "1:30", "0x1F", "true", "1_000", "12"])
def test_deal_ids_are_the_text_as_written(text):
    assert parse(f"id: {text}\nname: x\n", "d.yaml")["id"] == text
    assert parse(f"deals:\n  - id: {text}\n", "d.yaml")["deals"][0]["id"] == text
    assert parse("id: ~\n", "d.yaml")["id"] is None


@pytest.mark.parametrize("text, value, why", [
    ("1:30:00", 5400, "base 60"), ("010", 8, "octal"), ("0b101", 5, "binary"), ("1_000", 1000, "digit separators"),
    ("yes", True, "boolean"), ("Off", False, "boolean"), ("1:30.5", 90.5, "base 60"),
])
def test_yaml_1_1_forms_are_warned_about(text, value, why):
    notes: list = []
    assert parse(f"id: D\namount: {text}\n", "d.yaml", notes)["amount"] == value
    assert len(notes) == 1 and why in notes[0].message and (notes[0].line, notes[0].column) == (2, 9)
    assert notes[0].severity == "warning"


@pytest.mark.parametrize("text", ["120000", "0", "-5", "2.5", "true", "false", "'1:30'", "0x10", "1e3"])
def test_forms_both_yaml_versions_agree_on_are_not_warned_about(text):
    notes: list = []
    parse(f"amount: {text}\n", "d.yaml", notes)
    assert notes == []


def test_validate_shows_the_warning_on_the_deal(cli, project):
    path = project.deals / "D1.yaml"
    path.write_text("id: D1\ncreated: 2026-01-01\namount: 1:30:00\n")
    result = cli("validate", "-w", str(project.workflow), str(path))
    assert "D1.yaml:3:9: warning: `1:30:00` is read as the number 5400 (YAML 1.1 base 60)" in result.output


def test_a_deal_with_20000_unknown_job_keys_gets_every_one_positioned(cli, project):
    # Positions are looked up from an index of each mapping (built once): linear, not
    # one scan of the mapping per diagnostic. Timing is benchmarks/diagnostics_scaling.py's.
    path = project.deals / "big.yaml"
    path.write_text("id: BIG\ncreated: 2026-01-01\njobs:\n" + "".join(f"  unknown-{i}: 2026-01-02\n" for i in range(20000)))
    result = cli("validate", "-w", str(project.workflow), str(path), "--format", "json")
    found = json.loads(result.stdout)["diagnostics"]
    assert len(found) == 20000
    assert all(d["line"] == 4 + int(d["path"].rsplit("-", 1)[1]) for d in found)


def test_a_deal_whose_evaluation_fails_unforeseen_is_that_deals_error(cli, project, monkeypatch):
    import flowctl.pipeline  # the module the CLI runs (engine/ installed as flowctl)
    real = flowctl.pipeline.evaluate

    def flaky(cw, deal, *args, **kwargs):
        if deal.get("id") == "BAD":
            raise OverflowError("date value out of range")
        return real(cw, deal, *args, **kwargs)

    monkeypatch.setattr(flowctl.pipeline, "evaluate", flaky)
    project.deal("GOOD")
    project.deal("BAD")
    result = cli("status", str(project.deals), "-w", str(project.workflow), "--now", "2026-01-05")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "cannot evaluate this deal: OverflowError: date value out of range" in result.output
