"""Job shadowing's tables: slots hosts offer, bookings of them, and reflections afterwards."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class ShadowingSlot(Base):
    """A stretch of a host's working day offered for someone from another department to join."""

    __tablename__ = "shadowing_slot"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ShadowingBooking(Base):
    """A guest's booking of a slot. A slot has at most one booking that is not cancelled (the
    partial unique index makes two people booking at once a conflict, not a double booking).
    `sequence` is the calendar event's revision: 0 as invited, one more on cancelling."""

    __tablename__ = "shadowing_booking"
    __table_args__ = (
        Index(
            "uq_shadowing_booking_live_slot",
            "slot_id",
            unique=True,
            sqlite_where="cancelled_at IS NULL",
            postgresql_where="cancelled_at IS NULL",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("shadowing_slot.id"))
    guest_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    # The guest's team when they booked: the reflection is shared with it.
    guest_team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)
    # When host and guest were asked, after the visit, what surprised them (None: not yet).
    reflection_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ShadowingReflection(Base):
    """What surprised the host or the guest about the other's work, written afterwards."""

    __tablename__ = "shadowing_reflection"

    booking_id: Mapped[int] = mapped_column(ForeignKey("shadowing_booking.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
