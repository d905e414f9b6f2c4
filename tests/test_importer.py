"""Tests for flowctl.importer: the map checked against the CSV's header, and one deal file
written per row, refusing (before it writes anything) duplicate ids and files it would
overwrite, and saying which files were written when it stops part way."""
from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import yaml

from flowctl import importer
from flowctl.diagnostics import FlowctlError
from flowctl.import_map import load_map
from flowctl.importer import check_columns, import_csv

MAP = "columns: {id: Id, account: Account, amount: Amount}\n"


def files(tmp_path: Path, csv: str, map_text: str = MAP) -> tuple[str, str, str]:
    (tmp_path / "export.csv").write_text(csv, "utf-8")
    (tmp_path / "map.yaml").write_text(map_text, "utf-8")
    return str(tmp_path / "export.csv"), str(tmp_path / "map.yaml"), str(tmp_path / "deals")


def messages(exc: pytest.ExceptionInfo) -> list[str]:
    return [d.format() for d in exc.value.diagnostics]


def test_one_deal_file_per_row(tmp_path):
    csv, map_path, out = files(tmp_path, "Id,Account,Amount\nA-1,Acme,100\nA-2,Beta,250.5\n")
    result = import_csv(csv, load_map(map_path), out)
    assert (result.written, result.skipped, result.diagnostics) == (2, 0, [])
    assert sorted(p.name for p in Path(out).iterdir()) == ["A-1.yaml", "A-2.yaml"]
    deal = yaml.safe_load((Path(out) / "A-2.yaml").read_text("utf-8"))
    assert (deal["id"], deal["account"], deal["amount"]) == ("A-2", "Beta", 250.5)


def test_rows_without_an_id_are_left_out(tmp_path):
    csv, map_path, out = files(tmp_path, "Id,Account,Amount\n,Nobody,1\n  ,Blank,2\nA-1,Acme,3\n")
    assert import_csv(csv, load_map(map_path), out).written == 1


def test_an_empty_export_writes_nothing(tmp_path):
    csv, map_path, out = files(tmp_path, "Id,Account,Amount\n")
    assert import_csv(csv, load_map(map_path), out).written == 0
    assert list(Path(out).iterdir()) == []


def test_a_bad_row_is_skipped_with_its_line(tmp_path):
    csv, map_path, out = files(tmp_path, "Id,Account,Amount\nA-1,Acme,lots\nA-2,Beta,5\n")
    result = import_csv(csv, load_map(map_path), out)
    assert (result.written, result.skipped) == (1, 1)
    [d] = result.diagnostics
    assert (d.file, d.line) == (csv, 2) and d.message.startswith("row skipped: ")


def test_a_column_the_csv_lacks_is_a_problem_of_the_map(tmp_path):
    csv, map_path, out = files(tmp_path, "Id,Acount,Amount\nA-1,Acme,1\n")
    with pytest.raises(FlowctlError) as info:
        check_columns(load_map(map_path), csv)
    [line] = messages(info)
    assert line.startswith(f"{map_path}:1:") and "map key columns.account names column 'Account', which " in line
    assert "(did you mean 'Acount'?) (its columns: Id, Acount, Amount)" in line
    assert not Path(out).exists()


def test_duplicate_ids_are_refused_before_anything_is_written(tmp_path):
    csv, map_path, out = files(tmp_path, "Id,Account,Amount\nA-1,Acme,1\nA-2,Beta,2\nA-1,Again,3\n")
    with pytest.raises(FlowctlError) as info:
        import_csv(csv, load_map(map_path), out)
    assert messages(info) == [f"{csv}:4:1: error: id 'A-1' again (first on line 2): ids must be unique"]
    assert not Path(out).exists()


def test_existing_files_are_kept_unless_forced(tmp_path):
    csv, map_path, out = files(tmp_path, "Id,Account,Amount\nA-1,Acme,1\n")
    Path(out).mkdir()
    (Path(out) / "A-1.yaml").write_text("mine\n")
    with pytest.raises(FlowctlError) as info:
        import_csv(csv, load_map(map_path), out)
    assert messages(info) == [f"{out}/A-1.yaml: error: exists: refusing to overwrite it (use --force)"]
    assert (Path(out) / "A-1.yaml").read_text() == "mine\n"
    assert import_csv(csv, load_map(map_path), out, force=True).written == 1
    assert "Acme" in (Path(out) / "A-1.yaml").read_text()


def test_many_refusals_are_cut_at_twenty(tmp_path):
    rows = "".join(f"A-{i},x,1\nA-{i},y,2\n" for i in range(25))
    csv, map_path, out = files(tmp_path, "Id,Account,Amount\n" + rows)
    with pytest.raises(FlowctlError) as info:
        import_csv(csv, load_map(map_path), out)
    lines = messages(info)
    assert len(lines) == 21 and lines[-1] == f"{csv}: error: ... and 5 more"


@pytest.mark.parametrize("fail_after, said", [
    (0, "no deal file was written"),
    (2, "2 deal file(s) were written before it stopped: A-0.yaml, A-1.yaml; fix the problem and import again with --force"),
    (7, "7 deal file(s) were written before it stopped: A-0.yaml, A-1.yaml, A-2.yaml, ... A-6.yaml; "),
])
def test_a_write_that_fails_part_way_says_what_was_written(tmp_path, monkeypatch, fail_after, said):
    csv, map_path, out = files(tmp_path, "Id,Account,Amount\n" + "".join(f"A-{i},x,1\n" for i in range(9)))
    real = importer.write_atomic
    calls = []

    def full_disk(path, data, **kw):
        if len(calls) == fail_after:
            raise OSError(28, "No space left on device")
        calls.append(path)
        return real(path, data, **kw)

    monkeypatch.setattr(importer, "write_atomic", full_disk)
    with pytest.raises(FlowctlError) as info:
        import_csv(csv, load_map(map_path), out)
    first, stopped = messages(info)
    assert first == f"{out}/A-{fail_after}.yaml: error: cannot write: No space left on device"
    assert stopped.startswith(f"{out}: error: the import stopped part way: {said}")


def test_progress_wraps_the_writing_pass(tmp_path):
    csv, map_path, out = files(tmp_path, "Id,Account,Amount\nA-1,Acme,1\nA-2,Beta,2\n")
    seen = []

    @contextlib.contextmanager
    def progress(rows, count):
        seen.append(count)
        yield rows

    assert import_csv(csv, load_map(map_path), out, progress=progress).written == 2 and seen == [2]
