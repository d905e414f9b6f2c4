"""A PostgreSQL server for tests, and a fresh empty database per test.

`postgres_url()` gives $FLOWCTL_TEST_POSTGRES when set, else runs scripts/ensure-postgres
once (it installs and starts a local server, as root) and gives the URL it prints; None
when neither works, with the reason in `why_no_postgres()`. Test modules import it with
`from pg_server import ...` (tests/ is on sys.path).
"""
from __future__ import annotations

import contextlib
import functools
import os
import secrets
import subprocess
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ensure-postgres"


@functools.cache
def _find() -> tuple[str | None, str]:
    url = os.environ.get("FLOWCTL_TEST_POSTGRES")
    if url:
        return url, ""
    try:
        proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"scripts/ensure-postgres did not run: {exc}"
    lines = proc.stdout.split()
    if proc.returncode != 0 or not lines:
        return None, f"scripts/ensure-postgres failed ({proc.returncode}): {proc.stderr.strip()[-500:]}"
    return lines[-1], ""


def postgres_url() -> str | None:
    return _find()[0]


def why_no_postgres() -> str:
    return _find()[1]


@contextlib.contextmanager
def fresh_database(base_url: str) -> Iterator[str]:
    """The URL of a new, empty database on base_url's server, dropped afterwards.

    Falls back to a fresh schema (via search_path) when the role may not create databases.
    """
    import psycopg

    name = f"flowctl_t_{secrets.token_hex(6)}"
    with psycopg.connect(base_url, autocommit=True) as admin:
        try:
            admin.execute(f"CREATE DATABASE {name}")
            url = urlsplit(base_url)._replace(path="/" + name).geturl()
            drop = f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        except psycopg.errors.InsufficientPrivilege:
            admin.execute(f"CREATE SCHEMA {name}")
            url = base_url + ("&" if "?" in base_url else "?") + f"options=-csearch_path%3D{name}"
            drop = f"DROP SCHEMA IF EXISTS {name} CASCADE"
    try:
        yield url
    finally:
        _drop(base_url, drop)


def _drop(base_url: str, drop: str) -> None:
    """DROP ... WITH (FORCE) ends the other sessions on the database, but not an autovacuum
    worker that happens to be in it (only a superuser may): that refusal is retried until
    the worker is done, a moment later."""
    import psycopg

    for attempt in range(50):
        try:
            with psycopg.connect(base_url, autocommit=True) as admin:
                admin.execute(drop)
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == 49:
                raise
            time.sleep(0.1)
