"""The inbox: notifications written in the same transaction as the change that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Insert, Table, bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session

from followthrough.notify.models import Notification, OutboxMessage

# Kinds shown in the inbox; each is also queued for mail delivery (sent by a later worker).
NOTIFICATION_KINDS = (
    "offer",
    "offer_declined",
    "offer_accepted",
    "escalation",
    "promise_due",
    "promise_broken",
    "update_due",
    "update_posted",
    "clarification",
    "resolved",
    "reopened",
    "feedback",
)


_NOTIFICATIONS = cast(Table, Notification.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)
_NOTIFICATION_COLUMNS = ("person_id", "kind", "message", "request_id", "created_at")
_INSERT_NOTIFICATION = insert(_NOTIFICATIONS).returning(_NOTIFICATIONS.c.id)
_INSERT_OUTBOX = insert(_OUTBOX).values(channel="email", state="pending", attempts=0)


def _notification_with_outbox() -> Insert:
    """PostgreSQL: the notification and its outbox row in one statement."""
    created = (
        insert(_NOTIFICATIONS)
        .values({name: bindparam(name) for name in _NOTIFICATION_COLUMNS})
        .returning(_NOTIFICATIONS.c.id)
        .cte("created")
    )
    return insert(_OUTBOX).from_select(
        ["notification_id", "channel", "state", "attempts", "created_at"],
        select(
            created.c.id,
            literal("email"),
            literal("pending"),
            literal(0),
            bindparam("queued_at", type_=_OUTBOX.c.created_at.type),
        ),
    )


_INSERT_BOTH = _notification_with_outbox()


def notify(
    session: Session,
    person_id: int,
    kind: str,
    message: str,
    at: datetime,
    *,
    request_id: int | None = None,
) -> None:
    """Put a notification in the person's inbox and queue it for mail, now, in the session's
    transaction (the request it names must already be flushed)."""
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    row = {
        "person_id": person_id,
        "kind": kind,
        "message": message,
        "request_id": request_id,
        "created_at": at,
    }
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_INSERT_BOTH, {**row, "queued_at": at})
        return
    notification_id = connection.execute(_INSERT_NOTIFICATION, row).scalar_one()
    connection.execute(_INSERT_OUTBOX, {"notification_id": notification_id, "created_at": at})


def inbox(
    session: Session, person_id: int, *, unread_only: bool = False, limit: int = 50
) -> list[Notification]:
    query = select(Notification).where(Notification.person_id == person_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def unread_count(session: Session, person_id: int) -> int:
    query = select(func.count()).where(
        Notification.person_id == person_id, Notification.read_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def mark_read(session: Session, person_id: int, ids: list[int] | None, at: datetime) -> int:
    """Mark the person's notifications read (all unread ones when `ids` is None)."""
    statement = update(Notification).where(
        Notification.person_id == person_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    result = session.execute(statement.values(read_at=at))
    return int(result.rowcount)  # type: ignore[attr-defined]
