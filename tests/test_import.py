"""`flowctl import` of the real Maven CRM export with the map in examples/maven, checked
against an independent computation from the CSV; and every error path of the import."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import statistics
from pathlib import Path

import pytest
import yaml

from flowctl.compiled import CompiledWorkflow
from flowctl.evaluate import evaluate
from flowctl.plugin_manager import Plugins
from flowctl.testing import invoke_cli
from flowctl.workflow import load_workflow
from flowctl.yamlio import parse

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "maven"
DATA = Path(__file__).parent / "data" / "analytics"
from shared_data import MAVEN  # noqa: E402
PIPELINE = MAVEN / "sales_pipeline.csv"
NOW = "2017-12-31"
pytestmark = pytest.mark.xdist_group("maven-metrics")  # one worker computes maven_metrics (scripts/test: --dist loadgroup)


def run(*args: str) -> tuple[int, str, str]:
    result = invoke_cli(*args)
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------------------------
# the real data set
# ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def maven(maven_import) -> Path:
    """conftest's one import of the session (it checks the import said 8800 deals); read-only."""
    return maven_import


@pytest.fixture(scope="module")
def maven_metrics(maven) -> dict:
    code, out, err = run("metrics", "-w", str(maven / "workflow.yaml"), "--now", NOW, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["deals"] == 8800 and data["errors"] == []
    return {m["id"]: m for m in data["metrics"]}


@pytest.fixture(scope="module")
def csv_rows() -> list[dict]:
    if not PIPELINE.is_file():
        pytest.skip("Maven data set not found")
    with open(PIPELINE, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_one_file_per_row(maven, csv_rows):
    files = sorted(p.name for p in (maven / "deals").iterdir())
    assert len(files) == len(csv_rows) == 8800
    assert files[0].endswith(".yaml")


def test_win_rate_won_amount_and_cycle_match_the_csv(maven_metrics, csv_rows):
    won = [r for r in csv_rows if r["deal_stage"] == "Won"]
    lost = [r for r in csv_rows if r["deal_stage"] == "Lost"]
    cycles = [(dt.date.fromisoformat(r["close_date"]) - dt.date.fromisoformat(r["engage_date"])).days for r in won]
    assert maven_metrics["win_rate"]["value"] == pytest.approx(len(won) / (len(won) + len(lost)), abs=1e-6)
    assert (maven_metrics["win_rate"]["won"], maven_metrics["win_rate"]["lost"]) == (len(won), len(lost))
    assert maven_metrics["won_amount"]["value"] == sum(float(r["close_value"]) for r in won)
    cycle = maven_metrics["sales_cycle_days"]["value"]
    assert cycle["mean"] == pytest.approx(statistics.mean(cycles), abs=0.005)
    assert cycle["median"] == statistics.median(cycles)
    lost_cycles = [(dt.date.fromisoformat(r["close_date"]) - dt.date.fromisoformat(r["engage_date"])).days for r in lost]
    assert maven_metrics["lost_cycle_days"]["value"]["median"] == statistics.median(lost_cycles)


def test_open_deals_by_stage(maven_metrics, csv_rows):
    by_stage = maven_metrics["weighted_pipeline"]["by_stage"]
    assert by_stage["engaging"]["count"] == sum(r["deal_stage"] == "Engaging" for r in csv_rows)
    assert by_stage["prospecting"]["count"] == sum(r["deal_stage"] == "Prospecting" for r in csv_rows)
    assert maven_metrics["conversion"]["value"]["engaging->won"] == pytest.approx(
        sum(r["deal_stage"] == "Won" for r in csv_rows) / sum(r["deal_stage"] != "Prospecting" for r in csv_rows), abs=1e-6)


def test_gtxpro_quirk_is_fixed(maven_metrics, csv_rows):
    groups = maven_metrics["won-by-product"]["groups"]
    assert "GTXPro" not in groups
    assert groups["GTX Pro"] == sum(float(r["close_value"]) for r in csv_rows
                                    if r["deal_stage"] == "Won" and r["product"] == "GTXPro")


def test_open_deal_gets_list_price_and_stands_in_engaging(maven, csv_rows):
    row = next(r for r in csv_rows if r["deal_stage"] == "Engaging" and r["product"] == "GTXPro")
    text = (maven / "deals" / f"{row['opportunity_id']}.yaml").read_text()
    assert text.startswith("# Imported by flowctl import from sales_pipeline.csv")
    deal = yaml.safe_load(text)
    assert deal["product"] == "GTX Pro" and deal["amount"] == 4821  # products.csv's price of "GTX Pro"
    assert deal["outcome"] == "open" and "closed_at" not in deal
    assert deal["history"] == [{"stage": "engaging", "at": dt.date.fromisoformat(row["engage_date"]), "amount": 4821}]
    assert "stage" not in deal  # the row's stage is history, never a claim
    workflow, _ = load_workflow(str(maven / "workflow.yaml"), Plugins())
    deal = parse(text, "deal.yaml")  # as flowctl reads it: dates stay ISO strings
    state = evaluate(CompiledWorkflow(workflow), deal, dt.date(2017, 12, 31))
    assert state.stage == "engaging" and state.entered_at.isoformat() == row["engage_date"]
    assert [j.how for j in state.jobs if j.id == "engage"] == ["done_when"]


def test_won_value_is_dated_at_the_close_and_lost_keeps_the_list_price(maven, csv_rows):
    prices = {r["product"]: int(r["sales_price"]) for r in csv.DictReader(open(MAVEN / "products.csv", encoding="utf-8"))}
    won = next(r for r in csv_rows if r["deal_stage"] == "Won" and r["product"] == "GTX Basic"
               and r["close_value"] != "550")
    deal = yaml.safe_load((maven / "deals" / f"{won['opportunity_id']}.yaml").read_text())
    engaged, closed = dt.date.fromisoformat(won["engage_date"]), dt.date.fromisoformat(won["close_date"])
    assert deal["amount"] == int(won["close_value"])
    assert deal["history"] == [{"stage": "engaging", "at": engaged, "amount": 550},
                               {"stage": "won", "at": closed, "amount": int(won["close_value"])}]
    lost = next(r for r in csv_rows if r["deal_stage"] == "Lost")
    deal = yaml.safe_load((maven / "deals" / f"{lost['opportunity_id']}.yaml").read_text())
    price = prices["GTX Pro" if lost["product"] == "GTXPro" else lost["product"]]
    assert lost["close_value"] == "0" and deal["amount"] == price and deal["outcome"] == "lost"
    assert deal["history"][0]["amount"] == price


@pytest.mark.parametrize("day", ["2017-04-01", "2017-07-01", "2017-10-01"])
def test_figures_as_of_a_past_date_match_the_csv(maven, csv_rows, day):
    """As of D: deals engaged by D exist; won/lost only if closed by D; open ones worth their list price."""
    prices = {r["product"]: float(r["sales_price"]) for r in csv.DictReader(open(MAVEN / "products.csv", encoding="utf-8"))}
    prices["GTXPro"] = prices["GTX Pro"]
    known = [r for r in csv_rows if r["engage_date"] and r["engage_date"] <= day]
    won = [r for r in known if r["deal_stage"] == "Won" and r["close_date"] <= day]
    lost = [r for r in known if r["deal_stage"] == "Lost" and r["close_date"] <= day]
    still_open = [r for r in known if not (r["close_date"] and r["close_date"] <= day)]
    cycles = [(dt.date.fromisoformat(r["close_date"]) - dt.date.fromisoformat(r["engage_date"])).days for r in won]
    code, out, err = run("metrics", "-w", str(maven / "workflow.yaml"), "--now", NOW, "--as-of", day, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    m = {x["id"]: x for x in data["metrics"]}
    assert (data["deals"], data["left_out"]) == (len(known), len(csv_rows) - len(known))
    assert (m["win_rate"]["won"], m["win_rate"]["lost"]) == (len(won), len(lost))
    assert m["won_amount"]["value"] == sum(float(r["close_value"]) for r in won)
    assert m["open_count"]["value"] == len(still_open)
    assert m["weighted_pipeline"]["value"] == pytest.approx(sum(prices[r["product"]] * 0.6 for r in still_open))
    assert m["sales_cycle_days"]["value"]["mean"] == pytest.approx(statistics.mean(cycles), abs=0.005)
    assert m["sales_cycle_days"]["value"]["median"] == statistics.median(cycles)


def test_declared_metrics_of_the_example(maven_metrics):
    assert maven_metrics["win-rate-by-agent"]["ok"] is True
    assert len(maven_metrics["win-rate-by-agent"]["groups"]) == 30
    assert maven_metrics["engaging-to-won"]["ok"] is True
    assert maven_metrics["bottleneck"]["value"] == "engaging"


def test_forecast_and_backtest_run_on_maven(maven):
    wf = str(maven / "workflow.yaml")
    for method in ("weighted", "historical", "montecarlo", "runrate"):
        code, out, err = run("forecast", "-w", wf, "--method", method, "--now", NOW, "--format", "json",
                             "--trials", "1000")
        assert code == 0, err
        r = json.loads(out)
        assert r["p10"] <= r["p50"] <= r["p90"] and r["expected"] > 0
    code, out, err = run("forecast", "-w", wf, "--backtest", "--now", NOW, "--trials", "500", "--format", "json")
    assert code == 0, err
    r = json.loads(out)
    assert set(r["methods"]) == {"weighted", "historical", "montecarlo", "runrate"}
    assert all(m["origins"] == 6 and m["mape"] is not None for m in r["methods"].values())
    assert [c["stage"] for c in r["calibration"]] == ["prospecting", "engaging"]


def test_refuses_to_overwrite_then_force(maven):
    args = ["import", str(PIPELINE), "--map", str(maven / "map.yaml"), "-w", str(maven / "workflow.yaml"),
            "-o", str(maven / "deals")]
    code, _, err = run(*args)
    assert code == 2 and "refusing to overwrite" in err and "--force" in err


# ---------------------------------------------------------------------------------
# a small CSV: what a row becomes, and the error paths
# ---------------------------------------------------------------------------------

SMALL_MAP = {
    "columns": {"id": "opportunity_id", "owner": "sales_agent", "product": "product", "account": "account",
                "amount": "close_value", "outcome": "deal_stage", "created": "engage_date", "closed_at": "close_date"},
    "values": {"outcome": {"Prospecting": "open", "Engaging": "open", "Won": "won", "Lost": "lost"},
               "product": {"GTXPro": "GTX Pro"}},
    "history": {"engaging": "engage_date"},
    "lookup": {"amount": {"by": "product", "table": {"GTX Basic": 550, "GTX Pro": 4821}}},
}


def small(tmp_path: Path, changes: dict | None = None, csv_text: str | None = None) -> tuple[Path, Path]:
    mapping = json.loads(json.dumps(SMALL_MAP))
    for key, value in (changes or {}).items():
        mapping[key] = value
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    csv_path = tmp_path / "small.csv"
    csv_path.write_text(csv_text if csv_text is not None else (DATA / "small.csv").read_text())
    return tmp_path / "map.yaml", csv_path


def test_small_import_writes_deals(tmp_path):
    m, c = small(tmp_path)
    code, out, err = run("import", str(c), "--map", str(m), "-o", str(tmp_path / "out"), "--format", "json")
    assert code == 0, err
    assert json.loads(out) == {"imported": 4, "skipped": 0, "out": str(tmp_path / "out"), "diagnostics": []}
    a1 = yaml.safe_load((tmp_path / "out" / "A1.yaml").read_text())
    assert a1 == {"id": "A1", "account": "Acme", "owner": "Ann", "product": "GTX Pro", "amount": 100,
                  "created": dt.date(2017, 1, 2), "outcome": "won", "closed_at": dt.date(2017, 2, 1),
                  "history": [{"stage": "engaging", "at": dt.date(2017, 1, 2)}]}  # no while_open: no dated amounts
    a4 = yaml.safe_load((tmp_path / "out" / "A4.yaml").read_text())
    assert a4 == {"id": "A4", "owner": "Bob", "product": "GTX Basic", "amount": 550, "outcome": "open"}
    assert "line 3" in (tmp_path / "out" / "A2.yaml").read_text().splitlines()[0]


def test_while_open_lookup_and_stage_column_become_history(tmp_path):
    lookup = {"amount": {**SMALL_MAP["lookup"]["amount"], "while_open": True}}
    columns = {**SMALL_MAP["columns"], "stage": "deal_stage"}
    values = {**SMALL_MAP["values"], "stage": {"Prospecting": "prospecting", "Engaging": "engaging", "Won": "won",
                                               "Lost": None}}
    m, c = small(tmp_path, {"lookup": lookup, "columns": columns, "values": values})
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(tmp_path / "out"))
    assert code == 0, err
    deal = {i: yaml.safe_load((tmp_path / "out" / f"{i}.yaml").read_text()) for i in ("A1", "A2", "A3", "A4")}
    assert deal["A1"]["history"] == [{"stage": "engaging", "at": dt.date(2017, 1, 2), "amount": 4821},
                                     {"stage": "won", "at": dt.date(2017, 2, 1), "amount": 100}]
    assert deal["A2"]["amount"] == 0  # MG Special has no list price: the export's value stays
    assert deal["A3"]["amount"] == 550 and deal["A3"]["history"][0]["amount"] == 550
    assert deal["A4"]["amount"] == 550 and "history" not in deal["A4"]  # no date: nothing to date it by
    assert all("stage" not in d for d in deal.values())
    m, c = small(tmp_path, {"lookup": {"amount": {**lookup["amount"], "while_open": "yes"}}})
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(tmp_path / "o2"))
    assert code == 2 and "while_open must be true or false" in err


def test_bad_map_names_the_key(tmp_path):
    code, _, err = run("import", str(DATA / "small.csv"), "--map", str(DATA / "bad_map.yaml"), "-o", str(tmp_path / "o"))
    assert code == 2 and "bad_map.yaml:4:1" in err and "unknown key 'colums'" in err and "did you mean 'columns'" in err
    assert not (tmp_path / "o").exists()


def test_map_must_be_a_mapping_with_id(tmp_path):
    (tmp_path / "m.yaml").write_text("- just a list\n")
    code, _, err = run("import", str(DATA / "small.csv"), "--map", str(tmp_path / "m.yaml"), "-o", str(tmp_path / "o"))
    assert code == 2 and "must be a mapping" in err
    (tmp_path / "m.yaml").write_text("columns: {owner: sales_agent}\n")
    code, _, err = run("import", str(DATA / "small.csv"), "--map", str(tmp_path / "m.yaml"), "-o", str(tmp_path / "o"))
    assert code == 2 and "columns.id is required" in err


def test_csv_missing_a_mapped_column(tmp_path):
    m, c = small(tmp_path, {"columns": {**SMALL_MAP["columns"], "amount": "close_val"}})
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(tmp_path / "o"))
    assert code == 2
    assert "map.yaml:" in err and "columns.amount" in err and "'close_val'" in err and "small.csv" in err
    assert "did you mean 'close_value'" in err


