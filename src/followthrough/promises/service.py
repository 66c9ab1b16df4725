"""Promise services: make and keep (people), break and remind (the sweeper, see scheduled.py).

The rules of a promise's life are the lifecycle's (`requests.lifecycle`); these functions load,
apply and write.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.errors import NotAllowed, NotFound
from followthrough.org.actors import Actor
from followthrough.org.snapshot import org_snapshot
from followthrough.promises.models import Promise
from followthrough.requests import lifecycle
from followthrough.requests import rules as request_rules
from followthrough.requests.lifecycle import PromiseChange, PromiseFacts
from followthrough.requests.models import Request
from followthrough.requests.service import (
    copy_facts,
    facts_of,
    load_for_change,
    participate,
    touch,
    write_events_and_notices,
)
from followthrough.requests.vocabulary import PromiseState


def promise_facts(promise: Promise) -> PromiseFacts:
    return PromiseFacts(
        id=promise.id,
        made_by_id=promise.made_by_id,
        made_to_id=promise.made_to_id,
        what=promise.what,
        due_at=promise.due_at,
        made_at=promise.made_at,
        state=PromiseState(promise.state),
        reminded_at=promise.reminded_at,
        done_at=promise.done_at,
        done_note=promise.done_note,
    )


def _copy_promise(promise: Promise, facts: PromiseFacts) -> None:
    promise.state = facts.state
    promise.reminded_at = facts.reminded_at
    promise.done_at = facts.done_at
    promise.done_note = facts.done_note


def apply_promise_change(
    session: Session, request: Request, promise: Promise | None, change: PromiseChange
) -> Promise:
    """Write a promise change: the request touched, the promise added or changed, its events
    and notifications."""
    now = change.request.updated_at
    copy_facts(request, change.request)
    touch(request, now)
    if promise is None:
        made = change.promise
        promise = Promise(
            request_id=request.id,
            made_by_id=made.made_by_id,
            made_to_id=made.made_to_id,
            what=made.what,
            due_at=made.due_at,
            made_at=made.made_at,
        )
        session.add(promise)
        session.flush()
        change = change.with_new_row(promise.id)
    else:
        _copy_promise(promise, change.promise)
    if change.participants:
        participate(session, request.id, *change.participants)
    write_events_and_notices(session, request.id, change.events, change.notices, now)
    return promise


def make_promise(
    session: Session, actor: Actor, request_id: int, what: str, due_at: datetime, now: datetime
) -> Promise:
    """Anyone working the request may promise the requester something by a time."""
    what = request_rules.require_text(what, "what", max_length=1000)
    lifecycle.require_promise_due_after(due_at, now)
    request = load_for_change(session, actor, request_id)
    request_rules.require_state("make_promise", request.state)
    request_rules.require_working_on(
        actor, request.owner_id, request.team_id, "make a promise on it"
    )
    change = lifecycle.make_promise(
        facts_of(request), actor_id=actor.person_id, what=what, due_at=due_at, now=now
    )
    promise = apply_promise_change(session, request, None, change)
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
    change = lifecycle.keep_promise(
        facts_of(request),
        promise_facts(promise),
        actor_id=actor.person_id,
        note=note,
        lead_id=_lead_of(session, request.team_id),
        now=now,
    )
    apply_promise_change(session, request, promise, change)
    session.flush()
    return promise


def _lead_of(session: Session, team_id: int) -> int:
    """Who answers for a team's promises: whoever its escalations go to."""
    team = org_snapshot(session).team(team_id)
    return lifecycle.escalates_to(team.lead_id, team.duty_owner)


def break_promise(session: Session, promise: Promise, request: Request, now: datetime) -> None:
    """Break an open promise at its due time (the caller holds the request lock)."""
    facts = promise_facts(promise)
    due = lifecycle.promise_break_due_at(facts)
    if due is None or now < due:
        return
    change = lifecycle.break_promise(
        facts_of(request), facts, lead_id=_lead_of(session, request.team_id), now=now
    )
    apply_promise_change(session, request, promise, change)
    session.flush()


def remind_promise(session: Session, promise: Promise, now: datetime) -> None:
    """Remind whoever made the promise; the request does not change."""
    facts, notice = lifecycle.remind_promise(promise_facts(promise), now=now)
    _copy_promise(promise, facts)
    write_events_and_notices(session, promise.request_id, (), (notice,), now)


def promises_of(session: Session, request_id: int) -> list[Promise]:
    return list(
        session.scalars(
            select(Promise).where(Promise.request_id == request_id).order_by(Promise.id)
        )
    )
