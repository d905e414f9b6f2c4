"""The workflow language: built-in workflows, `extends`, durations, expressions, and the
JSON Schemas `flowctl schema` prints for editors."""
from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml

from flowctl.durations import parse_duration
from flowctl.plugin_manager import Plugins
from flowctl.workflow import load_workflow, merged_document
from flowctl.yamlio import parse

from flowctl.testing import invoke_cli as invoke  # noqa: E402

HERE = Path(__file__).parent
REPO = HERE.parent
VALID = HERE / "data" / "valid"
INVALID = HERE / "data" / "invalid"
BUILTINS = REPO / "workflows"
INIT = BUILTINS / "init"

SIX = ["prospect", "qualified", "discovery", "developed", "proposed", "closed"]
SEVEN = ["lead-generation", "prospecting", "lead-qualification", "initial-contact", "proposal", "negotiation",
         "follow-up"]


@pytest.fixture(scope="module")
def plugins():
    return Plugins(())


def load(path, plugins):
    workflow, diagnostics = load_workflow(str(path), plugins)
    return workflow, [d.format() for d in diagnostics]


def merged(path) -> dict:
    return merged_document(str(path))


def stage_ids(doc: dict) -> list[str]:
    return [s["id"] for s in doc["stages"]]


def stage(doc: dict, ident: str) -> dict:
    return next(s for s in doc["stages"] if s["id"] == ident)


def ids(items) -> list[str]:
    return [x["id"] for x in items or []]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


# ---------------------------------------------------------------------------------------
# built-in workflows


@pytest.mark.parametrize("name", ["six-stage", "seven-stage"])
def test_builtin_loads_without_diagnostics(name, plugins):
    workflow, diagnostics = load(f"builtin:{name}", plugins)
    assert diagnostics == []
    assert workflow is not None and workflow.name == name


@pytest.mark.parametrize("name", ["six-stage", "seven-stage"])
def test_builtin_file_validates_with_the_cli(name):
    result = invoke("validate", str(BUILTINS / f"{name}.yaml"))
    assert result.stdout == "" and result.exit_code == 0


def test_six_stage_ids(plugins):
    workflow, _ = load("builtin:six-stage", plugins)
    assert [s.id for s in workflow.stages] == SIX
    assert workflow.stages[-1].terminal
    # Every job the seeds name for each stage.
    jobs = {s.id: [j.id for j in s.jobs] for s in workflow.stages}
    assert jobs["prospect"][:2] == ["verify-prospect", "meet-producers"]
    assert set(jobs["qualified"]) == {"draw-up-agendas", "decide-product-creation", "schedule-follow-ups"}
    assert set(jobs["discovery"]) == {"uncover-issues", "analyse-purchase-issues", "prioritise-and-price",
                                      "secure-funding", "identify-allies-enemies"}
    assert set(jobs["developed"]) == {"develop-plan", "customer-visits", "evaluate-resources"}
    assert {"final-proposal", "prospect-approves-contracts", "agree-changes", "send-to-legal"} <= set(jobs["proposed"])
    assert {"contracts-signed", "revenue-credited", "track-satisfaction"} <= set(jobs["closed"])
    developed = workflow.stage_by_id["developed"]
    assert {g.id: g.approval for g in developed.gates} == {"price-approved": "management", "roi-approved": "management"}


def test_seven_stage_ids_and_bant_gate(plugins):
    workflow, _ = load("builtin:seven-stage", plugins)
    assert [s.id for s in workflow.stages] == SEVEN
    assert workflow.stages[-1].terminal
    qualification = workflow.stage_by_id["lead-qualification"]
    bant = {g.id: g for g in qualification.gates}["bant"]
    for part in ("budget", "authority", "need", "timeline"):
        assert f"deal.bant.{part}" in bant.when
    assert set(workflow.fields["bant"]["properties"]) == {"budget", "authority", "need", "timeline"}
    # The seven stages as seed 004 names them, labelled in every catalog language.
    for stage in workflow.stages:
        assert isinstance(stage.name, dict) and set(stage.name) >= {"en", "es", "de", "fr"}, stage.id
    assert workflow.stage_by_id["prospecting"].text("es") == "Prospección"
    assert "research-and-contact" in [j.id for j in workflow.stage_by_id["prospecting"].jobs]


