"""plugins/_sql_tables.py: the SQL each Table writes, and migrations that build exactly the
tables the queries use, in both databases' column types."""
from __future__ import annotations

import sqlite3

import pytest

from flowctl.plugins import _sql_tables, postgres_store, sqlite_store
from flowctl.plugins._sql_tables import LATEST, MIGRATIONS, Table

TABLES = [table for table in vars(_sql_tables).values() if isinstance(table, Table)]


@pytest.mark.parametrize("table,insert", [
    (Table("t", ("a",)), "INSERT INTO t (a) VALUES (?)"),
    (Table("t", ("a", "b", "c")), "INSERT INTO t (a, b, c) VALUES (?, ?, ?)"),
    (Table("t", ("k", "v"), ("k",)), "INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING"),
    (Table("t", ("k", "v", "w"), ("k",), True),
     "INSERT INTO t (k, v, w) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v, w = excluded.w"),
    (Table("t", ("r", "d", "v"), ("r", "d"), True),
     "INSERT INTO t (r, d, v) VALUES (?, ?, ?) ON CONFLICT (r, d) DO UPDATE SET v = excluded.v"),
])
def test_an_insert_ignores_or_replaces_a_conflicting_row_as_its_key_says(table: Table, insert: str) -> None:
    assert table.insert() == insert


@pytest.mark.parametrize("where,order,select", [
    ("", "", "SELECT a, b FROM t"), ("a = ?", "", "SELECT a, b FROM t WHERE a = ?"),
    ("", "b DESC", "SELECT a, b FROM t ORDER BY b DESC"), ("a = ?", "b", "SELECT a, b FROM t WHERE a = ? ORDER BY b"),
])
def test_a_select_names_every_column_in_order(where: str, order: str, select: str) -> None:
    assert Table("t", ("a", "b")).select(where, order) == select


def test_latest_is_the_number_of_migration_steps() -> None:
    assert LATEST == len(MIGRATIONS) >= 2 and all(step and isinstance(step, tuple) for step in MIGRATIONS)


def migrated() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    for step in MIGRATIONS:
        for statement in step:
            conn.execute(statement.format(**sqlite_store.SQLITE.types))
    return conn


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
def test_the_migrations_build_every_column_a_table_reads_and_writes(table: Table) -> None:
    columns = [row[1] for row in migrated().execute(f"PRAGMA table_info({table.name})")]
    assert set(table.columns) <= set(columns), set(table.columns) - set(columns)


@pytest.mark.parametrize("table", [t for t in TABLES if t.key], ids=lambda table: table.name)
def test_each_tables_conflict_key_is_unique_in_the_schema(table: Table) -> None:
    conn = migrated()
    row = tuple(1 if column in ("ok", "attempts") else f"{column}-value" for column in table.columns)
    for _ in range(2):  # SQLite refuses an ON CONFLICT target that no unique index covers
        conn.execute(table.insert(), row)
    assert conn.execute(f"SELECT COUNT(*) FROM {table.name}").fetchone() == (1,)


@pytest.mark.parametrize("types", [sqlite_store.SQLITE.types, pytest.param(None, id="postgresql")])
def test_every_migration_statement_has_a_type_for_each_of_its_fields(types: dict[str, str] | None) -> None:
    if types is None:
        pytest.importorskip("psycopg")
        types = postgres_store._dialect().types
    for step in MIGRATIONS:
        for statement in step:
            assert "{" not in statement.format(**types), statement
