"""`--jobs N` (processes on one machine) and `--shard K/N` (machines sharing one store)."""
from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import Project


def many(project: Project, n: int = 60) -> None:
    for i in range(n):
        project.deal(f"D{i:03d}", "jobs: {verify: 2026-01-03}\n" if i % 3 == 0 else "")


def table(db, sql):
    con = sqlite3.connect(db)
    try:
        return sorted(con.execute(sql))
    finally:
        con.close()


def test_jobs_2_reaches_the_same_state_as_one_process(cli, tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one, two = Project(tmp_path / "one"), Project(tmp_path / "two")
    for p in (one, two):
        many(p)
    a = cli("run", one.deals, *one.args("--now", "2026-01-20", "--format", "json"))
    b = cli("run", two.deals, *two.args("--now", "2026-01-20", "--format", "json", "--jobs", "2"))
    assert a.exit_code == b.exit_code == 0, b.output
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    assert sorted((d["id"], d["stage"]) for d in da["deals"]) == sorted((d["id"], d["stage"]) for d in db["deals"])
    assert da["summary"]["events"] == db["summary"]["events"]
    sql = "select deal_id, stage, entered_at, event_keys from deals"
    assert table(one.root / "state.db", sql) == table(two.root / "state.db", sql)
    assert len(table(two.root / "state.db", "select distinct run_id from snapshots")) == 1
    again = json.loads(cli("run", two.deals, *two.args("--now", "2026-01-20", "--format", "json", "--jobs", "2")).stdout)
    assert again["events"] == [] and again["summary"]["unchanged"] == 60


def test_shards_split_the_deals_by_id_and_share_one_store(cli, project):
    many(project)
    ids = []
    for k in (1, 2, 3):
        out = json.loads(cli("run", project.deals, *project.args("--now", "2026-01-20", "--format", "json",
                                                                  "--shard", f"{k}/3")).stdout)
        ids.append({d["id"] for d in out["deals"]})
    assert ids[0] | ids[1] | ids[2] == {f"D{i:03d}" for i in range(60)}
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2]) and not (ids[0] & ids[2])
    assert all(ids)  # each shard got some
    rows = table(project.root / "state.db", "select deal_id, count(*) from transitions group by deal_id")
    assert len(rows) == 60 and {count for _, count in rows} == {1}
    # the same shard again: nothing new, and the other shards' deals are not touched
    out = json.loads(cli("run", project.deals, *project.args("--now", "2026-01-20", "--format", "json",
                                                              "--shard", "2/3")).stdout)
    assert {d["id"] for d in out["deals"]} == ids[1] and out["events"] == []


@pytest.mark.parametrize("value", ["0/2", "3/2", "a/b", "2"])
def test_bad_shard_exits_2(cli, project, value):
    project.deal("D1")
    result = cli("run", project.deals, *project.args("--shard", value))
    assert result.exit_code == 2 and "--shard" in result.output


def test_jobs_with_dry_run_is_a_usage_error(cli, project):
    project.deal("D1")
    result = cli("run", project.deals, *project.args("--jobs", "2", "--dry-run"))
    assert result.exit_code == 2
