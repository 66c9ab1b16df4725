"""Bulk rows (COPY on PostgreSQL, executemany on SQLite): nothing is lost, a failed batch is
not silent, and ids reserved after a batch follow its rows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from followthrough.db import Database
from followthrough.history.bulk_rows import BulkRows, MissingReference, _Staging
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


# Texts COPY's text format treats specially (its separators, its escape and its NULL marker),
# beside plain and non-ASCII ones; PostgreSQL's text holds every character but NUL.
HOSTILE_TEXTS = [
    "",
    "plain",
    "\\N",
    "ends in a backslash \\",
    "tab\there",
    "line\nbreak",
    "carriage\rreturn",
    "\\t is not a tab",
    "\\\\\\",
    "Åse Öberg, naïve 😀",
    "\\.",
]
STAGED = {"sample": (("words", "text"), ("count", "int"), ("seen", "time"), ("body", "payload"))}


def _staged_rows(session: Session, scratch_rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows copied from a scratch table into PostgreSQL's staging table, read back."""
    scratch = sqlite3.connect(":memory:")
    scratch.execute("CREATE TABLE sample (words, count, seen, body)")
    scratch.executemany("INSERT INTO sample VALUES (?, ?, ?, ?)", scratch_rows)
    scratch.execute("DELETE FROM sample WHERE rowid % 7 = 3")  # gaps in the row numbers
    bulk = BulkRows(session)
    try:
        stage = _Staging(bulk, STAGED)
        stage.copy("sample", scratch)
        staged = bulk.driver.execute(
            "SELECT seq, words, count, seen, body FROM import_stage_sample ORDER BY seq"
        ).fetchall()
        kept = scratch.execute("SELECT rowid, * FROM sample ORDER BY rowid").fetchall()
        stage.drop()
    finally:
        bulk.close()
    return [
        ((*row[:3], row[3].isoformat(" ") if row[3] else None, row[4]), tuple(want))
        for row, want in zip(staged, kept, strict=True)
    ]


def test_the_staging_copy_keeps_every_text_and_number_exactly(pg_db: Database) -> None:
    """The scratch rows reach PostgreSQL's staging table as they were: COPY's separators,
    escapes and NULL marker inside texts, NULLs, large numbers, across several blocks."""
    rows = [
        (
            HOSTILE_TEXTS[n % len(HOSTILE_TEXTS)],
            None if n % 5 == 0 else n * 1_000_003 - 2**40,
            None if n % 3 == 0 else f"2026-11-{1 + n % 28:02d} 0{n % 10}:15:00.{n:06d}",
            None if n % 4 == 0 else '{"text": "' + HOSTILE_TEXTS[-1 - n % 11] + '"}',
        )
        for n in range(45_000)
    ]
    with pg_db.unit_of_work() as session:
        pairs = _staged_rows(session, rows)
        session.rollback()
    assert len(pairs) > 38_000  # more than one block, with the gaps left out
    for got, want in pairs:
        assert got == want


# Each example rolls its rows back, so sharing the database between examples is safe.
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.none(),
                st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00")),
            ),
            st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
        ),
        max_size=30,
    )
)
def test_any_text_survives_the_staging_copy(
    pg_db: Database, rows: list[tuple[str | None, int | None]]
) -> None:
    scratch_rows = [(words, count, None, words) for words, count in rows]
    with pg_db.unit_of_work() as session:
        pairs = _staged_rows(session, scratch_rows)
        session.rollback()
    for got, want in pairs:
        assert got == want
