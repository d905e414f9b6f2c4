"""What plugins declare about their settings in a workflow, a third party's or a
built-in's: a metric kind's keys (MetricKind.config_schema) and a forecast method's
settings under `forecast:` (ForecastMethod.config_schema). `validate` places every
violation at its key (file:line:col, in the file that set the key, base or overlay), and
`flowctl schema workflow` gives editors the same rules."""
from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

PLUGIN = "fixture_plugins.schema_kind"
METHOD_PLUGIN = "fixture_plugins.schema_method"
HEAD = """\
flowctl: 1
name: t
stages:
  - id: a
  - id: b
    terminal: true
metrics:
"""


def _workflow(tmp_path, metric: str, name: str = "workflow.yaml"):
    path = tmp_path / name
    path.write_text(HEAD + metric)
    return path


@pytest.mark.parametrize("metric, where, says", [
    ("  - {id: big, kind: above_threshold}\n", (8, 5), "missing required key 'threshold'"),
    ("  - {id: big, kind: above_threshold, threshold: lots}\n", (8, 49), "lots"),
    ("  - {id: big, kind: above_threshold, threshold: -1}\n", (8, 49), "-1"),
    ("  - {id: big, kind: above_threshold, threshold: 5, feild: amount}\n", (8, 52), "feild"),
    ("  - id: big\n    kind: above_threshold\n    threshold: 5\n    field: roi\n", (11, 12), "roi"),
])
def test_a_metric_breaking_its_kinds_schema_is_a_positioned_error(cli, tmp_path, metric, where, says):
    path = _workflow(tmp_path, metric)
    result = cli("--plugin", PLUGIN, "validate", "-w", path, "--format", "json")
    assert result.exit_code == 2, result.output
    [d] = json.loads(result.stdout)["diagnostics"]
    assert (d["file"], d["line"], d["column"], d["severity"]) == (str(path), *where, "error")
    assert says in d["message"] and d["path"].startswith("$.metrics[0]")
    text = cli("--plugin", PLUGIN, "validate", "-w", path)
    assert f"{path}:{where[0]}:{where[1]}: error: " in text.stdout


@pytest.mark.parametrize("metric", [
    "  - {id: big, kind: above_threshold, threshold: 5}\n",
    "  - {id: big, kind: above_threshold, threshold: 5.5, field: amount, where: 'deal.amount > 1', title: Big,"
    " group_by: owner, target: '>= 1'}\n",  # the keys every metric takes are always allowed
    "  - {id: n, kind: count, stage: a, anything: 1}\n",  # a kind without a schema: as before
])
def test_a_metric_keeping_its_kinds_schema_is_valid_and_computed(cli, tmp_path, metric):
    path = _workflow(tmp_path, metric)
    (tmp_path / "deals").mkdir()
    (tmp_path / "deals" / "D1.yaml").write_text("id: D1\nowner: bob@example.com\namount: 10\ncreated: 2026-01-01\n")
    assert cli("--plugin", PLUGIN, "validate", "-w", path).exit_code == 0
    result = cli("--plugin", PLUGIN, "metrics", "-w", path, "--now", "2026-01-02", "--format", "json")
    assert result.exit_code == 0, result.output


def test_a_bad_key_set_by_an_overlay_is_reported_in_the_overlay(cli, tmp_path):
    _workflow(tmp_path, "  - {id: big, kind: above_threshold, threshold: 5}\n", "base.yaml")
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("flowctl: 1\nname: o\nextends: base.yaml\nmetrics:\n  - {id: big, threshold: none}\n")
    result = cli("--plugin", PLUGIN, "validate", "-w", overlay, "--format", "json")
    assert result.exit_code == 2, result.output
    [d] = json.loads(result.stdout)["diagnostics"]
    assert (d["file"], d["line"], d["column"]) == (str(overlay), 5, 26)


def test_a_builtin_kind_declares_its_schema_as_a_plugin_does(cli, tmp_path):
    path = _workflow(tmp_path, "  - {id: avg, kind: average_deal_size, outcome: Won}\n")
    result = cli("validate", "-w", path)
    assert result.exit_code == 2
    assert f"{path}:8:49: error: 'Won' is not one of open, won, lost" in result.stdout


