"""plugins/_sql_rows.py: how values travel (dates, strict JSON), what a Dialect changes, and
every store record to its row and back, in process (no database)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any, Callable

import pytest

from flowctl.plugins import _sql_rows
from flowctl.plugins._sql_rows import Dialect, as_date, dumps, loads
from flowctl.plugins.sqlite_store import SQLITE
from flowctl.store import ActionResult, DealRecord, Event, FileEntry, OutboxItem, Transition
from store_records import DAY, LATER, deal, event, item, snap

PERCENT = dataclasses.replace(SQLITE, param="%s")


@pytest.mark.parametrize("value,date", [(DAY, DAY), (dt.datetime(2026, 11, 2, 23, 59), DAY),
                                        (dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc), DAY),
                                        ("2026-11-02", DAY)])
def test_as_date_takes_a_date_a_datetimes_day_or_iso_text(value: Any, date: dt.date) -> None:
    assert as_date(value) == date


@pytest.mark.parametrize("value,error", [(None, TypeError), (20261102, TypeError), (1.5, TypeError),
                                         ([2026, 11, 2], TypeError), ("", ValueError), ("02.11.2026", ValueError),
                                         ("2026-02-30", ValueError)])
def test_as_date_refuses_anything_else(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        as_date(value)


@pytest.mark.parametrize("value,text", [
    ({}, "{}"), ([], "[]"), ({"a": [1, 2.5, None, True]}, '{"a":[1,2.5,null,true]}'), ("ü — ñ", '"ü — ñ"'),
    ({"on": DAY}, '{"on":"2026-11-02"}'), ([dt.datetime(2026, 11, 2, 8, 30)], '["2026-11-02T08:30:00"]'),
    ({"b", "a", "c"}, '["a","b","c"]'), (frozenset({2, 10}), "[10,2]"),  # sorted as text: any mix sorts
    ({"keep": "order", "as": "given"}, '{"keep":"order","as":"given"}'),
])
def test_dumps_writes_compact_json_with_dates_and_sets(value: Any, text: str) -> None:
    assert dumps(value) == text


@pytest.mark.parametrize("value", [object(), {"x": b"bytes"}, [1j], {"d": dt.time(8, 30)}])
def test_dumps_refuses_a_value_json_cannot_hold(value: Any) -> None:
    with pytest.raises(TypeError, match="cannot be stored as JSON"):
        dumps(value)


@pytest.mark.parametrize("text", ['{"a":[1,2]}', ' {"a": [1, 2]} ', b'{"a":[1,2]}', memoryview(b'{"a":[1,2]}'),
                                  '{"a":[1,2]}\n'])
def test_loads_reads_its_own_json_and_anyone_elses(text: str | bytes | memoryview) -> None:
    assert loads(text) == {"a": [1, 2]}


@pytest.mark.parametrize("text", ["", "{", '{"a":1} {"b":2}', "nan-ish", b"\xff"])
def test_loads_refuses_what_is_not_one_json_document(text: str | bytes) -> None:
    with pytest.raises(ValueError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        loads(text)


@pytest.mark.parametrize("dialect,sql", [(SQLITE, "SELECT ? WHERE a = ?"), (PERCENT, "SELECT %s WHERE a = %s")])
def test_a_dialect_writes_its_own_placeholder(dialect: Dialect, sql: str) -> None:
    assert dialect.sql("SELECT ? WHERE a = ?") == sql


def test_a_dialect_passes_none_through_its_nullable_conversions() -> None:
    assert (SQLITE.date(None), SQLITE.undate(None), SQLITE.unjson(None)) == (None, None, None)
    assert (SQLITE.date(dt.datetime(2026, 11, 2, 8)), SQLITE.undate("2026-11-02"), SQLITE.unjson("[1]")) == (
        "2026-11-02", DAY, [1])


def test_utc_now_is_iso_seconds_in_utc() -> None:
    now = dt.datetime.fromisoformat(_sql_rows.utc_now())
    assert now.utcoffset() == dt.timedelta(0) and now.microsecond == 0


# --------------------------------------------------------------------------- records <-> rows

FULL_DEAL = DealRecord("ACME-1", "deals/acme.yaml", "developed", "open", DAY, {"prospect": DAY, "developed": LATER},
                       {"render": DAY}, {"b", "a"}, {"id": "ACME-1", "amount": 5.5, "probability": 0.3,
                                                      "forecast_category": "commit", "owner": "bob@example.com"},
                       LATER, "sha256:abc")
ROUND_TRIPS: list[tuple[Callable, Callable, Any]] = [
    (_sql_rows._deal_row, _sql_rows._deal, FULL_DEAL),
    (_sql_rows._deal_row, _sql_rows._deal, deal(1)),
    (_sql_rows._file_row, _sql_rows._file, FileEntry("deals/ñ.yaml", 10, 1_763_000_000_123_456_789, ["A", "B"],
                                                     "d", LATER, False)),
    (_sql_rows._file_row, _sql_rows._file, FileEntry("deals/e.yaml", 0, 0, [], "d")),
    (_sql_rows._transition_row, _sql_rows._transition, Transition("D-1", None, "prospect", DAY, "open", 3)),
    (_sql_rows._event_row, _sql_rows._event, event(1, stage=None, deal=None, data={"values": [1, None]})),
    (_sql_rows._action_row, _sql_rows._action, ActionResult("D-1", "j", "notify", False, 3, DAY, {"f": 1}, "550")),
    (_sql_rows._outbox_row, _sql_rows._outbox, item(1, recipient=None, created_at=None, claimed_by="host:1")),
    (_sql_rows._outbox_row, _sql_rows._outbox, item(2, status="failed", attempts=2, last_error="x", sent_at="t")),
]


@pytest.mark.parametrize("to_row,from_row,record", ROUND_TRIPS, ids=lambda v: type(v).__name__)
def test_a_record_comes_back_from_its_row_as_it_went_in(to_row: Callable, from_row: Callable, record: Any) -> None:
    assert from_row(SQLITE, to_row(SQLITE, 3, record)) == record


@pytest.mark.parametrize("table,field,to_row", _sql_rows._BATCH, ids=lambda v: getattr(v, "name", None))
def test_each_row_has_a_value_for_each_column_of_its_table(table: Any, field: str, to_row: Callable) -> None:
    records = {"deals": deal(1), "files": FileEntry("p", 1, 1, [], "d"), "transitions": Transition("D", None, "s", DAY),
               "events": event(1), "actions": ActionResult("D", "j", "a", True, 1, DAY), "outbox": item(1),
               "snapshot": snap(1)}
    assert len(to_row(SQLITE, 7, records[field])) == len(table.columns)


def test_a_deals_row_carries_its_summarys_figures_as_columns_with_defaults() -> None:
    row = dict(zip(_sql_rows.DEALS.columns, _sql_rows._deal_row(SQLITE, 7, FULL_DEAL)))
    assert {k: row[k] for k in ("amount", "probability", "forecast_category", "owner", "run_id")} == {
        "amount": 5.5, "probability": 0.3, "forecast_category": "commit", "owner": "bob@example.com", "run_id": 7}
    bare = dict(zip(_sql_rows.DEALS.columns, _sql_rows._deal_row(SQLITE, 7, deal(1, summary={"amount": None}))))
    assert (bare["amount"], bare["probability"], bare["forecast_category"], bare["owner"]) == (0.0, 0.0, "", None)
    assert json.loads(row["event_keys"]) == ["a", "b"]  # a set is stored sorted


def test_a_transition_without_a_run_belongs_to_the_batchs_run() -> None:
    row = _sql_rows._transition_row(SQLITE, 9, Transition("D-1", None, "prospect", DAY))
    assert _sql_rows._transition(SQLITE, row).run_id == 9


def test_a_run_row_is_a_dict_with_its_json_and_date_decoded() -> None:
    row = (1, "2026-11-02T08:00:00+00:00", None, "ok", '{"deals":3}', "2026-11-02", "wf.yaml", "d", '["run"]', None)
    assert _sql_rows._run(SQLITE, row) == {
        "id": 1, "started": "2026-11-02T08:00:00+00:00", "finished": None, "status": "ok", "summary": {"deals": 3},
        "now": DAY, "workflow": "wf.yaml", "digest": "d", "argv": ["run"], "claimed_by": None}


@pytest.mark.parametrize("record", [deal(1, entered_at="not a date"), deal(1, summary={"x": object()}),
                                    deal(1, first_seen={"prospect": 5})])
def test_a_record_that_cannot_become_a_row_fails_with_a_type_or_value_error(record: DealRecord) -> None:
    with pytest.raises((TypeError, ValueError)):  # the store turns these into a StoreError naming its URL
        _sql_rows._deal_row(SQLITE, 1, record)