def test_history_column_missing(tmp_path):
    m, c = small(tmp_path, {"history": {"engaging": "engaged_on"}})
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(tmp_path / "o"))
    assert code == 2 and "history.engaging" in err and "engaged_on" in err


def test_bad_outcome_mapping_and_unknown_field(tmp_path):
    m, c = small(tmp_path, {"values": {"outcome": {"Won": "yes"}}})
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(tmp_path / "o"))
    assert code == 2 and "values.outcome.Won" in err and "not an outcome" in err
    m, c = small(tmp_path, {"columns": {**SMALL_MAP["columns"], "agent": "sales_agent"}})
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(tmp_path / "o"))
    assert code == 2 and "'agent' is not a deal field" in err


def test_history_stage_checked_against_the_workflow(tmp_path):
    m, c = small(tmp_path, {"history": {"engagin": "engage_date"}})
    code, _, err = run("import", str(c), "--map", str(m), "-w", str(EXAMPLE / "workflow.yaml"), "-o", str(tmp_path / "o"))
    assert code == 2 and "no stage 'engagin'" in err and "did you mean 'engaging'" in err


def _lookup(file: str) -> dict:
    return {"lookup": {"amount": {"by": "product", "file": file, "key": "product", "value": "price"}}}


@pytest.mark.parametrize("file", ["../prices.csv", "sub/../../prices.csv", "/etc/passwd", "//etc/passwd"])
def test_lookup_file_stays_beside_the_csv_or_the_map(tmp_path, file):
    (tmp_path / "prices.csv").write_text("product,price\nGTX Basic,550\n")
    project = tmp_path / "p"
    project.mkdir()
    m, c = small(project, _lookup(file))
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(project / "o"))
    assert code == 2 and "lookup.amount.file" in err and "beside the CSV or the map" in err, err
    assert not (project / "o").exists()


