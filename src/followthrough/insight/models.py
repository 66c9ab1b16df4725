"""Insight's one table: recognitions suggested from the history, confirmed or dismissed by a lead."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime

RECOGNITION_STATES = ("suggested", "confirmed", "dismissed")


class Recognition(Base):
    """A suggestion that someone deserves recognition, for one reason and period; a lead of one
    of their teams confirms it (it then appears in the company digest) or dismisses it."""

    __tablename__ = "recognition"
    __table_args__ = (
        UniqueConstraint("person_id", "reason", "period_start"),
        Index("ix_recognition_state_decided_at", "state", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="suggested")
    suggested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
