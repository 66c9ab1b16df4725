"""The sweeper: fires each due item exactly once, and runs each periodic job once per interval.

Every due item belongs to a request, and every change to a request (by a person or by the
sweeper) first locks the request row. A batch claims its due items by locking their requests
with SKIP LOCKED on PostgreSQL, so any number of sweeping processes split the work without
waiting on or deadlocking with each other: what another sweeper holds, that sweeper fires. A
batch that came back full may have more behind it, so the pass goes on with the next batch
until a batch comes back short, that is until every item still due is held by someone else.
After taking the lock each item is read again and fired only if it is still due, and its own
state (escalated_at, reminded_at, state) changes in the same transaction, so a committed item
is never due again. Each batch is its own short transaction. SQLite has one writer at a time,
which gives the same guarantees without SKIP LOCKED.

Periodic jobs (the ETA model refit, stale timescale curves, forgetting old rows) are not due
items: every process sweeps, but each job runs once per interval across all of them. A process
takes a job's turn with one conditional UPDATE of its `job_run` row, committed before the job
starts, so no lock is held while the job runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Select, Table, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from followthrough.auth.service import forget_old_attempts
from followthrough.db import Database
from followthrough.history.service import record_event
from followthrough.insight.eta_service import record_eta_outcomes, refresh_eta_model
from followthrough.notify.service import notify
from followthrough.org.snapshot import org_snapshot
from followthrough.promises import rules as promise_rules
from followthrough.promises.models import Promise
from followthrough.promises.service import break_promise, remind_promise
from followthrough.requests import rules
from followthrough.requests.models import Offer, Request
from followthrough.requests.service import auto_close, touch
from followthrough.sweeper.models import JobRun
from followthrough.timescale.service import refresh_curve, stale_curves

BATCH = 200


@dataclass(frozen=True)
class Batch:
    """What one batch did: items it claimed (locked), how many it fired, and the claimed ones
    it found no longer due on a closer look (left out of the rest of the pass)."""

    claimed: int
    fired: int
    passed_over: frozenset[int] = frozenset()


# A kind of due item: claims at most `limit` items not in `exclude`, fires those still due.
DueStep = Callable[[Session, datetime, int, frozenset[int]], Batch]


def _on_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _claim(session: Session, query: Select[Any], limit: int) -> list[Any]:
    """Due rows, locked; rows locked elsewhere are skipped (their holder deals with them)."""
    query = query.limit(limit)
    if _on_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _claim_by_request(
    session: Session, query: Select[int, int], limit: int
) -> list[tuple[int, int]]:
    """(item id, request id) of due items whose request this transaction now holds locked.

    Only the request row is locked (every change locks it first), so the item itself must be
    read again afterwards: the claim saw it as of the statement's start.
    """
    query = query.join(Request).limit(limit)
    if _on_postgres(session):
        query = query.with_for_update(of=Request, skip_locked=True)
    return [(item_id, request_id) for item_id, request_id in session.execute(query)]


def _read_again(session: Session, model: type[Any], ids: Collection[int]) -> dict[int, Any]:
    """The rows as now committed (the lock is held), replacing any copy the session has."""
    rows = session.scalars(
        select(model).where(model.id.in_(ids)).execution_options(populate_existing=True)
    )
    return {row.id: row for row in rows}


def _lead_or_duty(session: Session, team_id: int) -> int:
    team = org_snapshot(session).team(team_id)
    return team.lead_id if team.lead_id is not None else team.duty_owner


def escalate_offers(
    session: Session, now: datetime, limit: int = BATCH, exclude: frozenset[int] = frozenset()
) -> Batch:
    """Offers not answered within the acceptance target go to the receiving team's lead."""
    due = (Offer.state == "open") & Offer.escalated_at.is_(None) & (Offer.due_at <= now)
    claimed, requests, offers = _claim_items(session, Offer, due, limit, exclude)
    passed_over = set()
    for offer_id, request_id in claimed:
        request, offer = requests[request_id], offers[offer_id]
        if offer.state != "open" or offer.escalated_at is not None or offer.due_at > now:
            passed_over.add(offer_id)
            continue
        offer.escalated_at = now
        touch(request, now)
        lead = _lead_or_duty(session, offer.to_team_id)
        record_event(
            session,
            "escalated",
            now,
            request_id=offer.request_id,
            team_id=offer.to_team_id,
            other_team_id=offer.from_team_id,
            person_id=lead,
            offer_id=offer.id,
            what="offer_not_accepted",
        )
        notify(
            session,
            lead,
            "escalation",
            f"Not accepted in time: {request.title}",
            now,
            request_id=request.id,
        )
    session.flush()
    return Batch(len(claimed), len(claimed) - len(passed_over), frozenset(passed_over))


