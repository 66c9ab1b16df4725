"""The promise table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class Promise(Base):
    """'I'll call you back by 15:00': kept when marked done in time, broken at its due time."""

    __tablename__ = "promise"
    __table_args__ = (Index("ix_promise_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    made_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    made_to_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    what: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(12), default="open")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    done_note: Mapped[str | None] = mapped_column(Text, default=None)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
