"""No store password in any message or plan file, whatever form the URL takes."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.redact import mask_secrets
from pg_server import fresh_database, postgres_url, why_no_postgres
from servers import closed_port

SECRET = "hunter2"
FORMS = {
    "user and password": "postgresql://flowctl:{pw}@127.0.0.1:{port}/sales",
    "no user": "postgresql://:{pw}@127.0.0.1:{port}/sales",
    "raw @ in the password": "postgresql://flowctl:{pw}@x@127.0.0.1:{port}/sales",
    "raw / in the password": "postgresql://flowctl:a/{pw}@127.0.0.1:{port}/sales",
    "query parameter": "postgresql://127.0.0.1:{port}/sales?user=flowctl&password={pw}",
    "sslpassword parameter": "postgresql://flowctl@127.0.0.1:{port}/sales?sslpassword={pw}&sslmode=disable",
    "percent-encoded": "postgresql://flowctl:{pw}%40x@127.0.0.1:{port}/sales",
    "unknown scheme": "mysql://flowctl:{pw}@127.0.0.1:{port}/sales",
}


@pytest.mark.parametrize("form", FORMS)
def test_store_errors_never_show_the_password(cli, project, form):
    url = FORMS[form].format(pw=SECRET, port=closed_port())
    project.deal("D1")
    result = cli("run", str(project.deals), "-w", str(project.workflow), "--store", url, "--now", "2026-01-05")
    assert result.exit_code == 2, result.output
    assert SECRET not in result.output and "Traceback" not in result.output
    assert "***" in result.output


_password = st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="\"'<>"), min_size=6, max_size=20)


@settings(max_examples=200, deadline=None)
@given(_password, st.sampled_from(["postgresql", "postgres", "https"]), st.booleans(), st.sampled_from(["", "bob"]))
def test_any_password_is_masked(password, scheme, encoded, user):
    password = "SECRET-" + password  # a marker that nothing but the password holds
    pw = quote(password, safe="") if encoded else password
    for text in (f"{scheme}://{user}:{pw}@db.example.com:5432/x", f"failed: {scheme}://{user}:{pw}@h/x: refused",
                 f"{scheme}://h/x?password={quote(password, safe='')}", f"host=h password={quote(password, safe='')} user=u"):
        masked = mask_secrets(text)
        assert "SECRET" not in masked, (text, masked)


@pytest.mark.parametrize("text", ["sqlite:///tmp/state.db", "postgresql://bob@h/x", "https://example.com/a?b=c",
                                  "no URL at all", "bob@example.com"])
def test_text_without_secrets_is_unchanged(text):
    assert mask_secrets(text) == text


@pytest.mark.skipif(postgres_url() is None, reason=why_no_postgres() or "no PostgreSQL")
def test_a_saved_plan_holds_no_password_and_needs_the_url_again(cli, project, tmp_path):
    project.deal("D1")
    base = postgres_url()
    assert base is not None
    with fresh_database(base) as url:
        assert ":" in url.split("//", 1)[1].split("@", 1)[0], "the test needs a URL with a password"
        password = url.split("//", 1)[1].split("@", 1)[0].split(":", 1)[1]
        plan = tmp_path / "plan.json"
        common = ("-w", str(project.workflow), "--now", "2026-01-05")
        cli("run", str(project.deals), *common, "--store", url)  # the store exists
        result = cli("run", str(project.deals), *common, "--store", url, "--dry-run", "--save-plan", str(plan))
        assert result.exit_code == 0, result.output
        assert f":{password}@" not in plan.read_text() and ":***@" in json.loads(plan.read_text())["store"]
        refused = cli("run", "--plan", str(plan))
        assert refused.exit_code == 2 and "give it again with --store" in refused.output
        assert cli("run", "--plan", str(plan), "--store", url).exit_code == 0


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "huge", "folder"])
def test_a_plan_that_is_not_a_regular_small_file_is_refused(cli, tmp_path, special):
    import os
    path = {"fifo": str(tmp_path / "plan.fifo"), "/dev/zero": "/dev/zero", "huge": str(tmp_path / "huge.json"),
            "folder": str(tmp_path)}[special]
    if special == "fifo":
        os.mkfifo(path)
    elif special == "huge":
        with open(path, "wb") as fh:
            fh.truncate(6 * 1024 * 1024)
    result = cli("run", "--plan", path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert path in result.output
