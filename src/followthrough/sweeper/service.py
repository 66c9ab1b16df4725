"""The sweeper: finds due items and fires each exactly once.

Every due item belongs to a request, and every change to a request (by a person or by the
sweeper) first locks the request row. The sweeper takes those locks with SKIP LOCKED on
PostgreSQL: a request another worker or a person is changing right now is left for the next
sweep, so several sweeping processes split the work without waiting on or deadlocking with each
other. After taking the lock the item is read again and fired only if it is still due, and its
own state (escalated_at, reminded_at, state) changes in the same transaction, so a committed item
is never due again. SQLite has one writer at a time, which gives the same guarantee.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

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
from followthrough.timescale.service import refresh_curve, stale_curves

BATCH = 200


def _claim(session: Session, query: Select[Any]) -> list[Any]:
    """Due requests, locked; rows locked elsewhere are skipped (left for the next sweep)."""
    query = query.limit(BATCH)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _lock_free_request(session: Session, request_id: int) -> Request | None:
    """The request, locked, or None if someone else holds its lock right now."""
    query = (
        select(Request).where(Request.id == request_id).execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


def _lead_or_duty(session: Session, team_id: int) -> int:
    team = org_snapshot(session).team(team_id)
    return team.lead_id if team.lead_id is not None else team.duty_owner


def escalate_offers(session: Session, now: datetime) -> int:
    """Offers not answered within the acceptance target go to the receiving team's lead."""
    due = (Offer.state == "open") & Offer.escalated_at.is_(None) & (Offer.due_at <= now)
    candidates = session.execute(
        select(Offer.id, Offer.request_id).where(due).order_by(Offer.due_at).limit(BATCH)
    ).all()
    fired = 0
    for offer_id, request_id in candidates:
        request = _lock_free_request(session, request_id)
        offer = session.get(Offer, offer_id, populate_existing=True)
        if (
            request is None
            or offer is None
            or offer.state != "open"
            or offer.escalated_at is not None
        ):
            continue
        fired += 1
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
    return fired


def remind_updates(session: Session, now: datetime) -> int:
    requests: list[Request] = _claim(
        session,
        select(Request)
        .where(
            Request.state.in_(rules.OPEN_STATES),
            Request.next_update_due_at <= now,
            Request.update_reminded_at.is_(None),
        )
        .order_by(Request.next_update_due_at),
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
    return len(requests)


def escalate_updates(session: Session, now: datetime) -> int:
    requests: list[Request] = _claim(
        session,
        select(Request)
        .where(
            Request.state.in_(rules.OPEN_STATES),
            Request.update_reminded_at.is_not(None),
            Request.update_escalate_at <= now,
        )
        .order_by(Request.update_escalate_at),
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
    return len(requests)


def _promise_candidates(session: Session, due: ColumnElement[bool]) -> list[tuple[int, int]]:
    query = select(Promise.id, Promise.request_id).where(due).order_by(Promise.due_at).limit(BATCH)
    return [(promise_id, request_id) for promise_id, request_id in session.execute(query)]


def break_promises(session: Session, now: datetime) -> int:
    """Open promises past their due time are broken."""
    due = (Promise.state == promise_rules.OPEN) & (Promise.due_at <= now)
    fired = 0
    for promise_id, request_id in _promise_candidates(session, due):
        request = _lock_free_request(session, request_id)
        promise = session.get(Promise, promise_id, populate_existing=True)
        if request is None or promise is None or promise.state != promise_rules.OPEN:
            continue
        break_promise(session, promise, request, now)
        fired += 1
    return fired


def remind_promises(session: Session, now: datetime) -> int:
    """Whoever made a promise hears about it shortly before it falls due."""
    due = (
        (Promise.state == promise_rules.OPEN)
        & Promise.reminded_at.is_(None)
        & (Promise.due_at <= now + promise_rules.REMINDER_LEAD)
        & (Promise.due_at > now)
    )
    fired = 0
    for promise_id, request_id in _promise_candidates(session, due):
        request = _lock_free_request(session, request_id)
        promise = session.get(Promise, promise_id, populate_existing=True)
        if request is None or promise is None or promise.reminded_at is not None:
            continue
        remind_promise(session, promise, now)
        fired += 1
    session.flush()
    return fired


def auto_close_resolved(session: Session, now: datetime) -> int:
    requests: list[Request] = _claim(
        session,
        select(Request)
        .where(Request.state == rules.RESOLVED, Request.auto_close_at <= now)
        .order_by(Request.auto_close_at),
    )
    for request in requests:
        auto_close(session, request, now)
    return len(requests)


def refresh_timescales(session: Session, now: datetime) -> int:
    services = stale_curves(session, now)
    for service_id in services:
        refresh_curve(session, service_id, now)
    return len(services)


SWEEPS: tuple[tuple[str, Callable[[Session, datetime], int]], ...] = (
    ("offers escalated", escalate_offers),
    ("promises broken", break_promises),
    ("promises reminded", remind_promises),
    ("updates reminded", remind_updates),
    ("updates escalated", escalate_updates),
    ("requests auto-closed", auto_close_resolved),
    ("timescales refreshed", refresh_timescales),
    ("timescale outcomes recorded", record_eta_outcomes),
)


def sweep(database: Database, now: datetime) -> Counter[str]:
    """Fire everything due at `now`. Each batch is its own transaction; loops until none is due."""
    fired: Counter[str] = Counter()
    for name, step in SWEEPS:
        while True:
            with database.unit_of_work() as session:
                count = step(session, now)
            fired[name] += count
            if count < BATCH or name == "timescales refreshed":
                break
    # The calibrated model is refitted daily, outside the sweep's write transactions.
    fired["timescale model refitted"] += refresh_eta_model(database, now)
    return fired
