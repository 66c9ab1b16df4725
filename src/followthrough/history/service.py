"""Writing the history: one event row per change, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Insert, Table, bindparam, insert, select
from sqlalchemy.orm import Session

from followthrough.chat.outbox import is_team_change, team_posts_for
from followthrough.history.models import Event
from followthrough.history.payloads import EventKind, Payload
from followthrough.webhooks.outbox import deliveries_for

# Every kind of event the product writes; Insight and the exports read these names.
EVENT_KINDS: tuple[EventKind, ...] = tuple(EventKind)


# The plain table, not the mapped class: nothing reads an event back in the transaction that
# writes it, so the row goes straight in, without the unit of work's bookkeeping.
_EVENTS = cast(Table, Event.__table__)
_INSERT_EVENT = insert(_EVENTS)
_COLUMNS = ("kind", "at", "request_id", "actor_id", "team_id", "other_team_id", "person_id")


def _written_and_queued() -> Insert:
    """PostgreSQL: the event, its webhook deliveries and its team chat posts in one statement
    (the event's INSERT … RETURNING feeds both outbox inserts)."""
    written = (
        insert(_EVENTS)
        .values({name: bindparam(name) for name in (*_COLUMNS, "payload")})
        .returning(
            _EVENTS.c.id,
            _EVENTS.c.kind,
            _EVENTS.c.request_id,
            _EVENTS.c.team_id,
            _EVENTS.c.other_team_id,
            _EVENTS.c.at,
        )
        .cte("written")
    )
    return team_posts_for(written).add_cte(deliveries_for(written).cte("queued_deliveries"))


# SQLite has no INSERT in a WITH: the event goes in first, then this one-row source of it feeds
# the same outbox inserts.
_ONE_EVENT = select(
    bindparam("event_id").label("id"),
    bindparam("kind").label("kind"),
    bindparam("request_id").label("request_id"),
    bindparam("team_id").label("team_id"),
    bindparam("other_team_id").label("other_team_id"),
    bindparam("at", type_=_EVENTS.c.at.type).label("at"),
).subquery("written")
_WRITE = {"postgresql": _written_and_queued()}
_QUEUE_DELIVERIES = deliveries_for(_ONE_EVENT)
_QUEUE_TEAM_POSTS = team_posts_for(_ONE_EVENT)


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
    row: dict[str, object] = {
        "kind": kind,
        "at": at,
        "request_id": request_id,
        "actor_id": actor_id,
        "team_id": team_id,
        "other_team_id": other_team_id,
        "person_id": person_id,
        "payload": payload.to_json(),
    }
    together = _WRITE.get(connection.dialect.name)
    if together is not None:
        connection.execute(together, row)
        return
    written = connection.execute(_INSERT_EVENT, row)
    row["event_id"] = written.inserted_primary_key[0]  # type: ignore[index]
    connection.execute(_QUEUE_DELIVERIES, row)
    if is_team_change(kind, request_id, team_id):
        connection.execute(_QUEUE_TEAM_POSTS, row)


def request_events(session: Session, request_id: int) -> list[Event]:
    return list(
        session.scalars(select(Event).where(Event.request_id == request_id).order_by(Event.id))
    )