@pytest.mark.parametrize("name", ["six-stage", "seven-stage"])
def test_builtin_labels_in_three_languages(name, plugins):
    workflow, _ = load(f"builtin:{name}", plugins)
    for s in workflow.stages:
        assert isinstance(s.name, dict) and {"en", "es", "de"} <= set(s.name), s.id
        assert all(s.name[lang].strip() for lang in ("en", "es", "de"))
        for job in s.jobs:
            assert isinstance(job.title, dict) and {"en", "es", "de"} <= set(job.title), job.id
            assert all(job.title[lang].strip() for lang in ("en", "es", "de"))
        for gate in s.gates:
            assert isinstance(gate.message, dict) and {"en", "es", "de"} <= set(gate.message), gate.id
    document = parse((BUILTINS / f"{name}.yaml").read_text("utf-8"), f"{name}.yaml")
    for s in document["stages"]:
        assert {"en", "es", "de"} <= set(s["description"]), s["id"]


def test_six_stage_speaks_french_too(plugins):
    workflow, _ = load("builtin:six-stage", plugins)
    for s in workflow.stages:
        assert s.name["fr"].strip() and all(job.title["fr"].strip() for job in s.jobs), s.id
        assert all(gate.message["fr"].strip() for gate in s.gates), s.id
    assert workflow.stage_by_id["qualified"].text("fr") == "Qualifiée"


@pytest.mark.parametrize("name", ["six-stage", "seven-stage"])
def test_builtin_probabilities_do_not_fall(name, plugins):
    workflow, _ = load(f"builtin:{name}", plugins)
    probabilities = [s.probability for s in workflow.stages]
    assert probabilities == sorted(probabilities)
    assert probabilities[-1] == 1.0 and 0 < probabilities[0] < 1


@pytest.mark.parametrize("name", ["six-stage", "seven-stage"])
def test_builtin_jobs_and_gates_are_unique_and_durations_parse(name, plugins):
    document = parse((BUILTINS / f"{name}.yaml").read_text("utf-8"), f"{name}.yaml")
    jobs = [j for s in document["stages"] for j in s.get("jobs", [])]
    gates = [g for s in document["stages"] for g in s.get("gates", [])]
    assert len(ids(jobs)) == len(set(ids(jobs)))
    assert len(ids(gates)) == len(set(ids(gates)))
    for job in jobs:
        if "due" in job:
            assert parse_duration(job["due"]).total_seconds() > 0


def test_show_merged_of_a_builtin():
    result = invoke("validate", "--show-merged", "-w", "builtin:six-stage")
    assert result.exit_code == 0
    assert stage_ids(yaml.safe_load(result.stdout)) == SIX


# ---------------------------------------------------------------------------------------
# extends: the 15-line company overlay


def test_company_overlay_is_short_and_validates():
    overlay = VALID / "overlay.yaml"
    assert len(overlay.read_text("utf-8").splitlines()) <= 15
    result = invoke("validate", str(overlay))
    assert result.stdout == "" and result.exit_code == 0


def test_show_merged_places_added_and_drops_removed():
    result = invoke("validate", "--show-merged", "-w", "overlay.yaml", cwd=VALID)
    assert result.exit_code == 0, result.output
    doc = parse(result.stdout, "merged.yaml")
    assert "extends" not in doc
    assert "__src__" not in json.dumps(doc) and "__top__" not in json.dumps(doc)
    # The new stage goes right after `proposed`, before the terminal `closed`.
    assert stage_ids(doc) == ["prospect", "qualified", "discovery", "developed", "proposed", "negotiation", "closed"]
    prospect = stage(doc, "prospect")
    # Changed field by field: the probability is the overlay's, everything else the base's.
    assert prospect["probability"] == 0.08
    assert prospect["name"] == {"en": "Prospect", "es": "Perspectiva", "de": "Interessent", "fr": "Prospect"}
    assert prospect["max_days"] == 21
    # check-credit placed after verify-prospect; meet-producers removed.
    assert ids(prospect["jobs"]) == ["verify-prospect", "check-credit"]
    assert "after" not in prospect["jobs"][1] and "remove" not in json.dumps(doc)
    assert ids(stage(doc, "developed")["gates"]) == ["price-approved"]
    negotiation = stage(doc, "negotiation")
    assert "after" not in negotiation
    assert negotiation["jobs"] == [{"id": "negotiate", "title": "Negotiate the terms", "due": "2w"}]
    assert doc["name"] == "acme"


