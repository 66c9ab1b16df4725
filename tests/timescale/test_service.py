"""The resolution curve each change reads: kept per process for a minute, never uncommitted."""

from __future__ import annotations

import pytest
from sqlalchemy import event, update

from followthrough.db import Database
from followthrough.timescale import service as timescale
from followthrough.timescale.models import TimescaleCurve
from followthrough.timescale.scheduled import refresh_stale_curves
from tests.conftest import T0
from tests.factories import World


def _set_resolved_count(db: Database, service_id: int, count: int) -> None:
    """Change the stored curve behind the process's back, as another worker's sweep would."""
    with db.unit_of_work() as session:
        session.execute(
            update(TimescaleCurve)
            .where(TimescaleCurve.service_id == service_id)
            .values(resolved_count=count)
        )


def _resolved_count(db: Database, service_id: int) -> int:
    with db.unit_of_work(readonly=True) as session:
        return timescale.curve_facts(session, service_id, T0).resolved_count


def test_a_kept_curve_is_used_for_a_minute_then_read_again(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    service_id = world.services["correct_policy"]
    with db.unit_of_work() as session:
        timescale.refresh_curve(session, service_id, T0)
    assert _resolved_count(db, service_id) == 0
    _set_resolved_count(db, service_id, 42)
    # Within the minute the process's copy answers.
    assert _resolved_count(db, service_id) == 0
    monkeypatch.setattr(timescale, "CURVE_KEEP_SECONDS", 0.0)
    assert _resolved_count(db, service_id) == 42


def test_a_curve_refreshed_here_is_seen_at_once_and_a_rolled_back_one_never(
    db: Database, world: World
) -> None:
    service_id = world.services["correct_policy"]
    with db.unit_of_work() as session:
        timescale.refresh_curve(session, service_id, T0)
    assert _resolved_count(db, service_id) == 0
    _set_resolved_count(db, service_id, 7)
    # A refresh in this process drops the kept copy; the transaction that wrote it reads its own.
    session = db.sessions()
    try:
        curve = timescale.refresh_curve(session, service_id, T0)
        curve.resolved_count = 99
        session.flush()
        assert timescale.curve_facts(session, service_id, T0).resolved_count == 99
    finally:
        session.rollback()
        session.close()
    # The rolled-back curve was never kept: the next reader sees what is committed.
    assert _resolved_count(db, service_id) == 7


def test_a_read_works_out_a_missing_curve_without_storing_it(db: Database, world: World) -> None:
    """A page or API read of a service's timescale never writes (on SQLite it would have to wait
    for the writer), nor does a change; the scheduled refresh stores the curve."""
    service_id = world.services["correct_policy"]
    writes: list[str] = []

    def count_writes(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", count_writes)
    try:
        with db.unit_of_work(readonly=True) as session:
            assert session.get(TimescaleCurve, service_id) is None
            estimate = timescale.estimate_for_service(session, service_id, T0)
            assert estimate.likely_hours > 0
        with db.unit_of_work() as session:
            timescale.estimate_for_service(session, service_id, T0)
    finally:
        event.remove(db.engine, "before_cursor_execute", count_writes)
    assert writes == []
    with db.unit_of_work(readonly=True) as session:
        assert session.get(TimescaleCurve, service_id) is None
    assert refresh_stale_curves(db, T0) >= 1
    with db.unit_of_work(readonly=True) as session:
        assert session.get(TimescaleCurve, service_id) is not None
        assert service_id not in timescale.stale_curves(session, T0)


def test_a_transaction_that_refreshed_curves_reads_each_once_until_it_refreshes_it_again(
    db: Database, world: World
) -> None:
    """The demo's build refreshes every curve, then stamps thousands of open requests in the same
    transaction: it reads (and parses) each curve once, and a new refresh is read anew."""
    service_id = world.services["correct_policy"]
    reads: list[str] = []

    def count_reads(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "timescale_curve" in statement:
            reads.append(statement)

    session = db.sessions()
    event.listen(db.engine, "before_cursor_execute", count_reads)
    try:
        timescale.refresh_curve(session, service_id, T0).resolved_count = 5
        session.flush()
        reads.clear()
        counts = [timescale.curve_facts(session, service_id, T0).resolved_count for _ in range(3)]
        assert counts == [5, 5, 5]
        assert len(reads) == 1
        timescale.refresh_curve(session, service_id, T0).resolved_count = 11
        session.flush()
        assert timescale.curve_facts(session, service_id, T0).resolved_count == 11
    finally:
        event.remove(db.engine, "before_cursor_execute", count_reads)
        session.rollback()
        session.close()
