"""Writing a simulated history: ids in time order, then Core bulk inserts in the caller's
transaction (parents before children, so foreign keys hold row by row)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from followthrough.cases.models import Case, RequestCase
from followthrough.db import Base
from followthrough.demo.company import Company
from followthrough.demo.history import END, NOTIFICATION_WINDOW, History, Record
from followthrough.feedback.models import ColleagueFeedback, Rating
from followthrough.history.models import Event
from followthrough.notify.models import Notification, OutboxMessage
from followthrough.promises.models import Promise
from followthrough.requests import rules
from followthrough.requests.models import (
    Offer,
    PathStep,
    Pause,
    Request,
    RequestParticipant,
    RequestUpdate,
)
from followthrough.search.documents import (
    rebuild_case_index,
    rebuild_documents,
    resume_triggers,
    suspend_triggers,
)

CHUNK = 5_000
Row = dict[str, Any]


def _number(records: Sequence[Record], when: Callable[[Any], datetime]) -> None:
    """Ids follow the order in which the product would have created the rows."""
    for number, record in enumerate(sorted(records, key=lambda r: (when(r), r.seq)), start=1):
        record.id = number


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _insert(
    session: Session, model: type[Base], rows: Iterable[Row], tick: Callable[[int], None]
) -> int:
    table = _table(model)
    batch: list[Row] = []
    count = 0
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            session.execute(insert(table), batch)
            count += len(batch)
            tick(len(batch))
            batch = []
    if batch:
        session.execute(insert(table), batch)
        count += len(batch)
        tick(len(batch))
    return count


def row_count(history: History) -> int:
    """How many rows `write_history` will write, for the progress bar."""
    return (
        len(history.cases)
        + len(history.requests) * 2
        + sum(len(r.participants) + len(r.cases) for r in history.requests)
        + len(history.offers)
        + len(history.path_steps)
        + len(history.pauses)
        + len(history.updates)
        + len(history.promises)
        + len(history.ratings)
        + len(history.feedback)
        + len(history.events)
        + 2 * sum(1 for n in history.notifications if n.created_at >= END - NOTIFICATION_WINDOW)
    )


def write_history(
    session: Session, history: History, company: Company, tick: Callable[[int], None]
) -> None:
    """Insert every row of the history. Notifications only for the last two weeks.

    The search documents are made once, after the rows are in (`search.documents`), rather than
    remade by the triggers for every participant, offer and update as it lands: on PostgreSQL
    that was most of the demo's build (3,000 requests: about two minutes of the server's CPU)."""
    connection = session.connection()
    suspended = suspend_triggers(connection)
    _write_rows(session, history, company, tick)
    rebuild_documents(connection)
    rebuild_case_index(connection)
    resume_triggers(connection, suspended)


def _write_rows(
    session: Session, history: History, company: Company, tick: Callable[[int], None]
) -> None:
    people = company.people
    services = company.services
    _number(history.cases, lambda c: c.created_at)
    _number(history.requests, lambda r: r.opened_at)
    _number(history.offers, lambda o: o.offered_at)
    _number(history.path_steps, lambda p: p.entered_at)
    _number(history.pauses, lambda p: p.started_at)
    _number(history.updates, lambda u: u.posted_at)
    _number(history.promises, lambda p: p.facts.made_at)
    _number(history.ratings, lambda r: r.rated_at)
    _number(history.feedback, lambda f: f.given_at)
    _number(history.events, lambda e: e.at)
    recent = [n for n in history.notifications if n.created_at >= END - NOTIFICATION_WINDOW]
    _number(recent, lambda n: n.created_at)
    # Records and payloads name each other by seq until now: the final ids, by seq.
    final_id = {
        record.seq: record.id
        for records in (
            history.cases,
            history.requests,
            history.offers,
            history.updates,
            history.promises,
            history.feedback,
        )
        for record in records
    }

    _insert(
        session,
        Case,
        (
            {
                "id": c.id,
                "reference": c.reference,
                "customer": c.customer,
                "external_due_at": c.external_due_at,
                "note": c.note,
                "created_at": c.created_at,
                "created_by_id": c.created_by_id,
            }
            for c in sorted(history.cases, key=lambda c: c.id)
        ),
        tick,
    )
    requests = sorted(history.requests, key=lambda r: r.id)
    _insert(
        session,
        Request,
        (
            {
                "id": r.id,
                "title": r.title,
                "need": r.need,
                "context": r.context,
                "impact_customers": r.impact_customers,
                "desired_by": r.desired_by,
                "priority": r.priority,
                "requester_id": people[r.requester],
                "service_id": None if r.service is None else services[r.service],
                "team_id": r.now.team_id,
                "owner_id": r.now.owner_id,
                "state": r.now.state,
                "waiting_on": r.now.waiting_on,
                "parent_id": None if r.parent is None else r.parent.id,
                "merged_into_id": None
                if r.now.merged_into_id is None
                else final_id[r.now.merged_into_id],
                "confidential": r.confidential,
                "opened_at": r.opened_at,
                "accepted_at": r.now.accepted_at,
                "resolved_at": r.now.resolved_at,
                "closed_at": r.now.closed_at,
                "updated_at": r.now.updated_at,
                "resolution": r.now.resolution,
                "next_update_due_at": r.now.next_update_due_at,
                "update_reminded_at": r.now.update_reminded_at,
                "update_escalate_at": r.now.update_escalate_at,
                "resolve_due_at": r.now.resolve_due_at,
                "clock_paused_at": r.now.clock_paused_at,
                "paused_business_seconds": r.now.paused_business_seconds,
                "auto_close_at": r.now.auto_close_at,
                "bounce_count": r.now.bounce_count,
                "eta_median_at": None,
                "eta_likely_at": None,
                "eta_basis": None,
                "version": r.version,
            }
            for r in requests
        ),
        tick,
    )
    _insert(
        session,
        RequestCase,
        ({"request_id": r.id, "case_id": c.id} for r in requests for c in dict.fromkeys(r.cases)),
        tick,
    )
    _insert(
        session,
        RequestParticipant,
        ({"request_id": r.id, "person_id": people[h]} for r in requests for h in r.participants),
        tick,
    )
    _insert(
        session,
        Offer,
        (
            {
                "id": o.id,
                "request_id": o.request.id,
                "kind": o.kind,
                "from_person_id": o.from_person_id,
                "from_team_id": o.from_team_id,
                "to_team_id": o.to_team_id,
                "to_person_id": o.to_person_id,
                "note": o.note,
                "state": o.state,
                "offered_at": o.offered_at,
                "due_at": o.due_at,
                "escalated_at": o.escalated_at,
                "answered_at": o.answered_at,
                "answered_by_id": o.answered_by_id,
                "decline_reason": o.decline_reason,
            }
            for o in sorted(history.offers, key=lambda o: o.id)
        ),
        tick,
    )
    _insert(
        session,
        PathStep,
        (
            {
                "id": p.id,
                "request_id": p.request.id,
                "team_id": p.team_id,
                "entered_at": p.entered_at,
                "is_bounce": p.is_bounce,
            }
            for p in sorted(history.path_steps, key=lambda p: p.id)
        ),
        tick,
    )
    _insert(
        session,
        Pause,
        (
            {
                "id": p.id,
                "request_id": p.request.id,
                "reason": p.reason,
                "note": p.note,
                "child_request_id": None if p.child_id is None else final_id[p.child_id],
                "started_at": p.started_at,
                "started_by_id": p.started_by_id,
                "ended_at": p.ended_at,
            }
            for p in sorted(history.pauses, key=lambda p: p.id)
        ),
        tick,
    )
    _insert(
        session,
        RequestUpdate,
        (
            {
                "id": u.id,
                "request_id": u.request.id,
                "author_id": u.author_id,
                "body": u.body,
                "posted_at": u.posted_at,
            }
            for u in sorted(history.updates, key=lambda u: u.id)
        ),
        tick,
    )
    _insert(
        session,
        Promise,
        (
            {
                "id": p.id,
                "request_id": p.request.id,
                "made_by_id": p.facts.made_by_id,
                "made_to_id": p.facts.made_to_id,
                "what": p.facts.what,
                "due_at": p.facts.due_at,
                "made_at": p.facts.made_at,
                "state": p.facts.state,
                "done_at": p.facts.done_at,
                "done_note": p.facts.done_note,
                "reminded_at": p.facts.reminded_at,
            }
            for p in sorted(history.promises, key=lambda p: p.id)
        ),
        tick,
    )
    _insert(
        session,
        Rating,
        (
            {
                "id": r.id,
                "request_id": r.request.id,
                "rater_id": r.rater_id,
                **r.scores,
                "comment": r.comment,
                "rated_at": r.rated_at,
            }
            for r in sorted(history.ratings, key=lambda r: r.id)
        ),
        tick,
    )
    _insert(
        session,
        ColleagueFeedback,
        (
            {
                "id": f.id,
                "from_person_id": f.from_person_id,
                "to_person_id": f.to_person_id,
                "kind": f.kind,
                "situation": f.situation,
                "behaviour": f.behaviour,
                "impact": f.impact,
                "request_id": None if f.request is None else f.request.id,
                "given_at": f.given_at,
            }
            for f in sorted(history.feedback, key=lambda f: f.id)
        ),
        tick,
    )
    _insert(
        session,
        Event,
        (
            {
                "id": e.id,
                "kind": e.kind,
                "at": e.at,
                "request_id": None if e.request is None else e.request.id,
                "actor_id": e.actor_id,
                "team_id": e.team_id,
                "other_team_id": e.other_team_id,
                "person_id": e.person_id,
                "payload": e.payload.renumbered(final_id).to_json(),
            }
            for e in sorted(history.events, key=lambda e: e.id)
        ),
        tick,
    )
    recent.sort(key=lambda n: n.id)
    attention = rules.OPEN_STATES | {rules.RESOLVED}
    _insert(
        session,
        Notification,
        (
            {
                "id": n.id,
                "person_id": n.person_id,
                "kind": n.kind,
                "message": n.final_message(final_id),
                "request_id": None if n.request is None else n.request.id,
                "created_at": n.created_at,
                # What still needs attention is unread; the rest was read within the hour.
                "read_at": None
                if n.request is not None and n.request.now.state in attention
                else min(n.created_at.replace(minute=59, second=0), END),
            }
            for n in recent
        ),
        tick,
    )
    _insert(
        session,
        OutboxMessage,
        (
            {
                "id": n.id,
                "notification_id": n.id,
                "channel": "email",
                "state": "pending",
                "attempts": 0,
                "created_at": n.created_at,
                "sent_at": None,
            }
            for n in recent
        ),
        tick,
    )


def restart_sequences(session: Session) -> None:
    """After rows were written with explicit ids, PostgreSQL's id sequences must move past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in Base.metadata.sorted_tables:
        if "id" in table.c and table.c.id.primary_key and len(table.primary_key.columns) == 1:
            highest = select(func.coalesce(func.max(table.c.id), 0) + 1).scalar_subquery()
            sequence = func.pg_get_serial_sequence(table.name, "id")
            session.execute(select(func.setval(sequence, highest, False)))