def test_show_merged_as_json():
    result = invoke("validate", "--show-merged", "--format", "json", "-w", "overlay.yaml", cwd=VALID)
    doc = json.loads(result.stdout)
    assert stage_ids(doc)[-2:] == ["negotiation", "closed"]


def test_show_merged_takes_the_first_file_without_w():
    result = invoke("validate", "--show-merged", "overlay.yaml", cwd=VALID)
    assert stage_ids(yaml.safe_load(result.stdout))[-2] == "negotiation"


def test_show_merged_of_a_broken_workflow_exits_2():
    result = invoke("validate", "--show-merged", "-w", "wf-extends-cycle.yaml", cwd=INVALID)
    assert result.exit_code == 2
    assert "extends cycle" in result.output


def test_empty_overlay_merges_to_the_base():
    base = merged("builtin:six-stage")
    empty = merged(VALID / "empty-overlay.yaml")
    assert stage_ids(empty) == SIX
    assert empty["stages"] == base["stages"]
    result = invoke("validate", "--show-merged", "-w", "empty-overlay.yaml", cwd=VALID)
    assert yaml.safe_load(result.stdout)["stages"] == base["stages"]


def test_the_merged_model_of_the_overlay(plugins):
    workflow, diagnostics = load(VALID / "overlay.yaml", plugins)
    assert diagnostics == []
    assert [s.id for s in workflow.stages] == ["prospect", "qualified", "discovery", "developed", "proposed",
                                              "negotiation", "closed"]
    assert workflow.stages[-1].terminal and not workflow.stage_by_id["negotiation"].terminal
    assert "meet-producers" not in workflow.job_by_id and "check-credit" in workflow.job_by_id
    assert "roi-approved" not in workflow.gate_by_id


# ---------------------------------------------------------------------------------------
# extends: semantics


def test_chain_of_three_files():
    doc = merged(VALID / "chain" / "top.yaml")
    assert doc["name"] == "top"
    assert stage_ids(doc) == ["lead", "offer", "contract", "won"]  # qualify added by middle, removed by top
    lead = stage(doc, "lead")
    assert lead["probability"] == 0.2  # middle changed it
    assert ids(lead["jobs"]) == ["call", "visit", "mail"]  # visit after call (middle)
    assert next(j for j in lead["jobs"] if j["id"] == "mail") == {"id": "mail", "title": "Mail them", "required": True}
    assert ids(stage(doc, "offer")["gates"]) == ["roi-ok"]  # price-ok removed, roi-ok added (top)
    assert doc["quotas"] == {"default": 100, "alice": 200, "bob": 300}  # maps merge key by key
    assert doc["fields"] == {"roi": {"type": "number"}, "seats": {"type": "integer"}}
    assert doc["currency"] == "EUR"


def test_chain_resolves_relative_paths_from_each_file_not_from_the_current_folder(tmp_path):
    top = VALID / "chain" / "top.yaml"
    from_elsewhere = invoke("validate", "--show-merged", "-w", os.path.relpath(top, tmp_path), cwd=tmp_path)
    assert from_elsewhere.exit_code == 0, from_elsewhere.output
    assert stage_ids(yaml.safe_load(from_elsewhere.stdout)) == ["lead", "offer", "contract", "won"]
    assert invoke("validate", str(top)).exit_code == 0