def remind_updates(
    session: Session, now: datetime, limit: int = BATCH, exclude: frozenset[int] = frozenset()
) -> Batch:
    """The owner hears that an update is due (once per rung of the update ladder)."""
    requests: list[Request] = _claim(
        session,
        select(Request)
        .where(
            Request.state.in_(rules.OPEN_STATES),
            Request.next_update_due_at <= now,
            Request.update_reminded_at.is_(None),
            Request.id.not_in(exclude),
        )
        .order_by(Request.next_update_due_at, Request.id),
        limit,
    )
    for request in requests:
        request.update_reminded_at = now
        touch(request, now)
        record_event(
            session,
            "update_reminded",
            now,
            request_id=request.id,
            team_id=request.team_id,
            person_id=request.owner_id,
        )
        notify(
            session,
            request.owner_id,
            "update_due",
            f"Update due: {request.title}",
            now,
            request_id=request.id,
        )
    session.flush()
    return Batch(len(requests), len(requests))


def escalate_updates(
    session: Session, now: datetime, limit: int = BATCH, exclude: frozenset[int] = frozenset()
) -> Batch:
    """An update still missing after the reminder goes to the team's lead."""
    requests: list[Request] = _claim(
        session,
        select(Request)
        .where(
            Request.state.in_(rules.OPEN_STATES),
            Request.update_reminded_at.is_not(None),
            Request.update_escalate_at <= now,
            Request.id.not_in(exclude),
        )
        .order_by(Request.update_escalate_at, Request.id),
        limit,
    )
    for request in requests:
        request.update_escalate_at = None
        touch(request, now)
        lead = _lead_or_duty(session, request.team_id)
        record_event(
            session,
            "update_escalated",
            now,
            request_id=request.id,
            team_id=request.team_id,
            person_id=lead,
            owner_id=request.owner_id,
        )
        notify(
            session,
            lead,
            "escalation",
            f"Update overdue: {request.title}",
            now,
            request_id=request.id,
        )
    session.flush()
    return Batch(len(requests), len(requests))


def _claim_items(
    session: Session,
    item: type[Offer] | type[Promise],
    due: ColumnElement[bool],
    limit: int,
    exclude: frozenset[int],
) -> tuple[list[tuple[int, int]], dict[int, Request], dict[int, Any]]:
    """Due offers or promises, soonest first, their requests locked: (item id, request id)
    pairs, the requests and the items as now committed."""
    claimed = _claim_by_request(
        session,
        select(item.id, item.request_id)
        .where(due, item.id.not_in(exclude))
        .order_by(item.due_at, item.id),
        limit,
    )
    requests = _read_again(session, Request, {r for _, r in claimed})
    items = _read_again(session, item, [i for i, _ in claimed])
    return claimed, requests, items


def break_promises(
    session: Session, now: datetime, limit: int = BATCH, exclude: frozenset[int] = frozenset()
) -> Batch:
    """Open promises past their due time are broken."""
    due = (Promise.state == promise_rules.OPEN) & (Promise.due_at <= now)
    claimed, requests, promises = _claim_items(session, Promise, due, limit, exclude)
    passed_over = set()
    for promise_id, request_id in claimed:
        promise = promises[promise_id]
        if promise.state != promise_rules.OPEN or not promise_rules.is_broken_by(
            promise.due_at, now
        ):
            passed_over.add(promise_id)
            continue
        break_promise(session, promise, requests[request_id], now)
    session.flush()
    return Batch(len(claimed), len(claimed) - len(passed_over), frozenset(passed_over))


def remind_promises(
    session: Session, now: datetime, limit: int = BATCH, exclude: frozenset[int] = frozenset()
) -> Batch:
    """Whoever made a promise hears about it shortly before it falls due."""
    due = (
        (Promise.state == promise_rules.OPEN)
        & Promise.reminded_at.is_(None)
        & (Promise.due_at <= now + promise_rules.REMINDER_LEAD)
        & (Promise.due_at > now)
    )
    claimed, _, promises = _claim_items(session, Promise, due, limit, exclude)
    passed_over = set()
    for promise_id, _ in claimed:
        promise = promises[promise_id]
        if promise.state != promise_rules.OPEN or promise.reminded_at is not None:
            passed_over.add(promise_id)
            continue
        remind_promise(session, promise, now)
    session.flush()
    return Batch(len(claimed), len(claimed) - len(passed_over), frozenset(passed_over))


def auto_close_resolved(
    session: Session, now: datetime, limit: int, exclude: frozenset[int]
) -> Batch:
    """Resolved requests the requester neither confirmed nor reopened in time are closed."""
    requests: list[Request] = _claim(
        session,
        select(Request)
        .where(
            Request.state == rules.RESOLVED,
            Request.auto_close_at <= now,
            Request.id.not_in(exclude),
        )
        .order_by(Request.auto_close_at, Request.id),
        limit,
    )
    for request in requests:
        auto_close(session, request, now)
    return Batch(len(requests), len(requests))


def settle_eta_outcomes(
    session: Session, now: datetime, limit: int, exclude: frozenset[int]
) -> Batch:
    """Stated timescales whose outcome is now known (the model's levels move with them).

    One sweeper at a time holds the model row; the others find nothing to claim. Its batch is
    its own (OUTCOME_BATCH) and excludes nothing: a bound it looked at but could not settle yet
    gets a later due time, so it is not due again in this pass. The pass goes on while a batch
    settled at least `limit`.
    """
    settled = record_eta_outcomes(session, now)
    return Batch(claimed=settled, fired=settled)


