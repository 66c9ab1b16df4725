"""The bench's bulk generator writes rows the product itself could have written."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from bench import bulk

OPEN_STATES = ("new", "in_progress", "needs_clarification", "waiting")


def _load(tmp_path: Path, sqlite_template: Path, requests: int, events: int) -> sqlite3.Connection:
    path = tmp_path / "bulk.sqlite3"
    path.write_bytes(sqlite_template.read_bytes())
    bulk.load(f"sqlite:///{path}", requests, events, seed=11)
    return sqlite3.connect(path)


def test_small_bulk_load_keeps_the_invariants(tmp_path: Path, sqlite_template: Path) -> None:
    conn = _load(tmp_path, sqlite_template, 200, 2000)

    def count(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0])

    assert count("SELECT count(*) FROM request") == 200
    assert count("SELECT count(*) FROM event") == 2000
    # Every request has an owner who exists, and every event belongs to an existing request.
    assert count("SELECT count(*) FROM request WHERE owner_id IS NULL") == 0
    assert (
        count(
            "SELECT count(*) FROM request r LEFT JOIN person p ON p.id = r.owner_id"
            " WHERE p.id IS NULL"
        )
        == 0
    )
    assert (
        count(
            "SELECT count(*) FROM event e LEFT JOIN request r ON r.id = e.request_id"
            " WHERE r.id IS NULL"
        )
        == 0
    )
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # States agree with timestamps and offers: a new request has an open intake offer held by
    # the team's duty owner; a resolved or closed one has a resolution time and no open offer.
    assert (
        count(
            "SELECT count(*) FROM request WHERE state = 'new' AND (accepted_at IS NOT NULL"
            " OR NOT EXISTS (SELECT 1 FROM offer o WHERE o.request_id = request.id"
            " AND o.state = 'open' AND o.kind = 'intake'))"
        )
        == 0
    )
    assert (
        count(
            "SELECT count(*) FROM request r JOIN team t ON t.id = r.team_id"
            " WHERE r.state = 'new' AND r.owner_id != coalesce(t.duty_owner_id, t.lead_id)"
        )
        == 0
    )
    assert (
        count(
            "SELECT count(*) FROM request WHERE state IN ('resolved', 'closed')"
            " AND (resolved_at IS NULL OR resolved_at < opened_at)"
        )
        == 0
    )
    assert count("SELECT count(*) FROM request WHERE state = 'closed' AND closed_at IS NULL") == 0
    assert (
        count(
            "SELECT count(*) FROM offer WHERE state = 'open' AND request_id IN"
            " (SELECT id FROM request WHERE state IN ('resolved', 'closed'))"
        )
        == 0
    )
    # Accepted owners belong to the team that holds the request.
    assert (
        count(
            "SELECT count(*) FROM request r WHERE r.state != 'new' AND NOT EXISTS"
            " (SELECT 1 FROM membership m WHERE m.team_id = r.team_id"
            " AND m.person_id = r.owner_id)"
        )
        == 0
    )
    # Every request opened with one event and passed through at least its first team.
    assert count("SELECT count(*) FROM event WHERE kind = 'opened'") == 200
    assert count("SELECT count(DISTINCT request_id) FROM path_step") == 200
    assert (
        count(
            "SELECT count(*) FROM request WHERE state NOT IN"
            f" ({', '.join(repr(s) for s in (*OPEN_STATES, 'resolved', 'closed'))})"
        )
        == 0
    )
    # The secondary indexes dropped for the load are back.
    assert count("SELECT count(*) FROM sqlite_master WHERE name = 'ix_event_request_id_id'") == 1
    # Every request can be found: one search document each, made after the rows went in, and
    # the search triggers suspended for the load are all back as the migrations made them.
    assert count("SELECT count(*) FROM request_search") == 200
    assert count("SELECT count(DISTINCT request_id) FROM request_search") == 200
    assert count("SELECT count(*) FROM request_search WHERE scope = ''") == 0
    triggers = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    template = sqlite3.connect(sqlite_template)
    try:
        assert conn.execute(triggers).fetchall() == template.execute(triggers).fetchall()
    finally:
        template.close()
    conn.close()


def test_the_same_seed_gives_the_same_rows() -> None:
    org, _ = bulk.build_org()
    first = list(bulk.generate(org, 50, 400, random.Random(3), bulk.sqlite_time))
    second = list(bulk.generate(org, 50, 400, random.Random(3), bulk.sqlite_time))
    assert first == second
