"""What a run leaves in a SQLite store, without what differs by design (ids, times,
attempts): the crash and fault tests compare a disturbed run's store with an undisturbed one's."""
from __future__ import annotations

import sqlite3
from pathlib import Path


def store_state(db: Path) -> dict:
    """What a run leaves behind, without what differs by design (ids, times, attempts)."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
        return {
            "deals": sorted(con.execute("select deal_id, stage, outcome, entered_at, first_seen, event_keys from deals")),
            "events": sorted(r[0] for r in con.execute("select key from events")),
            "transitions": sorted(con.execute("select deal_id, from_stage, to_stage, at from transitions")),
            "outbox": sorted(con.execute("select key, channel, recipient, status from outbox")),
            "files": sorted(con.execute("select path, size, ok from files")),
        }
    finally:
        con.close()
