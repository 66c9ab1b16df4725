"""Writing the history: one event row per change, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from followthrough.chat.outbox import queue_team_posts
from followthrough.history.models import Event
from followthrough.history.payloads import EventKind, Payload
from followthrough.webhooks.outbox import queue_deliveries

# Every kind of event the product writes; Insight and the exports read these names.
EVENT_KINDS: tuple[EventKind, ...] = tuple(EventKind)


# The plain table, not the mapped class: nothing reads an event back in the transaction that
# writes it, so the row goes straight in, without the unit of work's bookkeeping.
_EVENTS = cast(Table, Event.__table__)
_INSERT_EVENT = insert(_EVENTS)


def record_event(
    session: Session,
    payload: Payload,
    at: datetime,
    /,
    *,
    request_id: int | None = None,
    actor_id: int | None = None,
    team_id: int | None = None,
    other_team_id: int | None = None,
    person_id: int | None = None,
) -> None:
    """Write one event row now, in the session's transaction; its kind is the payload's. The
    rows it refers to (request, people, teams) must already be in the database, that is
    flushed. The webhook deliveries and team chat posts the event owes are queued in the same
    transaction (the outbox), so they are sent once the event commits, and never without it."""
    connection = session.connection()
    kind = payload.KIND.value
    written = connection.execute(
        _INSERT_EVENT,
        {
            "kind": kind,
            "at": at,
            "request_id": request_id,
            "actor_id": actor_id,
            "team_id": team_id,
            "other_team_id": other_team_id,
            "person_id": person_id,
            "payload": payload.to_json(),
        },
    )
    event_id: int = written.inserted_primary_key[0]  # type: ignore[index]
    queue_deliveries(connection, event_id, kind, team_id, other_team_id, at)
    if request_id is not None:
        queue_team_posts(connection, event_id, kind, team_id, other_team_id, at)


def request_events(session: Session, request_id: int) -> list[Event]:
    return list(
        session.scalars(select(Event).where(Event.request_id == request_id).order_by(Event.id))
    )
