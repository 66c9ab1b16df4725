"""The inbox: notifications written in the same transaction as the change that caused them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import cast

from sqlalchemy import Insert, Table, bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session

from followthrough.chat.outbox import queue_person_post
from followthrough.errors import NotFound
from followthrough.notify.models import Notification, OutboxMessage
from followthrough.org.models import Person

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
    "withdrawn",
    "merged",
    "returned",
    "reassigned",
    "attachment",
    "note",
    # Mail to a person on the request failed for good (a bounce): mail to them has stopped.
    "mail_bounced",
    # An admin is told a webhook or chat channel stopped working and was switched off.
    "integration_disabled",
    # The buddy programme: an introduction to this round's buddy, being left out of a round
    # (paired first next time), and "did you meet?".
    "buddy",
    # Job shadowing: a booking (with its calendar invitation) or its cancellation.
    "shadowing",
    # Lunch and learn: a sign-up confirmed, with its calendar invitation.
    "lunch",
    # A leader's company-wide message (recognitions, the silo map, the programmes).
    "leader_message",
)


_NOTIFICATIONS = cast(Table, Notification.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)
_NOTIFICATION_COLUMNS = ("person_id", "kind", "message", "request_id", "created_at", "calendar")
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
    return (
        insert(_OUTBOX)
        .from_select(
            ["notification_id", "channel", "state", "attempts", "created_at"],
            select(
                created.c.id,
                literal("email"),
                literal("pending"),
                literal(0),
                bindparam("queued_at", type_=_OUTBOX.c.created_at.type),
            ),
        )
        .returning(_OUTBOX.c.notification_id)
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
    calendar: str | None = None,
) -> int:
    """Put a notification in the person's inbox and queue it for mail, now, in the session's
    transaction (the request it names must already be flushed); its id. `calendar` (iCalendar
    text) goes with the mail as its calendar part."""
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    row = {
        "person_id": person_id,
        "kind": kind,
        "message": message,
        "request_id": request_id,
        "created_at": at,
        "calendar": calendar,
    }
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        notification_id = connection.execute(_INSERT_BOTH, {**row, "queued_at": at}).scalar_one()
    else:
        notification_id = connection.execute(_INSERT_NOTIFICATION, row).scalar_one()
        connection.execute(_INSERT_OUTBOX, {"notification_id": notification_id, "created_at": at})
    # The person's own chat channel, if they routed their notifications to one.
    queue_person_post(connection, notification_id, person_id, at)
    return int(notification_id)


def tell_admins(session: Session, kind: str, message: str, at: datetime) -> list[int]:
    """Notify every active admin (as `notify`), in the session's transaction; who was told."""
    admins = list(
        session.scalars(select(Person.id).where(Person.is_admin.is_(True), Person.active.is_(True)))
    )
    for admin_id in admins:
        notify(session, admin_id, kind, message, at)
    return admins


_NEWEST_FIRST = (Notification.created_at.desc(), Notification.id.desc())


def inbox(
    session: Session, person_id: int, *, unread_only: bool = False, limit: int = 50
) -> list[Notification]:
    """The person's newest notifications first (by time; the id breaks ties)."""
    query = select(Notification).where(Notification.person_id == person_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(*_NEWEST_FIRST).limit(limit)))


class Shown(StrEnum):
    """Which of a person's notifications the history shows."""

    ALL = "all"
    UNREAD = "unread"
    READ = "read"


@dataclass(frozen=True)
class HistoryPage:
    """One page of a person's notifications, newest first, with the true counts."""

    items: list[Notification]
    everything: int  # all the person's notifications
    unread: int  # of those, unread
    shown: Shown
    offset: int
    limit: int

    @property
    def read(self) -> int:
        return self.everything - self.unread

    @property
    def total(self) -> int:
        """How many the filter shows, over every page."""
        return {Shown.ALL: self.everything, Shown.UNREAD: self.unread, Shown.READ: self.read}[
            self.shown
        ]

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None


def history(
    session: Session, person_id: int, shown: Shown, *, offset: int = 0, limit: int = 25
) -> HistoryPage:
    """Every notification the person has had, read or not (or only one of the two), newest
    first, a page at a time, with the true counts of each."""
    mine = Notification.person_id == person_id
    everything, unread = session.execute(
        select(func.count(), func.count().filter(Notification.read_at.is_(None))).where(mine)
    ).one()
    query = select(Notification).where(mine)
    if shown is Shown.UNREAD:
        query = query.where(Notification.read_at.is_(None))
    elif shown is Shown.READ:
        query = query.where(Notification.read_at.is_not(None))
    items = session.scalars(query.order_by(*_NEWEST_FIRST).offset(offset).limit(limit))
    return HistoryPage(
        items=list(items),
        everything=int(everything),
        unread=int(unread),
        shown=shown,
        offset=offset,
        limit=limit,
    )


def unread_count(session: Session, person_id: int) -> int:
    query = select(func.count()).where(
        Notification.person_id == person_id, Notification.read_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def check_theirs(session: Session, person_id: int, notification_id: int) -> None:
    """Refuse a notification that is not the person's, as one that does not exist: another's
    is no more theirs to mark than a missing one, and is not told apart from it."""
    theirs = session.scalar(
        select(Notification.id).where(
            Notification.id == notification_id, Notification.person_id == person_id
        )
    )
    if theirs is None:
        raise NotFound(f"notification {notification_id} does not exist", field="notification_id")


def mark_read(session: Session, person_id: int, ids: list[int] | None, at: datetime) -> int:
    """Mark the person's notifications read (all unread ones when `ids` is None)."""
    statement = update(Notification).where(
        Notification.person_id == person_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    result = session.execute(statement.values(read_at=at))
    return int(result.rowcount)  # type: ignore[attr-defined]


def mark_unread(session: Session, person_id: int, ids: list[int]) -> int:
    """Mark some of the person's read notifications unread again (to come back to them)."""
    statement = (
        update(Notification)
        .where(
            Notification.person_id == person_id,
            Notification.read_at.is_not(None),
            Notification.id.in_(ids),
        )
        .values(read_at=None)
    )
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]
