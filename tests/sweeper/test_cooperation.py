"""Sweepers cooperate: any number at once drain everything due in one pass, each item fired once,
and each periodic job runs once per interval across them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import ColumnElement, func, insert, select, text

from followthrough.auth.models import FailedAttempt
from followthrough.auth.rules import AttemptKind
from followthrough.auth.service import record_failed_attempt
from followthrough.db import Base, Database
from followthrough.history.models import Event
from followthrough.promises import service as promises
from followthrough.promises.models import Promise
from followthrough.requests import service
from followthrough.requests.models import Offer, Request
from followthrough.requests.service import NewRequest
from followthrough.sweeper.models import JobRun
from followthrough.sweeper.service import PeriodicJob, run_periodic, sweep, take_turn
from followthrough.timescale.models import EtaModelRow
from tests.conftest import T0, Clock
from tests.factories import World, build_world

# After three days every request below owes all four: its intake offer was not accepted within
# 2 business hours, its update (every 4 business hours) was neither posted nor answered after
# the reminder, and its promise fell due.
DUE_KINDS = ("escalated", "update_reminded", "update_escalated", "promise_broken")


def _first_pass(items: int) -> dict[str, tuple[int, int]]:
    """What a pass long after everything fell due fires: every item, except that an update's
    escalation waits half a cadence after its reminder, so none in the reminder's pass."""
    return {**dict.fromkeys(DUE_KINDS, (items, items)), "update_escalated": (0, 0)}


def _open_requests_with_due_work(db: Database, world: World, count: int, now: datetime) -> None:
    with db.unit_of_work() as session:
        asha = world.actor(session, "asha")
        dan = world.actor(session, "dan")  # Policy Admin's duty owner owns each until accepted
        for i in range(count):
            request = service.open_request(
                session,
                asha,
                NewRequest(title=f"r{i}", need="n", service_id=world.services["correct_policy"]),
                now,
            )
            promises.make_promise(
                session, dan, request.id, "call back", now + timedelta(minutes=10 + i % 50), now
            )


def _fired(db: Database) -> dict[str, tuple[int, int]]:
    """Per due kind: (events written, distinct items they name)."""
    item = {
        "escalated": Event.payload["offer_id"].as_integer(),
        "promise_broken": Event.payload["promise_id"].as_integer(),
        "update_reminded": Event.request_id,
        "update_escalated": Event.request_id,
    }
    fired = {}
    with db.unit_of_work(readonly=True) as session:
        for kind in DUE_KINDS:
            events, items = session.execute(
                select(func.count(), func.count(item[kind].distinct())).where(Event.kind == kind)
            ).one()
            fired[kind] = (events, items)
    return fired


def _still_due(db: Database, now: datetime) -> dict[str, int]:
    """What is due at `now` and not done, each condition stated from the product's promises."""
    open_states = ("new", "in_progress", "needs_clarification", "waiting")
    with db.unit_of_work(readonly=True) as session:

        def count(model: type[Base], *where: ColumnElement[bool]) -> int:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

        return {
            "offers": count(
                Offer, Offer.state == "open", Offer.escalated_at.is_(None), Offer.due_at <= now
            ),
            "promises": count(Promise, Promise.state == "open", Promise.due_at <= now),
            "reminders": count(
                Request,
                Request.state.in_(open_states),
                Request.update_reminded_at.is_(None),
                Request.next_update_due_at <= now,
            ),
            "update escalations": count(
                Request, Request.state.in_(open_states), Request.update_escalate_at <= now
            ),
        }


