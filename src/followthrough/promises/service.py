"""Promise services: make, keep, and (from the sweeper) remind and break."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.errors import Conflict, InvalidInput, NotAllowed, NotFound
from followthrough.history.service import record_event
from followthrough.notify.service import notify
from followthrough.promises import rules
from followthrough.promises.models import Promise
from followthrough.requests import rules as request_rules
from followthrough.requests.models import Request
from followthrough.requests.rules import Actor
from followthrough.requests.service import load_for_change, participate, touch


def make_promise(
    session: Session, actor: Actor, request_id: int, what: str, due_at: datetime, now: datetime
) -> Promise:
    """Anyone working the request may promise the requester something by a time."""
    what = request_rules.require_text(what, "what", max_length=1000)
    if due_at <= now:
        raise InvalidInput("due_at must be in the future", field="due_at")
    request = load_for_change(session, actor, request_id)
    request_rules.require_state("make_promise", request.state)
    request_rules.require_working_on(
        actor, request.owner_id, request.team_id, "make a promise on it"
    )
    promise = Promise(
        request_id=request.id,
        made_by_id=actor.person_id,
        made_to_id=request.requester_id,
        what=what,
        due_at=due_at,
        made_at=now,
    )
    session.add(promise)
    touch(request, now)
    if actor.person_id != request.owner_id:  # the owner was recorded when made owner
        participate(session, request.id, actor.person_id)
    session.flush()
    record_event(
        session,
        "promise_made",
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=request.team_id,
        person_id=actor.person_id,
        promise_id=promise.id,
        what=what,
        due_at=due_at.isoformat(),
    )
    notify(
        session,
        request.requester_id,
        "promise_due",
        f"Promised on {request.title}: {what} by {due_at:%Y-%m-%d %H:%M} UTC",
        now,
        request_id=request.id,
    )
    session.flush()
    return promise


def get_promise(session: Session, actor: Actor, request_id: int, promise_id: int) -> Promise:
    load_for_change(session, actor, request_id)
    promise = session.get(Promise, promise_id)
    if promise is None or promise.request_id != request_id:
        raise NotFound(
            f"promise {promise_id} does not exist on request {request_id}", field="promise_id"
        )
    return promise


def keep_promise(
    session: Session, actor: Actor, request_id: int, promise_id: int, note: str, now: datetime
) -> Promise:
    """Mark a promise done with what was done: kept if in time, otherwise it stays broken."""
    note = request_rules.require_text(note, "note", max_length=2000)
    promise = get_promise(session, actor, request_id, promise_id)
    request = session.get(Request, request_id)
    assert request is not None
    if actor.person_id not in (promise.made_by_id, request.owner_id):
        raise NotAllowed("only whoever made the promise, or the owner, can mark it done")
    if promise.state != rules.OPEN:
        raise Conflict(f"the promise is already {promise.state}", field="promise_id")
    outcome = rules.outcome_when_done(promise.due_at, now)
    promise.done_at = now
    promise.done_note = note
    touch(request, now)
    if outcome == rules.KEPT:
        promise.state = rules.KEPT
        record_event(
            session,
            "promise_kept",
            now,
            request_id=request.id,
            actor_id=actor.person_id,
            team_id=request.team_id,
            person_id=promise.made_by_id,
            promise_id=promise.id,
            note=note,
        )
    else:
        _break(session, promise, request, now, late_note=note)
    session.flush()
    return promise


def _break(
    session: Session,
    promise: Promise,
    request: Request,
    now: datetime,
    late_note: str | None = None,
) -> None:
    promise.state = rules.BROKEN
    record_event(
        session,
        "promise_broken",
        now,
        request_id=request.id,
        team_id=request.team_id,
        person_id=promise.made_by_id,
        promise_id=promise.id,
        due_at=promise.due_at.isoformat(),
        late_note=late_note,
    )
    message = f"Broken promise on {request.title}: {promise.what}"
    notify(session, promise.made_by_id, "promise_broken", message, now, request_id=request.id)
    notify(session, promise.made_to_id, "promise_broken", message, now, request_id=request.id)


def break_promise(session: Session, promise: Promise, request: Request, now: datetime) -> None:
    """The sweeper breaks an open promise at its due time (the caller holds the request lock)."""
    if promise.state != rules.OPEN or not rules.is_broken_by(promise.due_at, now):
        return
    touch(request, now)
    _break(session, promise, request, now)
    session.flush()


def remind_promise(session: Session, promise: Promise, now: datetime) -> None:
    promise.reminded_at = now
    notify(
        session,
        promise.made_by_id,
        "promise_due",
        f"Due at {promise.due_at:%H:%M} UTC: {promise.what}",
        now,
        request_id=promise.request_id,
    )


def promises_of(session: Session, request_id: int) -> list[Promise]:
    return list(
        session.scalars(
            select(Promise).where(Promise.request_id == request_id).order_by(Promise.id)
        )
    )
