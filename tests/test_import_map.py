"""The import map (engine/import_map.py) warns, as a deal file does, where a value's meaning
depends on YAML 1.1 resolution, with the map file's line and column; keys stay the text written."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from flowctl.testing import invoke_cli

FORMS = {"010": 8, "-017": -15, "0b11": 3, "1_000": 1000, "1:30:00": 5400, "yes": True, "Off": False, "ON": True}
PLACES = {  # the map with the form in one place; the column where it stands on line 3
    "constants": ("columns: {id: Id, account: Account}\nconstants:\n  owner: FORM\n", 10),
    "values": ("columns: {id: Id, account: Account}\nvalues:\n  account: {Acme: FORM}\n", 19),
    "stages": ("columns: {id: Id, account: Account, stage: Stage}\nstages:\n  Open: FORM\n", 9),
}


def _import(tmp_path: Path, map_text: str, *extra: str):
    (tmp_path / "export.csv").write_text("Id,Account,Stage\n010,Acme,Open\n")
    (tmp_path / "map.yaml").write_text(map_text)
    return invoke_cli("import", str(tmp_path / "export.csv"), "--map", str(tmp_path / "map.yaml"),
                      "-o", str(tmp_path / "deals"), *extra)


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("form", FORMS)
def test_a_yaml11_form_in_the_map_is_a_positioned_warning(tmp_path, place, form):
    text, column = PLACES[place]
    result = _import(tmp_path, text.replace("FORM", form))
    assert result.exit_code == 0, result.output
    assert f"map.yaml:3:{column}: warning: `{form}` is read as" in result.stderr, result.stderr
    assert "YAML 1.1" in result.stderr and "Traceback" not in result.output
    assert yaml.safe_load((tmp_path / "deals" / "010.yaml").read_text())["id"] == "010"  # the cell: text


@pytest.mark.parametrize("form", FORMS)
def test_warnings_in_json_and_in_a_map_that_is_extended(tmp_path, form):
    (tmp_path / "base.yaml").write_text(f"columns: {{id: Id, account: Account}}\nconstants: {{owner: {form}}}\n")
    result = _import(tmp_path, "extends: base.yaml\n", "--format", "json")
    assert result.exit_code == 0, result.output
    [warning] = json.loads(result.stdout)["diagnostics"]
    assert warning["severity"] == "warning" and warning["file"].endswith("base.yaml"), warning
    assert (warning["line"], warning["column"]) == (2, 20) and f"`{form}`" in warning["message"]


@pytest.mark.parametrize("form", ["'010'", '"yes"', "'1:30:00'", "8", "true", "Acme", "1.5"])
def test_quoted_and_unambiguous_values_give_no_warning(tmp_path, form):
    result = _import(tmp_path, f"columns: {{id: Id, account: Account}}\nconstants: {{owner: {form}}}\n")
    assert result.exit_code == 0 and "warning" not in result.stderr, result.output


@pytest.mark.parametrize("key", ["Yes", "on", "OFF", "No"])
def test_a_yaml11_boolean_key_is_the_text_written(tmp_path, key):
    (tmp_path / "export.csv").write_text(f"Id,Account\nA1,{key}\n")
    (tmp_path / "map.yaml").write_text(f"columns: {{id: Id, account: Account}}\nvalues:\n  account: {{{key}: Acme}}\n")
    result = invoke_cli("import", str(tmp_path / "export.csv"), "--map", str(tmp_path / "map.yaml"),
                        "-o", str(tmp_path / "deals"))
    assert result.exit_code == 0 and "warning" not in result.stderr, result.output
    assert yaml.safe_load((tmp_path / "deals" / "A1.yaml").read_text())["account"] == "Acme"