@pytest.mark.parametrize("how", ["file", "folder"])
def test_lookup_file_symlink_out_of_its_folder_is_refused(tmp_path, how):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "prices.csv").write_text("product,price\nGTX Basic,550\n")
    project = tmp_path / "p"
    project.mkdir()
    if how == "file":
        (project / "prices.csv").symlink_to(outside / "prices.csv")
        name = "prices.csv"
    else:
        (project / "tables").symlink_to(outside, target_is_directory=True)
        name = "tables/prices.csv"
    m, c = small(project, _lookup(name))
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(project / "o"))
    assert code == 2 and "leads outside its folder" in err, err


def test_lookup_file_symlink_inside_its_folder_is_read(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "prices.csv").write_text("product,price\nGTX Basic,550\n")
    (tmp_path / "prices.csv").symlink_to(tmp_path / "tables" / "prices.csv")
    m, c = small(tmp_path, _lookup("prices.csv"))
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(tmp_path / "o"))
    assert code in (0, 1) and "lookup.amount" not in err, err


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "binary", "latin-1", "oversized"])
def test_lookup_file_that_is_not_a_readable_table_is_refused(tmp_path, kind, monkeypatch):
    target = tmp_path / "prices.csv"
    if kind == "fifo":
        os.mkfifo(target)  # reading it would wait for a writer for ever
    elif kind == "device":
        target.symlink_to("/dev/zero")  # endless: a symbolic link out of the folder too
    elif kind == "folder":
        target.mkdir()
    elif kind == "binary":
        target.write_bytes(b"product,price\nGTX\x00Basic,550\n")
    elif kind == "latin-1":
        target.write_bytes("product,price\nGTX Bäsic,550\n".encode("latin-1"))
    else:
        monkeypatch.setattr("flowctl.import_map.MAX_LOOKUP_BYTES", 64)
        target.write_text("product,price\n" + "GTX Basic,550\n" * 10)
    m, c = small(tmp_path, _lookup("prices.csv"))
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(tmp_path / "o"))
    assert code == 2 and "lookup.amount.file" in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "missing"])
