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
which gives the same guarantees without SKIP LOCKED. The due steps and their claiming live with
their domains (`requests/scheduled.py`, `promises/scheduled.py`); this module only runs them.

Periodic jobs (the ETA model refit, stale timescale curves, forgetting old rows; in
`timescale/scheduled.py` and `auth/scheduled.py`) are not due items: every process sweeps, but
each job runs once per interval across all of them. A process takes a job's turn with one conditional UPDATE of its `job_run` row, committed before the job
starts, so no lock is held while the job runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from followthrough.auth import scheduled as auth_due
from followthrough.chat import scheduled as chat_due
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.links import scheduled as links_due
from followthrough.mail import scheduled as mail_due
from followthrough.practice.roleplay import xapi_scheduled
from followthrough.programmes import scheduled as programmes_due
from followthrough.programmes import shadowing_scheduled as shadowing_due
from followthrough.promises import scheduled as promises_due
from followthrough.requests import scheduled as requests_due
from followthrough.requests.scheduled import BATCH, Batch, DueStep
from followthrough.sweeper.models import JobRun
from followthrough.timescale import scheduled as timescale_due
from followthrough.webhooks import scheduled as webhooks_due


def settle_eta_outcomes(
    session: Session, now: datetime, limit: int, exclude: frozenset[int]
) -> Batch:
    """Stated timescales whose outcome is now known (the model's levels move with them).

    One sweeper at a time holds the model row; the others find nothing to claim. Its batch is
    its own (OUTCOME_BATCH) and excludes nothing: a bound it looked at but could not settle yet
    gets a later due time, so it is not due again in this pass. The pass goes on while a batch
    settled at least `limit`.
    """
    settled = timescale_due.record_timescale_outcomes(session, now)
    return Batch(claimed=settled, fired=settled)


# Each domain owns its due work; the sweeper fires it in this order, each kind drained before
# the next.
DUE_WORK: tuple[tuple[str, DueStep], ...] = (
    ("offers escalated", requests_due.escalate_offers),
    ("promises broken", promises_due.break_promises),
    ("promises reminded", promises_due.remind_promises),
    ("updates reminded", requests_due.remind_updates),
    ("updates escalated", requests_due.escalate_updates),
    ("requests auto-closed", requests_due.auto_close_resolved),
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


# The refit itself waits for the model to be MODEL_MAX_AGE old; the hour is how often a
# process looks. Curves older than CURVE_MAX_AGE are looked for every ten minutes. Failed
# sign-ins are kept only as long as a limit looks back (auth.rules.LONGEST_MEMORY). Each job
# belongs to its domain's scheduled work; the sweeper only takes turns and runs them.
PERIODIC_JOBS: tuple[tuple[str, PeriodicJob], ...] = (
    (
        "timescales refreshed",
        PeriodicJob("timescale_curves", timedelta(minutes=10), timescale_due.refresh_stale_curves),
    ),
    (
        "timescale model refitted",
        PeriodicJob("eta_model_refit", timedelta(hours=1), timescale_due.refit_calibrated_model),
    ),
    (
        "failed attempts forgotten",
        PeriodicJob("forget_failed_attempts", timedelta(hours=1), auth_due.forget_failed_attempts),
    ),
    (
        "used action links forgotten",
        PeriodicJob("forget_used_links", timedelta(hours=6), links_due.forget_used_links),
    ),
    # The job looks every hour; a round is paired only when the last is two weeks old.
    (
        "buddies introduced or asked",
        PeriodicJob("buddy_rounds", timedelta(hours=1), programmes_due.pair_buddies_when_due),
    ),
)


def jobs_for(settings: Settings) -> tuple[tuple[str, PeriodicJob], ...]:
    """The periodic jobs, with those that run only when they are set up (mail out: a server)."""
    jobs = list(PERIODIC_JOBS)
    send_mail = mail_due.outbox_sender(settings)
    if send_mail is not None:
        # Every sweep, in every process: senders split the outbox between them (mail.outbound).
        jobs.append(("mail sent", PeriodicJob("mail_out", timedelta(0), send_mail)))
    send_refusals = mail_due.refusal_sender(settings)
    if send_refusals is not None:
        # Refusals the receiver or poller could not send at once (mail.inbound.send_answers).
        jobs.append(("refusals sent", PeriodicJob("mail_refusals", timedelta(0), send_refusals)))
    # Job shadowing: host and guest asked, once a visit is over, what surprised them (hourly;
    # the invitations' link needs the desk's address from the settings).
    jobs.append(
        (
            "shadowing visits followed up",
            PeriodicJob(
                "shadowing_reflections",
                timedelta(hours=1),
                shadowing_due.reflection_asker(settings),
            ),
        )
    )
    # Webhooks and chat, likewise on every sweep; with nothing subscribed they find nothing.
    jobs.append(
        (
            "webhooks sent",
            PeriodicJob("webhooks_out", timedelta(0), webhooks_due.webhook_sender(settings)),
        )
    )
    jobs.append(
        ("chat posted", PeriodicJob("chat_out", timedelta(0), chat_due.chat_sender(settings)))
    )
    send_statements = xapi_scheduled.statement_sender(settings)
    if send_statements is not None:
        # Every sweep, in every process: senders split the statements between them.
        jobs.append(
            ("learning records sent", PeriodicJob("xapi_out", timedelta(0), send_statements))
        )
    return tuple(jobs)


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
