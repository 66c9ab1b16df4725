"""Notification (inbox) and outbox tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followthrough.db import Base, UTCDateTime

NotificationId = BigInteger().with_variant(Integer(), "sqlite")


class Notification(Base):
    """Something that needs a person's attention, shown in their inbox."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_person_read", "person_id", "read_at"),
        # The history: a person's notifications newest first, a page at a time.
        Index("ix_notification_person_created", "person_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(NotificationId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # An iCalendar object (an invitation or its cancellation) the mail carries as its
    # text/calendar part; None for nearly every notification.
    calendar: Mapped[str | None] = mapped_column(Text, default=None)


class OutboxMessage(Base):
    """A notification waiting to be delivered on a channel; written in the same transaction.

    Mail (followthrough.mail.outbound) moves it: pending -> sending (claimed by one sender until
    `claimed_until`; its Message-ID fixed) -> sent; or held (`not_before`: quiet hours), put in
    the person's daily summary (digest, then sent within the summary whose first row is
    `digest_of`), skipped (turned off), or failed after its last try.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(NotificationId, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    message_id: Mapped[str | None] = mapped_column(String(255), default=None)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    digest_of: Mapped[int | None] = mapped_column(NotificationId, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    notification: Mapped[Notification] = relationship(lazy="raise")