def test_csv_that_is_not_a_regular_file_is_refused(tmp_path, kind):
    m, _ = small(tmp_path)
    target = tmp_path / "export.csv"
    if kind == "fifo":
        os.mkfifo(target)  # opening it would wait for a writer for ever
    elif kind == "device":
        target.symlink_to("/dev/zero")
    elif kind == "folder":
        target.mkdir()
    code, _, err = run("import", str(target), "--map", str(m), "-o", str(tmp_path / "o"))
    assert code == 2 and str(target) in err and "Traceback" not in err, err
    assert ("not a regular file" if kind != "missing" else "No such file") in err
    assert not (tmp_path / "o").exists()


def test_lookup_file_column_missing(tmp_path):
    (tmp_path / "prices.csv").write_text("product,price\nGTX Basic,550\n")
    m, c = small(tmp_path, {"lookup": {"amount": {"by": "product", "file": "prices.csv", "key": "product",
                                                  "value": "sales_price"}}})
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(tmp_path / "o"))
    assert code == 2 and "lookup.amount.value" in err and "sales_price" in err


def test_bad_row_is_skipped_and_reported(tmp_path):
    text = (DATA / "small.csv").read_text().replace("A2,Bob,MG Special,Beta,Lost,2017-01-05", "A2,Bob,MG Special,Beta,Lost,5/1/2017")
    m, c = small(tmp_path, csv_text=text)
    code, out, err = run("import", str(c), "--map", str(m), "-o", str(tmp_path / "o"))
    assert code == 1
    assert "small.csv:3:1" in err and "not a date" in err and "created" in err
    assert "imported 3 deal(s)" in out and "1 row(s) skipped" in out
    assert not (tmp_path / "o" / "A2.yaml").exists()


