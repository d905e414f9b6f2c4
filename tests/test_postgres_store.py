"""plugins/postgres_store.py: what only the PostgreSQL store does (the Store contract itself
is tests/test_store.py's): its URL schemes, psycopg imported only when needed, connection
failures that never show the password, and batches sent by COPY from a size on."""
from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from flowctl.plugins import postgres_store
from flowctl.store import Batch, StoreError
from pg_server import fresh_database
from servers import closed_port
from store_records import deal, open_url, postgres_or_skip


def test_postgresql_plugin_without_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    probe = "import sys, flowctl.plugins.postgres_store; print('psycopg' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"  # imported only when a URL is opened
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StoreError, match=r"postgresql://u:\*\*\*@localhost/db: .*needs psycopg"):
        postgres_store.flowctl_open_store("postgresql://u:secret@localhost/db")


def test_postgresql_unreachable_server_masks_the_password() -> None:
    url = f"postgresql://flowctl:s3cret-pw@127.0.0.1:{closed_port()}/flowctl_test"
    with pytest.raises(StoreError) as info:
        open_url(url)
    message = str(info.value)
    assert "s3cret-pw" not in message and "postgresql://flowctl:***@127.0.0.1" in message
    assert "refused" in message.lower() and "\n" not in message


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.username}:{password}@{parts.hostname}:{parts.port}").geturl()


def test_postgresql_wrong_password_and_unknown_database() -> None:
    base = postgres_or_skip()
    with pytest.raises(StoreError, match="password authentication failed") as info:
        open_url(with_password(base, "not-the-password"))
    assert "not-the-password" not in str(info.value) and ":***@" in str(info.value)
    with pytest.raises(StoreError, match="flowctl_no_such_db"):
        open_url(urlsplit(base)._replace(path="/flowctl_no_such_db").geturl())


def test_postgres_scheme_and_masked_url() -> None:
    with fresh_database(postgres_or_skip()) as url:
        with open_url("postgres://" + url.split("://", 1)[1]) as store:
            assert isinstance(store, postgres_store.PostgresStore)
            assert f":{urlsplit(url).password}@" not in store.url and ":***@" in store.url
            store.write(Batch(1, deals=[deal(1)]))


# --------------------------------------------------------------------------- in process

@pytest.mark.parametrize("url", ["sqlite:///state.db", "mysql://u@h/db", "postgresqlx://u@h/db", "postgresql:/x",
                                 "state.db", ""])
def test_other_urls_are_left_to_other_plugins(url: str) -> None:
    assert postgres_store.flowctl_open_store(url) is None


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "PostgreSQL", "postgresql+psycopg", "postgres+psycopg2"])
def test_each_postgresql_scheme_is_taken_and_connected_to_as_postgresql(scheme: str) -> None:
    with pytest.raises(StoreError, match=rf"^cannot connect to the PostgreSQL store {re.escape(scheme)}://flowctl:\*\*\*@"):
        postgres_store.flowctl_open_store(f"{scheme}://flowctl:pw@127.0.0.1:{closed_port()}/flowctl_test")


@pytest.mark.parametrize("query,name", [("", "flowctl"), ("?application_name=nightly", "nightly")])
def test_the_connection_names_itself_flowctl_unless_the_url_says_otherwise(query: str, name: str) -> None:
    with fresh_database(postgres_or_skip()) as url:
        with open_url(url + ("&" if "?" in url else "?") + query[1:] if query else url) as store:
            assert store.conn.execute("SELECT current_setting('application_name')").fetchone() == (name,)


def test_a_batch_goes_by_copy_from_its_size_on_with_the_same_meaning() -> None:
    size = postgres_store.COPY_FROM_ROWS
    staging = "SELECT to_regclass('pg_temp.flowctl_in_deals') IS NOT NULL"
    with fresh_database(postgres_or_skip()) as url, open_url(url) as store:
        store.write(Batch(1, deals=[deal(i) for i in range(size - 2)] + [deal(0, stage="qualified")]))
        assert store.conn.execute(staging).fetchone() == (False,)  # size - 1 rows: row by row
        store.write(Batch(2, deals=[deal(i) for i in range(100, 100 + size - 1)] + [deal(100, stage="won")]))
        assert store.conn.execute(staging).fetchone() == (True,)  # size rows: COPY through the staging table
        assert store.conn.execute("SELECT COUNT(*) FROM flowctl_in_deals").fetchone() == (0,)  # left empty
        deals = store.deals()
    assert len(deals) == (size - 2) + (size - 1) and deals["D-0"].stage == "qualified" and deals["D-100"].stage == "won"
