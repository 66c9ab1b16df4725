"""The inbox: notifications written in the same transaction as the change that caused them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
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


def notify(
    session: Session,
    person_id: int,
    kind: str,
    message: str,
    at: datetime,
    *,
    request_id: int | None = None,
) -> Notification:
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    notification = Notification(
        person_id=person_id, kind=kind, message=message, request_id=request_id, created_at=at
    )
    session.add(notification)
    # Linked by relationship, so both rows go in with the unit of work's next flush.
    session.add(OutboxMessage(notification=notification, channel="email", created_at=at))
    return notification


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