def test_duplicate_ids_refused(tmp_path):
    text = (DATA / "small.csv").read_text() + "A1,Ann,GTX Basic,Acme,Won,2017-01-02,2017-02-01,5\n"
    m, c = small(tmp_path, csv_text=text)
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(tmp_path / "o"))
    assert code == 2 and "id 'A1' again" in err and not (tmp_path / "o").exists()


def test_force_overwrites(tmp_path):
    m, c = small(tmp_path)
    out = tmp_path / "o"
    assert run("import", str(c), "--map", str(m), "-o", str(out))[0] == 0
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(out))
    assert code == 2 and "A1.yaml: error: exists: refusing to overwrite it (use --force)" in err
    assert run("import", str(c), "--map", str(m), "-o", str(out), "--force")[0] == 0


@pytest.mark.parametrize("fails_at", [1, 3])
def test_a_write_that_fails_part_way_leaves_no_temporary_file_and_names_what_was_written(tmp_path, monkeypatch,
                                                                                          fails_at):
    m, c = small(tmp_path)
    real_fsync, calls = os.fsync, []

    def fsync(fd: int) -> None:  # the disk fills up at the fails_at-th deal file
        calls.append(fd)
        if len(calls) == fails_at:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr("flowctl.atomic.os.fsync", fsync)
    code, _, err = run("import", str(c), "--map", str(m), "-o", str(tmp_path / "o"))
    assert code == 2 and "No space left on device" in err and "Traceback" not in err, err
    written = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert written == [f"A{i}.yaml" for i in range(1, fails_at)]  # whole files only, no .tmp
    assert ("no deal file was written" in err) == (fails_at == 1)
    assert all(name in err for name in written), err


def test_temporary_files_a_killed_import_left_are_removed_by_the_next(tmp_path):
    m, c = small(tmp_path)
    out = tmp_path / "o"
    out.mkdir()
    stale, fresh, other = out / ".A1.yaml.k1ll3d_1.tmp", out / ".A2.yaml.wr1t1ng.tmp", out / ".notes.txt.abc.tmp"
    for path in (stale, fresh, other):
        path.write_text("half")
    os.utime(stale, (1, 1))
    os.utime(other, (1, 1))  # not a file this import writes: not its to remove
    assert run("import", str(c), "--map", str(m), "-o", str(out))[0] == 0
    assert not stale.exists() and fresh.exists() and other.exists()


def test_missing_csv(tmp_path):
    m, _ = small(tmp_path)
    code, _, err = run("import", str(tmp_path / "nope.csv"), "--map", str(m), "-o", str(tmp_path / "o"))
    assert code == 2 and "nope.csv" in err and "Traceback" not in err