DUE_WORK: tuple[tuple[str, DueStep], ...] = (
    ("offers escalated", escalate_offers),
    ("promises broken", break_promises),
    ("promises reminded", remind_promises),
    ("updates reminded", remind_updates),
    ("updates escalated", escalate_updates),
    ("requests auto-closed", auto_close_resolved),
    ("timescale outcomes recorded", settle_eta_outcomes),
)


def drain(database: Database, step: DueStep, now: datetime, limit: int = BATCH) -> int:
    """Fire every item of one kind due at `now` that no one else holds; how many fired.

    Batch after batch, each in its own transaction, until a batch claims fewer than `limit`:
    then every item still due was held by another transaction when it looked.
    """
    fired = 0
    passed_over: frozenset[int] = frozenset()
    while True:
        with database.unit_of_work() as session:
            batch = step(session, now, limit, passed_over)
        fired += batch.fired
        passed_over |= batch.passed_over
        if batch.claimed < limit:
            return fired


@dataclass(frozen=True)
class PeriodicJob:
    """Work done once per `every` across all processes; `run` opens its own transactions."""

    name: str
    every: timedelta
    run: Callable[[Database, datetime], int]


_JOB_RUNS = cast(Table, JobRun.__table__)
_ADD_JOB = {
    "postgresql": pg_insert(_JOB_RUNS).on_conflict_do_nothing(),
    "sqlite": sqlite_insert(_JOB_RUNS).on_conflict_do_nothing(),
}


def take_turn(session: Session, job: str, every: timedelta, now: datetime) -> bool:
    """True if this transaction moved the job's last run to `now`: it is this process's turn.

    The UPDATE's condition is checked against the row as committed, so of any number of
    processes at once only one moves it; the others' updates match no row.
    """
    session.execute(_ADD_JOB[session.get_bind().dialect.name], {"name": job, "last_run_at": None})
    moved = cast(
        CursorResult[Any],
        session.execute(
            update(_JOB_RUNS)
            .where(
                _JOB_RUNS.c.name == job,
                or_(_JOB_RUNS.c.last_run_at.is_(None), _JOB_RUNS.c.last_run_at <= now - every),
            )
            .values(last_run_at=now)
        ),
    )
    return moved.rowcount == 1


def _give_turn_back(session: Session, job: str, now: datetime) -> None:
    """A failed run does not count: the next sweep (in any process) tries again."""
    session.execute(
        update(_JOB_RUNS)
        .where(_JOB_RUNS.c.name == job, _JOB_RUNS.c.last_run_at == now)
        .values(last_run_at=None)
    )


def run_periodic(database: Database, job: PeriodicJob, now: datetime) -> int | None:
    """Run the job if its interval has passed and no other process took this turn; None if not."""
    with database.unit_of_work() as session:
        if not take_turn(session, job.name, job.every, now):
            return None
    try:
        return job.run(database, now)
    except BaseException:
        with database.unit_of_work() as session:
            _give_turn_back(session, job.name, now)
        raise


def refresh_stale_curves(database: Database, now: datetime) -> int:
    """Recompute each stale timescale curve, one service per transaction."""
    with database.unit_of_work(readonly=True) as session:
        services = stale_curves(session, now)
    for service_id in services:
        with database.unit_of_work() as session:
            refresh_curve(session, service_id, now)
    return len(services)


def refit_eta_model(database: Database, now: datetime) -> int:
    return int(refresh_eta_model(database, now))


def forget_failed_attempts(database: Database, now: datetime) -> int:
    """Failed sign-ins and join codes no limit remembers any more, deleted in one statement."""
    with database.unit_of_work() as session:
        return forget_old_attempts(session, now)


# The refit itself waits for the model to be MODEL_MAX_AGE old; the hour is how often a
# process looks. Curves older than CURVE_MAX_AGE are looked for every ten minutes. Failed
# sign-ins are kept only as long as a limit looks back (auth.rules.LONGEST_MEMORY).
PERIODIC_JOBS: tuple[tuple[str, PeriodicJob], ...] = (
    (
        "timescales refreshed",
        PeriodicJob("timescale_curves", timedelta(minutes=10), refresh_stale_curves),
    ),
    (
        "timescale model refitted",
        PeriodicJob("eta_model_refit", timedelta(hours=1), refit_eta_model),
    ),
    (
        "failed attempts forgotten",
        PeriodicJob("forget_failed_attempts", timedelta(hours=1), forget_failed_attempts),
    ),
)


def sweep(
    database: Database,
    now: datetime,
    *,
    batch: int = BATCH,
    jobs: Sequence[tuple[str, PeriodicJob]] = PERIODIC_JOBS,
) -> Counter[str]:
    """Fire everything due at `now` that no other sweeper holds, and the periodic jobs whose
    turn it is; counts by what was done."""
    fired: Counter[str] = Counter()
    for name, step in DUE_WORK:
        fired[name] += drain(database, step, now, batch)
    for name, job in jobs:
        fired[name] += run_periodic(database, job, now) or 0
    return fired
