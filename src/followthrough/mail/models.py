"""Each person's notification choices: per kind, and their quiet hours and digest time."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base


class NotificationChoice(Base):
    """How one person wants one kind of notification (mail.preferences.Delivery); a kind with
    no row is sent at once."""

    __tablename__ = "notification_choice"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    delivery: Mapped[str] = mapped_column(String(16))


class NotificationSchedule(Base):
    """A person's quiet hours and daily summary time, as minutes after midnight on their clock."""

    __tablename__ = "notification_schedule"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    quiet_start_minute: Mapped[int | None] = mapped_column(Integer, default=None)
    quiet_end_minute: Mapped[int | None] = mapped_column(Integer, default=None)
    digest_minute: Mapped[int] = mapped_column(Integer, default=8 * 60)