def test_chain_checks_expressions_against_fields_of_every_file(plugins):
    workflow, diagnostics = load(VALID / "chain" / "top.yaml", plugins)
    assert diagnostics == []
    assert workflow.fields == {"roi": {"type": "number"}, "seats": {"type": "integer"}}


def test_new_stage_without_after_goes_before_a_terminal_last_stage(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: builtin:six-stage\nstages:\n  - id: onboarding\n")
    assert stage_ids(merged(tmp_path / "wf.yaml")) == SIX[:-1] + ["onboarding", "closed"]


def test_new_stage_is_appended_when_the_base_ends_without_a_terminal_stage(tmp_path):
    write(tmp_path, "base.yaml", "flowctl: 1\nstages:\n  - id: a\n  - id: b\n")
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: base.yaml\nstages:\n  - id: c\n")
    assert stage_ids(merged(tmp_path / "wf.yaml")) == ["a", "b", "c"]


def test_after_places_a_new_stage(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: builtin:six-stage\nstages:\n  - {id: scoping, after: prospect}\n")
    assert stage_ids(merged(tmp_path / "wf.yaml")) == ["prospect", "scoping"] + SIX[1:]


def test_after_moves_an_existing_stage(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: builtin:six-stage\nstages:\n  - {id: discovery, after: developed}\n")
    doc = merged(tmp_path / "wf.yaml")
    assert stage_ids(doc) == ["prospect", "qualified", "developed", "discovery", "proposed", "closed"]
    assert ids(stage(doc, "discovery")["jobs"])[0] == "uncover-issues"  # moved whole


def test_new_job_without_after_goes_last_in_its_stage(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: builtin:six-stage\nstages:\n"
          "  - id: qualified\n    jobs: [{id: send-nda, title: Send the NDA}]\n")
    assert ids(stage(merged(tmp_path / "wf.yaml"), "qualified")["jobs"]) == [
        "draw-up-agendas", "decide-product-creation", "schedule-follow-ups", "send-nda"]


def test_an_existing_job_is_updated_field_by_field(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: builtin:six-stage\nstages:\n"
          "  - id: prospect\n    jobs: [{id: verify-prospect, due: 3d}]\n")
    job = stage(merged(tmp_path / "wf.yaml"), "prospect")["jobs"][0]
    assert job["due"] == "3d" and job["owner"] == "rep" and job["title"]["de"].startswith("Besprechungen")


def test_remove_a_stage_job_and_gate(tmp_path, plugins):
    write(tmp_path, "wf.yaml", (
        "flowctl: 1\nextends: builtin:six-stage\nstages:\n"
        "  - {id: discovery, remove: true}\n"
        "  - id: developed\n    gates: [{id: price-approved, remove: true}]\n"
        "    jobs: [{id: customer-visits, remove: true}]\n"))
    doc = merged(tmp_path / "wf.yaml")
    assert stage_ids(doc) == ["prospect", "qualified", "developed", "proposed", "closed"]
    assert ids(stage(doc, "developed")["gates"]) == ["roi-approved"]
    assert ids(stage(doc, "developed")["jobs"]) == ["develop-plan", "evaluate-resources"]
    workflow, diagnostics = load(tmp_path / "wf.yaml", plugins)
    assert diagnostics == [] and "uncover-issues" not in workflow.job_by_id


def test_a_deal_naming_a_removed_job_is_told(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: builtin:six-stage\nstages:\n"
          "  - id: prospect\n    jobs: [{id: meet-producers, remove: true}]\n")
    write(tmp_path, "deal.yaml", "id: A\njobs: {meet-producers: 2026-01-02}\n")
    result = invoke("validate", "-w", "wf.yaml", "deal.yaml", cwd=tmp_path)
    # A warning, not an error: the day an overlay removes a job, no deal that recorded it disappears.
    assert result.stdout.splitlines() == ["deal.yaml:2:8: warning: unknown job 'meet-producers', ignored [$.jobs.meet-producers]"]
    assert result.exit_code == 0


def test_metrics_and_notifications_merge_by_id(tmp_path):
    write(tmp_path, "base.yaml", (
        "flowctl: 1\nstages: [{id: a}, {id: won, terminal: true}]\n"
        "metrics:\n  - {id: m1, kind: count}\n  - {id: m2, kind: win_rate}\n"
        "notifications:\n  - {id: n1, on: deal_won, channel: console}\n  - {id: n2, on: deal_lost, channel: console}\n"))
    write(tmp_path, "wf.yaml", (
        "flowctl: 1\nextends: base.yaml\n"
        "metrics:\n  - {id: m1, target: '>= 3'}\n  - {id: m2, remove: true}\n  - {id: m3, kind: weighted_pipeline}\n"
        "notifications:\n  - {id: n2, remove: true}\n  - {id: n1, digest: true}\n"))
    doc = merged(tmp_path / "wf.yaml")
    assert doc["metrics"] == [{"id": "m1", "kind": "count", "target": ">= 3"}, {"id": "m3", "kind": "weighted_pipeline"}]
    assert doc["notifications"] == [{"id": "n1", "on": "deal_won", "channel": "console", "digest": True}]


def test_an_overlay_problem_points_at_the_overlay(tmp_path):
    write(tmp_path, "wf.yaml", (
        "flowctl: 1\nextends: builtin:six-stage\nfields: {roi: {type: number}}\nstages:\n"
        "  - id: developed\n    gates:\n      - {id: roi-approved, when: \"deal.roii > 1\"}\n"))
    result = invoke("validate", "wf.yaml", cwd=tmp_path)
    assert result.stdout.splitlines() == [
        "wf.yaml:7:34: error: expression names deal field 'roii', which neither the deal schema nor the "
        "workflow's `fields` declares (did you mean 'roi'?) [$.stages[0].gates[0].when]"]


def test_an_overlay_may_use_fields_of_its_base(tmp_path):
    write(tmp_path, "wf.yaml", (
        "flowctl: 1\nextends: builtin:seven-stage\nstages:\n"
        "  - id: proposal\n    gates: [{id: has-need, when: \"deal.bant.need\"}]\n"))
    result = invoke("validate", "wf.yaml", cwd=tmp_path)
    assert result.stdout == "" and result.exit_code == 0


def test_terminal_stage_added_after_the_base_terminal_is_an_error(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nextends: builtin:six-stage\nstages:\n  - {id: paid, terminal: true}\n")
    result = invoke("validate", "wf.yaml", cwd=tmp_path)
    assert result.exit_code == 2
    assert "terminal stage 'closed' is not the last stage (the last is 'paid')" in result.stdout


# ---------------------------------------------------------------------------------------
# notifications and labels


def test_on_key_stays_the_string_on(tmp_path):
    write(tmp_path, "wf.yaml", (
        "flowctl: 1\nstages: [{id: a}, {id: won, terminal: true}]\nnotifications:\n"
        "  - on: job_overdue\n    channel: console\n  - {on: [deal_won, deal_lost], channel: console}\n"))
    assert invoke("validate", "wf.yaml", cwd=tmp_path).exit_code == 0
    doc = merged(tmp_path / "wf.yaml")
    assert doc["notifications"][0]["on"] == "job_overdue"
    shown = invoke("validate", "--show-merged", "-w", "wf.yaml", cwd=tmp_path).stdout
    assert parse(shown, "x.yaml")["notifications"][1]["on"] == ["deal_won", "deal_lost"]


def test_event_kind_typo_suggests_the_kind(tmp_path):
    write(tmp_path, "wf.yaml", (
        "flowctl: 1\nstages: [{id: a}, {id: won, terminal: true}]\nnotifications:\n"
        "  - {on: deal_wonn, channel: console}\n"))
    result = invoke("validate", "wf.yaml", cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wf.yaml:4:10: error: ") and lines[0].endswith("[$.notifications[0].on]")
    assert "did you mean 'deal_won'?" in lines[0]


def test_label_of_the_wrong_type_says_what_is_expected(tmp_path):
    write(tmp_path, "wf.yaml", "flowctl: 1\nstages:\n  - id: a\n    name: 5\n  - id: won\n    terminal: true\n")
    result = invoke("validate", "wf.yaml", cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wf.yaml:4:11: error: ") and lines[0].endswith("[$.stages[0].name]")
    assert "string" in lines[0], lines[0]


# ---------------------------------------------------------------------------------------
# flowctl schema


@pytest.fixture(scope="module")
def workflow_schema():
    result = invoke("schema", "workflow")
    assert result.exit_code == 0
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def deal_schema_of():
    cache = {}

    def get(workflow: Path | None):
        if workflow not in cache:
            args = ["schema", "deal"] + (["-w", str(workflow)] if workflow else [])
            result = invoke(*args)
            assert result.exit_code == 0, result.output
            cache[workflow] = json.loads(result.stdout)
        return cache[workflow]
    return get


def _descriptions(schema: dict, where: str = "$") -> list[str]:
    """Properties without a description, anywhere in a schema."""
    missing = []
    for name, sub in (schema.get("properties") or {}).items():
        if name == "$schema":
            continue
        if not (sub.get("description") or sub.get("title")):
            missing.append(f"{where}.{name}")
        missing += _descriptions(sub, f"{where}.{name}")
    if isinstance(schema.get("items"), dict):
        missing += _descriptions(schema["items"], where + "[]")
    return missing


def test_workflow_schema_is_draft_2020_12_with_descriptions(workflow_schema):
    assert workflow_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(workflow_schema)
    assert workflow_schema["title"] and workflow_schema["description"]
    assert _descriptions(workflow_schema) == []
    stage_props = workflow_schema["properties"]["stages"]["items"]["properties"]
    assert {"id", "name", "probability", "jobs", "gates", "terminal", "after", "remove"} <= set(stage_props)


def test_deal_schema_is_draft_2020_12_with_descriptions(deal_schema_of):
    schema = deal_schema_of(None)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"] and schema["description"]
    assert [name for name, sub in schema["properties"].items()
            if name != "$schema" and not sub.get("description")] == []
    assert "roi" not in schema["properties"]


def test_deal_schema_includes_the_workflow_fields(deal_schema_of):
    schema = deal_schema_of(VALID / "workflow.yaml")
    jsonschema.Draft202012Validator.check_schema(schema)
    for field in ("roi", "region", "seats", "bant", "partner"):
        assert field in schema["properties"]
    assert schema["properties"]["region"] == {"enum": ["north", "south", "east", "west"]}
    seven = deal_schema_of(BUILTINS / "seven-stage.yaml")
    assert set(seven["properties"]["bant"]["properties"]) == {"budget", "authority", "need", "timeline"}


def test_deal_schema_of_a_chain_includes_fields_of_every_file(deal_schema_of):
    schema = deal_schema_of(VALID / "chain" / "top.yaml")
    assert schema["properties"]["roi"] == {"type": "number"} and schema["properties"]["seats"] == {"type": "integer"}


def test_schema_deal_with_a_broken_workflow_exits_2():
    result = invoke("schema", "deal", "-w", "wf-unknown-keys.yaml", cwd=INVALID)
    assert result.exit_code == 2
    assert "unknown key 'nme'" in result.output


def test_schema_of_something_else_exits_2():
    assert invoke("schema", "report").exit_code == 2


def _yaml_12(path: Path):
    """A document as an editor's YAML 1.2 reader sees it (`on` and dates are strings)."""
    return parse(path.read_text("utf-8"), path.name)


def example_workflows() -> list[Path]:
    files = sorted(BUILTINS.glob("*.yaml")) + [INIT / "workflow.yaml", VALID / "workflow.yaml", VALID / "overlay.yaml",
                                                VALID / "empty-overlay.yaml"]
    files += sorted((VALID / "chain").rglob("*.yaml")) + _example_workflows_elsewhere()
    return files


def _example_workflows_elsewhere() -> list[Path]:
    """Workflows under examples/ (told apart from other YAML there by content)."""
    from flowctl.workflow import looks_like_workflow
    found = []
    for path in sorted((REPO / "examples").rglob("*.yaml")):
        try:
            if looks_like_workflow(_yaml_12(path)):
                found.append(path)
        except Exception:
            continue
    return found


def example_deals() -> list[tuple[Path, Path]]:
    pairs = [(p, INIT / "workflow.yaml") for p in sorted((INIT / "deals").glob("*.yaml"))]
    pairs += [(p, INIT / "workflow.yaml") for p in sorted((INIT / "deals-to-fix").glob("*.yaml"))]
    pairs += [(p, VALID / "workflow.yaml") for p in sorted((VALID / "deals").iterdir())]
    for workflow in _example_workflows_elsewhere():
        deals = workflow.parent / "deals"
        if deals.is_dir():
            pairs += [(p, workflow) for p in sorted(deals.rglob("*")) if p.suffix in (".yaml", ".yml", ".json")]
    return pairs


@pytest.mark.parametrize("path", example_workflows(), ids=lambda p: str(p.relative_to(REPO)))
def test_example_workflows_validate_against_the_printed_schema(path, workflow_schema):
    validator = jsonschema.Draft202012Validator(workflow_schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_yaml_12(path))]
    assert errors == []


@pytest.mark.parametrize("path,workflow", example_deals(), ids=lambda p: str(p.relative_to(REPO)))
def test_example_deals_validate_against_the_printed_schema(path, workflow, deal_schema_of):
    schema = deal_schema_of(workflow)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    document = _yaml_12(path)
    deals = document["deals"] if "deals" in document and "id" not in document else [document]
    for deal in deals:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(deal)]
        assert errors == []


@pytest.mark.parametrize("case", ["deal-wrong-types.yaml", "deal-unknown-keys.yaml", "deal-dates.yaml",
                                  "deal-orders.yaml", "deal-fields.yaml", "deal-json-schema.json"])
def test_the_printed_deal_schema_rejects_what_validate_rejects(case, deal_schema_of):
    schema = deal_schema_of(VALID / "workflow.yaml")
    assert not jsonschema.Draft202012Validator(schema).is_valid(_yaml_12(INVALID / case))


@pytest.mark.parametrize("case", ["wf-unknown-keys.yaml", "wf-wrong-types.yaml", "wf-bad-durations.yaml",
                                  "wf-probability-range.yaml", "wf-version.yaml", "wf-top-level-types.yaml"])
def test_the_printed_workflow_schema_rejects_what_validate_rejects(case, workflow_schema):
    assert not jsonschema.Draft202012Validator(workflow_schema).is_valid(_yaml_12(INVALID / case))


def test_printed_workflow_schema_knows_plugin_channels_and_actions(workflow_schema):
    channel = workflow_schema["properties"]["channels"]["additionalProperties"]
    assert {"console", "smtp", "webhook"} <= set(channel["properties"]["use"]["enum"])
    job = workflow_schema["properties"]["stages"]["items"]["properties"]["jobs"]["items"]
    assert {"render", "notify"} <= set(job["properties"]["uses"]["enum"])
    validator = jsonschema.Draft202012Validator(workflow_schema)
    bad = {"flowctl": 1, "channels": {"mail": {"use": "smtp"}}}  # smtp needs `from`
    assert not validator.is_valid(bad)
    assert validator.is_valid({"flowctl": 1, "channels": {"mail": {"use": "smtp", "from": "ops@example.com"}}})


def test_channel_and_action_configs_are_checked_against_their_plugins_schemas(tmp_path):
    """A plugin's own config schema is applied when the workflow loads, not at send time."""
    (tmp_path / "wf.yaml").write_text(
        "flowctl: 1\nname: x\nstages:\n"
        "  - id: a\n    jobs:\n      - {id: brief, uses: render, with: {templat: proposal.md.j2}}\n"
        "  - id: b\n    terminal: true\n"
        "channels:\n  mail: {use: smtp, host: localhost}\n"
        "notifications:\n  - {on: deal_won, channel: mail}\n")
    result = invoke("validate", tmp_path / "wf.yaml")
    assert result.exit_code == 2
    assert "missing required key 'from' [$.channels.mail]" in result.stdout
    assert "unknown key 'templat' (did you mean 'template'?)" in result.stdout
