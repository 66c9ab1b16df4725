"""Bulk rows (COPY on PostgreSQL, executemany on SQLite): nothing is lost, a failed batch is
not silent, and ids reserved after a batch follow its rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.history.bulk_rows import BulkRows
from followthrough.org.models import Department

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
