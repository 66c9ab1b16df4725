"""Bulk rows (COPY on PostgreSQL, executemany on SQLite): nothing is lost, a failed batch is
not silent, and ids reserved after a batch follow its rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from followthrough.db import Database
from followthrough.history.bulk_rows import BulkRows, MissingReference
from followthrough.org.models import Department, Person, Team
from followthrough.requests.models import Request

NOW = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
COLUMNS = ("name", "created_at")


def _names(count: int, start: int = 0) -> list[str]:
    return [f"Bulk department {n}" for n in range(start, start + count)]


def _rows(bulk: BulkRows, names: list[str | None]) -> list[tuple[Any, ...]]:
    return [(name, bulk.time(NOW)) for name in names]


def test_submitted_batches_are_all_written_and_reserved_ids_follow(db: Database) -> None:
    with db.unit_of_work() as session:
        before = session.scalar(select(func.count()).select_from(Department)) or 0
        bulk = BulkRows(session)
        try:
            bulk.submit([("department", COLUMNS, _rows(bulk, [*_names(300)]))])
            bulk.submit([("department", COLUMNS, _rows(bulk, [*_names(200, start=300)]))])
            ids = bulk.reserve_ids("department", 3)
        finally:
            bulk.close()
        names = set(session.scalars(select(Department.name)))
        count = session.scalar(select(func.count()).select_from(Department))
        written = session.scalar(select(func.max(Department.id))) or 0
    assert count == before + 500
    assert set(_names(500)) <= names
    assert len(ids) == 3
    assert ids == sorted(ids)
    assert ids[0] > written  # no clash with a row just written


def test_a_failed_batch_is_not_silent(db: Database) -> None:
    with db.unit_of_work() as session:
        bulk = BulkRows(session)
        try:
            with pytest.raises(Exception, match=r"(?i)null"):
                bulk.submit([("department", COLUMNS, _rows(bulk, [None]))])  # a name is required
        finally:
            bulk.close()
        session.rollback()
    with db.unit_of_work() as session:
        assert session.scalar(select(Department).where(Department.name.is_(None))) is None


def _offer_naming_nobody(session: Session) -> BulkRows:
    """A request, then an offer from a person who does not exist, written with the
    foreign-key triggers off; the bulk writer that would check it."""
    bulk = BulkRows(session)
    sql = bulk.driver.execute
    assert bulk._without_reference_triggers()  # the test role is a superuser

    def new(model: type[Any], **values: Any) -> int:
        return int(session.scalars(insert(model).values(**values).returning(model.id)).one())

    department = new(Department, name="D")
    team = new(Team, name="T", department_id=department)
    person = new(Person, handle="p", name="P", email="p@x.invalid")
    request = new(
        Request,
        title="t",
        need="n",
        requester_id=person,
        team_id=team,
        owner_id=person,
        state="new",
        opened_at=NOW,
        updated_at=NOW,
    )
    sql("CREATE TEMPORARY TABLE import_request_map (local bigint, id bigint) ON COMMIT DROP")
    sql("INSERT INTO import_request_map VALUES (1, %s)", (request,))
    sql("SET LOCAL session_replication_role = replica")
    sql(
        "INSERT INTO offer (request_id, kind, from_person_id, to_team_id, note, state, "
        "offered_at, due_at) VALUES (%s, 'intake', %s, %s, '', 'open', now(), now())",
        (request, person + 1000, team),
    )
    sql("SET LOCAL session_replication_role = origin")
    return bulk


def test_a_reference_loaded_without_its_trigger_is_checked_before_commit(
    pg_db: Database,
) -> None:
    """PostgreSQL's bulk load switches the foreign-key triggers off for trigger-free tables;
    the set-wise check then finds the row naming a person that does not exist."""
    with pg_db.unit_of_work() as session:
        bulk = _offer_naming_nobody(session)
        with pytest.raises(
            MissingReference, match=r"^1 offer\.\S*from_person_id\S* values name no "
        ):
            bulk._check_references("offer")
        session.rollback()