def _at_once(workers: list[Callable[[], object]]) -> None:
    """Start every worker at the same instant in its own thread; re-raise the first error."""
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(work: Callable[[], object]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("sweepers", [2, 4])
def test_concurrent_sweepers_drain_everything_due_in_one_pass_each_item_fired_once(
    pg_db: Database, sweepers: int
) -> None:
    clock = Clock()
    with pg_db.unit_of_work() as session:
        world = build_world(session)
    requests = 200  # 800 due items
    _open_requests_with_due_work(pg_db, world, requests, clock.now)
    later = clock.advance(days=3)
    assert all(v > 0 for v in _still_due(pg_db, later).values())
    # Each sweeper its own engine and pool, as each worker process has; small batches, so the
    # sweepers meet many times over rows another one holds.
    processes = [Database(pg_db.url, pool_size=2, max_overflow=0) for _ in range(sweepers)]

    def one_pass(database: Database, at: datetime) -> Callable[[], object]:
        return lambda: sweep(database, at, batch=25)

    # Then a day later, when the updates' escalations are due.
    next_day = later + timedelta(days=1)
    try:
        _at_once([one_pass(d, later) for d in processes])
        assert _still_due(pg_db, later) == dict.fromkeys(
            ("offers", "promises", "reminders", "update escalations"), 0
        )
        assert _fired(pg_db) == _first_pass(requests)
        _at_once([one_pass(d, next_day) for d in processes])
    finally:
        for database in processes:
            database.dispose()
    assert set(_still_due(pg_db, next_day).values()) == {0}
    assert _fired(pg_db) == dict.fromkeys(DUE_KINDS, (requests, requests))


@pytest.mark.postgres
def test_a_sweeper_skips_a_request_someone_is_changing_without_waiting_and_fires_the_rest(
    pg_db: Database,
) -> None:
    clock = Clock()
    with pg_db.unit_of_work() as session:
        world = build_world(session)
    _open_requests_with_due_work(pg_db, world, 12, clock.now)
    later = clock.advance(days=3)
    with pg_db.unit_of_work(readonly=True) as session:
        held = session.scalar(select(func.min(Request.id)))
    person = pg_db.engine.connect()
    try:
        busy = person.begin()
        person.execute(text("SELECT id FROM request WHERE id = :id FOR UPDATE"), {"id": held})
        started = time.monotonic()
        sweep(pg_db, later, batch=5)
        assert time.monotonic() - started < 10
        fired = _fired(pg_db)
        assert fired == _first_pass(11)
        busy.rollback()
    finally:
        person.close()
    sweep(pg_db, later, batch=5)
    assert _fired(pg_db) == _first_pass(12)
    assert set(_still_due(pg_db, later).values()) == {0}
    sweep(pg_db, later + timedelta(days=1), batch=5)
    assert _fired(pg_db) == dict.fromkeys(DUE_KINDS, (12, 12))


def test_one_sweeper_drains_more_than_one_batch_in_a_pass(db: Database, world: World) -> None:
    _open_requests_with_due_work(db, world, 23, T0)
    later = T0 + timedelta(days=3)
    fired = sweep(db, later, batch=5)
    assert fired["offers escalated"] == 23
    assert fired["promises broken"] == 23
    assert fired["updates reminded"] == 23
    # Escalated half a cadence after the reminder, not in its pass.
    assert fired["updates escalated"] == 0
    assert _fired(db) == _first_pass(23)
    assert set(_still_due(db, later).values()) == {0}
    again = sweep(db, later, batch=5)
    due_kinds = ("offers escalated", "promises broken", "updates reminded", "updates escalated")
    assert sum(again[k] for k in due_kinds) == 0
    next_day = sweep(db, later + timedelta(days=1), batch=5)
    assert next_day["updates escalated"] == 23
    assert _fired(db) == dict.fromkeys(DUE_KINDS, (23, 23))


def test_a_job_turn_is_taken_once_per_interval_by_one_of_many(db: Database) -> None:
    hour = timedelta(hours=1)
    taken: list[bool] = []

    def take(now: datetime) -> None:
        with db.unit_of_work() as session:
            taken.append(take_turn(session, "tidy", hour, now))

    _at_once([lambda: take(T0) for _ in range(6)])
    assert taken.count(True) == 1
    taken.clear()
    take(T0 + hour - timedelta(seconds=1))
    take(T0 + hour)
    take(T0 + hour + timedelta(minutes=1))
    assert taken == [False, True, False]
    with db.unit_of_work(readonly=True) as session:
        assert session.get(JobRun, "tidy") is not None


def test_a_failed_job_does_not_use_up_its_turn(db: Database) -> None:
    attempts: list[datetime] = []

    def fails_once(database: Database, now: datetime) -> int:
        attempts.append(now)
        if len(attempts) == 1:
            raise RuntimeError("disk full")
        return 1

    job = PeriodicJob("flaky", timedelta(hours=1), fails_once)
    with pytest.raises(RuntimeError):
        run_periodic(db, job, T0)
    assert run_periodic(db, job, T0 + timedelta(seconds=30)) == 1
    assert run_periodic(db, job, T0 + timedelta(minutes=1)) is None
    assert len(attempts) == 2


def _resolved_history(db: Database, world: World, count: int) -> None:
    """`count` resolved Policy Admin requests over the last months, written as an import would."""
    rows = []
    for i in range(count):
        opened = T0 - timedelta(days=90) + timedelta(hours=4 * i)
        rows.append(
            {
                "title": f"Policy P-{i} has the wrong address",
                "need": "Correct it",
                "requester_id": world.people["asha"],
                "service_id": world.services["correct_policy"],
                "team_id": world.teams["admin"],
                "owner_id": world.people["cleo"],
                "state": "closed",
                "opened_at": opened,
                "accepted_at": opened,
                "resolved_at": opened + timedelta(hours=2 + i % 7),
                "closed_at": opened + timedelta(days=2),
                "updated_at": opened + timedelta(days=2),
            }
        )
    with db.unit_of_work() as session:
        session.execute(insert(Request), rows)


def test_the_model_is_refitted_once_across_concurrent_sweepers_and_again_when_due(
    db: Database, world: World
) -> None:
    _resolved_history(db, world, 520)

    def models() -> list[datetime]:
        with db.unit_of_work(readonly=True) as session:
            return list(session.scalars(select(EtaModelRow.fitted_at).order_by(EtaModelRow.id)))

    _at_once([lambda: sweep(db, T0) for _ in range(3)])
    assert models() == [T0]
    sweep(db, T0 + timedelta(hours=2))
    assert models() == [T0]
    refit_at = T0 + timedelta(days=1, hours=1)
    _at_once([lambda: sweep(db, refit_at) for _ in range(3)])
    assert models() == [T0, refit_at]


def test_old_failed_sign_ins_are_forgotten_by_one_sweep_per_hour(db: Database) -> None:
    def guess(at: datetime) -> None:
        with db.unit_of_work() as session:
            record_failed_attempt(session, AttemptKind.SIGN_IN, "asha", "10.0.0.1", at)

    def remembered() -> list[datetime]:
        with db.unit_of_work(readonly=True) as session:
            return list(session.scalars(select(FailedAttempt.at).order_by(FailedAttempt.at)))

    guess(T0 - timedelta(hours=3))
    guess(T0 - timedelta(minutes=5))
    _at_once([lambda: sweep(db, T0) for _ in range(3)])
    # An hour is as long as any sign-in limit looks back (auth.rules).
    assert remembered() == [T0 - timedelta(minutes=5)]
    guess(T0 - timedelta(hours=2))
    sweep(db, T0 + timedelta(minutes=30))  # within the hour: not this sweep's turn
    assert remembered() == [T0 - timedelta(hours=2), T0 - timedelta(minutes=5)]
    assert sweep(db, T0 + timedelta(hours=1))["failed attempts forgotten"] == 2
    assert remembered() == []
