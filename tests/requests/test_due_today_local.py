"""'Due today' ends at midnight on the viewer's own clock, not at midnight UTC (SQLite and
PostgreSQL). Kolkata is UTC+05:30 all year, so its midnight is 18:30 UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from followthrough.db import Database
from followthrough.org.local_time import clock_of, end_of_today
from followthrough.promises import service as promises
from followthrough.requests import board, service
from followthrough.requests.service import NewRequest
from tests.conftest import T0
from tests.factories import World

KOLKATA = clock_of("Asia/Kolkata", "en_IN")


def _promise_due(db: Database, world: World, due: datetime) -> None:
    """cleo promises asha something on a request of hers, due at `due`."""
    with db.unit_of_work() as session:
        request = service.open_request(
            session,
            world.actor(session, "asha"),
            NewRequest(title="t", need="n", service_id=world.services["correct_policy"]),
            T0,
        )
        intake = service.open_offer_of(session, request.id)
        assert intake is not None
        cleo = world.actor(session, "cleo")
        service.accept_offer(session, cleo, request.id, intake.id, T0)
        promises.make_promise(session, cleo, request.id, "call back", due, T0)


def _due_today(db: Database, world: World, now: datetime, today_ends: datetime | None) -> int:
    with db.unit_of_work(readonly=True) as session:
        needs = board.needs_me(session, world.actor(session, "cleo"), now, today_ends=today_ends)
        counts = board.nav_counts(session, world.actor(session, "cleo"), now, today_ends)
        home = board.home_list(
            session, world.actor(session, "cleo"), now, "promises_due", today_ends=today_ends
        )
    assert home.total == needs.promises_due.total
    # The badge counts the same list the same way.
    assert counts.needs_me == needs.needs_me
    return needs.promises_due.total


def test_at_20_utc_in_kolkata_tomorrow_local_is_not_due_today(db: Database, world: World) -> None:
    # Monday 20:00 UTC is Tuesday 01:30 in Kolkata; its Tuesday ends at 18:30 UTC.
    now = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    ends = end_of_today(now, KOLKATA)
    assert ends == datetime(2026, 3, 3, 18, 30, tzinfo=UTC)
    _promise_due(db, world, datetime(2026, 3, 3, 19, 0, tzinfo=UTC))  # Wednesday 00:30 there
    assert _due_today(db, world, now, ends) == 0
    _promise_due(db, world, datetime(2026, 3, 3, 18, 0, tzinfo=UTC))  # Tuesday 23:30 there
    assert _due_today(db, world, now, ends) == 1


def test_a_promise_due_after_midnight_in_kolkata_is_tomorrow_there_but_today_in_utc(
    db: Database, world: World
) -> None:
    # Due Monday 20:00 UTC, which is Tuesday 01:30 in Kolkata.
    _promise_due(db, world, datetime(2026, 3, 2, 20, 0, tzinfo=UTC))
    now = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # Monday 22:30 in Kolkata
    assert _due_today(db, world, now, end_of_today(now, KOLKATA)) == 0
    assert _due_today(db, world, now, None) == 1  # before the next UTC midnight


def test_after_midnight_in_kolkata_its_new_day_counts(db: Database, world: World) -> None:
    # Due Tuesday 10:00 UTC = Tuesday 15:30 in Kolkata; at Monday 20:00 UTC it is already
    # Tuesday 01:30 there, so it is due today in Kolkata but not before the UTC midnight.
    _promise_due(db, world, datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    now = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    ends = end_of_today(now, KOLKATA)
    assert ends == datetime(2026, 3, 3, 18, 30, tzinfo=UTC)
    assert _due_today(db, world, now, ends) == 1
    assert _due_today(db, world, now, None) == 0
