"""CRM exports through the built-in presets (engine/importcrm.py): sample exports written
from HubSpot's, Salesforce's and Pipedrive's documented columns, with awkward rows
(quoted commas, empty and decimal amounts, a deal closed and then reopened)."""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml

from flowctl.testing import invoke_cli as invoke

DATA = Path(__file__).parent / "data" / "crm"


@pytest.fixture()
def crm(tmp_path) -> Path:
    for f in DATA.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def imported(folder: Path, name: str, map_name: str | None = None) -> dict[str, dict]:
    result = invoke("import", f"{name}.csv", "--map", map_name or f"{name}-map.yaml", "-w", "workflow.yaml",
                    "-o", f"out-{name}", cwd=folder)
    assert result.exit_code == 0, result.output
    return {p.stem: yaml.safe_load(p.read_text()) for p in (folder / f"out-{name}").iterdir()}


def test_hubspot(crm):
    deals = imported(crm, "hubspot")
    d = deals["101"]
    assert d["name"] == "Fleet telemetry, phase 2" and d["account"] == "ACME, Inc." and d["amount"] == 12500.5
    assert d["created"] == dt.date(2026, 10, 1) and d["expected_close"] == dt.date(2026, 12, 15)
    assert d["history"] == [{"stage": "proposal", "at": dt.date(2026, 10, 1)}] and "stage" not in d
    assert d["crm"] == {"Lead source": "Webinar"}  # a custom property, kept as data
    assert (deals["102"]["outcome"], deals["102"]["closed_at"]) == ("won", dt.date(2026, 10, 20))
    assert deals["103"]["outcome"] == "lost" and "amount" not in deals["103"]  # empty amount: left out
    assert deals["104"]["history"][0]["stage"] == "lead"


def test_salesforce(crm):
    deals = imported(crm, "salesforce")
    d = deals["0065g00000AbCdE"]
    assert d["outcome"] == "open" and d["probability"] == 0.8 and d["amount"] == 250000.75
    assert d["created"] == dt.date(2026, 10, 5)  # 2026-10-05T09:30:00.000Z
    assert (deals["0065g00000AbCdF"]["outcome"], deals["0065g00000AbCdG"]["outcome"]) == ("won", "lost")
    assert deals["0065g00000AbCdG"]["closed_at"] == dt.date(2026, 10, 11)


def test_pipedrive_won_lost_and_reopened(crm):
    deals = imported(crm, "pipedrive")
    assert (deals["1"]["outcome"], deals["1"]["closed_at"]) == ("won", dt.date(2026, 8, 1))  # Won time
    assert (deals["3"]["outcome"], deals["3"]["closed_at"]) == ("lost", dt.date(2026, 7, 30))  # Lost time
    reopened = deals["2"]
    assert reopened["outcome"] == "open" and "closed_at" not in reopened  # its old Lost time no longer holds
    assert reopened["crm"] == {"Deal - Region": "South"}


def test_imported_deals_validate(crm):
    for name in ("hubspot", "salesforce", "pipedrive"):
        imported(crm, name)
        result = invoke("validate", "-w", "workflow.yaml", f"out-{name}", "--format", "json", cwd=crm)
        assert result.exit_code == 0 and json.loads(result.stdout)["diagnostics"] == [], result.output


def test_unmapped_crm_stage_is_an_error_naming_it_and_the_stage_ids(crm):
    result = invoke("import", "hubspot.csv", "--map", "builtin:hubspot", "-w", "workflow.yaml", "-o", "o",
                    "--format", "json", cwd=crm)
    assert result.exit_code == 1
    messages = [d["message"] for d in json.loads(result.stdout)["diagnostics"]]
    assert any("CRM stage 'Contract sent'" in m and "lead, qualified, proposal, won" in m for m in messages)


def test_a_map_extends_a_map_that_extends_a_preset(crm):
    (crm / "team.yaml").write_text("extends: hubspot-map.yaml\ncolumns: {product: Lead source}\n")
    deals = imported(crm, "hubspot", "team.yaml")
    assert deals["101"]["product"] == "Webinar" and "crm" not in deals["101"]  # now a mapped column


def test_preset_columns_an_export_lacks_are_optional_but_the_users_are_not(crm):
    text = (crm / "hubspot.csv").read_text().replace(",Associated Company", ",Company")
    (crm / "hubspot.csv").write_text(text)
    deals = imported(crm, "hubspot")
    assert "account" not in deals["101"] and deals["101"]["crm"]["Company"] == "ACME, Inc."
    (crm / "mine.yaml").write_text("extends: builtin:hubspot\ncolumns: {product: Product}\n"
                                   "stages: {Contract sent: proposal, Appointment scheduled: lead}\n")
    result = invoke("import", "hubspot.csv", "--map", "mine.yaml", "-w", "workflow.yaml", "-o", "o2", cwd=crm)
    assert result.exit_code == 2 and "columns.product" in result.output and "'Product'" in result.output


def test_bad_extends(crm):
    result = invoke("import", "hubspot.csv", "--map", "builtin:zoho", "-o", "o", cwd=crm)
    assert result.exit_code == 2 and "builtin:hubspot" in result.output
    (crm / "bad.yaml").write_text("extends: builtin:hubspot\noutcome_stages: {Closed Won: yes}\n")
    result = invoke("import", "hubspot.csv", "--map", "bad.yaml", "-o", "o", cwd=crm)
    assert result.exit_code == 2 and "outcome_stages" in result.output