@pytest.mark.parametrize("draft", ["2020-12", "7"])
def test_the_editor_schema_holds_each_kinds_schema(cli, tmp_path, draft):
    document = json.loads(cli("--plugin", PLUGIN, "schema", "workflow", "--draft", draft).stdout)
    assert set(document.get("$defs", document.get("definitions", {}))["metric_configs"]) >= {
        "above_threshold", "average_deal_size"}
    validator = (jsonschema.Draft7Validator if draft == "7" else jsonschema.Draft202012Validator)(document)
    for metric, ok in [("{id: big, kind: above_threshold, threshold: 5, where: 'deal.amount > 1'}", True),
                       ("{id: big, kind: above_threshold}", False),
                       ("{id: big, kind: above_threshold, threshold: lots}", False),
                       ("{id: avg, kind: average_deal_size, outcome: Won}", False),
                       ("{id: n, kind: count, anything: 1}", True)]:
        doc = yaml.safe_load(HEAD + f"  - {metric}\n")
        assert validator.is_valid(doc) is ok, metric


# --------------------------------------------------------------------------- forecast methods

FORECAST_HEAD = HEAD.replace("metrics:\n", "forecast:\n")


@pytest.mark.parametrize("settings, where, says", [
    ("  scaled: {}\n", (8, 11), "missing required key 'factor'"),
    ("  scaled: {factor: 0}\n", (8, 20), "0"),
    ("  scaled: {factor: 2, fatcor: 3}\n", (8, 23), "fatcor"),
    ("  scaled: [1]\n", (8, 11), "object"),
    ("  montecarlo: {trials: 0}\n", (8, 24), "0"),  # a built-in's, declared the same way
    ("  montecarlo: {seed: one}\n", (8, 22), "one"),
    ("  scaledd: {factor: 2}\n", (8, 3), "no forecast method 'scaledd'"),
])
def test_forecast_settings_breaking_the_methods_schema_are_a_positioned_error(cli, tmp_path, settings, where, says):
    path = tmp_path / "workflow.yaml"
    path.write_text(FORECAST_HEAD + settings)
    result = cli("--plugin", METHOD_PLUGIN, "validate", "-w", path, "--format", "json")
    assert result.exit_code == 2, result.output
    [d] = json.loads(result.stdout)["diagnostics"]
    assert (d["file"], d["line"], d["column"], d["severity"]) == (str(path), *where, "error")
    assert says in d["message"] and d["path"].startswith("$.forecast.")


def test_a_method_gets_its_workflow_settings_and_the_command_line_wins(cli, tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(FORECAST_HEAD + "  scaled: {factor: 2}\n  montecarlo: {trials: 50, seed: 3}\n")
    overlay = tmp_path / "workflow.yaml"
    overlay.write_text("flowctl: 1\nname: o\nextends: base.yaml\nforecast:\n  scaled: {factor: 3}\n")
    (tmp_path / "deals").mkdir()
    (tmp_path / "deals" / "D1.yaml").write_text("id: D1\nowner: bob@example.com\namount: 10\ncreated: 2026-01-01\n")

    def forecast(method: str, *extra: str) -> dict:
        result = cli("--plugin", METHOD_PLUGIN, "forecast", tmp_path / "deals", "-w", overlay, "--method", method,
                     "--now", "2026-01-02", "--format", "json", *extra)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)
    assert forecast("scaled")["factor_seen"] == 3  # the overlay's, merged by method name
    assert (forecast("montecarlo")["trials"], forecast("montecarlo")["seed"]) == (50, 3)  # the base's
    assert forecast("montecarlo", "--trials", "70")["trials"] == 70


@pytest.mark.parametrize("draft", ["2020-12", "7"])
def test_the_editor_schema_holds_each_methods_settings(cli, draft):
    document = json.loads(cli("--plugin", METHOD_PLUGIN, "schema", "workflow", "--draft", draft).stdout)
    validator = (jsonschema.Draft7Validator if draft == "7" else jsonschema.Draft202012Validator)(document)
    for settings, ok in [("{scaled: {factor: 2}, montecarlo: {trials: 10}, weighted: {}}", True),
                         ("{scaled: {}}", False), ("{montecarlo: {trials: 0}}", False), ("{scaledd: {}}", False)]:
        doc = yaml.safe_load(FORECAST_HEAD.replace("forecast:\n", "") + f"forecast: {settings}\n")
        assert validator.is_valid(doc) is ok, settings
