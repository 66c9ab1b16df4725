"""The promises' due work, fired by the sweeper: reminders shortly before a promise falls due,
and breaking open promises at their due time. Claimed by locking their requests, as every
request's due work (`requests.scheduled`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from followthrough.promises import rules
from followthrough.promises.models import Promise
from followthrough.promises.service import break_promise, promise_facts, remind_promise
from followthrough.requests import lifecycle
from followthrough.requests.scheduled import BATCH, Batch, claim_items


def break_promises(
    session: Session, now: datetime, limit: int = BATCH, exclude: frozenset[int] = frozenset()
) -> Batch:
    """Open promises past their due time are broken."""
    due = (Promise.state == rules.OPEN) & (Promise.due_at <= now)
    claimed, requests, promises = claim_items(session, Promise, due, limit, exclude)
    passed_over = set()
    for promise_id, request_id in claimed:
        promise = promises[promise_id]
        due_at = lifecycle.promise_break_due_at(promise_facts(promise))
        if due_at is None or due_at > now:
            passed_over.add(promise_id)
            continue
        break_promise(session, promise, requests[request_id], now)
    session.flush()
    return Batch(len(claimed), len(claimed) - len(passed_over), frozenset(passed_over))


def remind_promises(
    session: Session, now: datetime, limit: int = BATCH, exclude: frozenset[int] = frozenset()
) -> Batch:
    """Whoever made a promise hears about it shortly before it falls due (not after: then it
    is broken instead)."""
    due = (
        (Promise.state == rules.OPEN)
        & Promise.reminded_at.is_(None)
        & (Promise.due_at <= now + rules.REMINDER_LEAD)
        & (Promise.due_at > now)
    )
    claimed, _, promises = claim_items(session, Promise, due, limit, exclude)
    passed_over = set()
    for promise_id, _ in claimed:
        promise = promises[promise_id]
        if lifecycle.promise_reminder_due_at(promise_facts(promise)) is None:
            passed_over.add(promise_id)
            continue
        remind_promise(session, promise, now)
    session.flush()
    return Batch(len(claimed), len(claimed) - len(passed_over), frozenset(passed_over))
