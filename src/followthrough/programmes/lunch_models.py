"""Lunch and learn's tables: sessions anyone proposes, and who signed up, came and said what."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class LunchSession(Base):
    """A session a team gives over lunch: its work explained, or the story of a fix across
    teams. `notes_link` points at the notes or the recording, once there are any."""

    __tablename__ = "lunch_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    minutes: Mapped[int] = mapped_column(Integer)
    place: Mapped[str] = mapped_column(Text)
    capacity: Mapped[int] = mapped_column(Integer)
    proposed_by: Mapped[int] = mapped_column(ForeignKey("person.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notes_link: Mapped[str | None] = mapped_column(Text, default=None)


class LunchSignup(Base):
    """A person's place at a session; whether they came (None: not recorded yet) and their
    short feedback afterwards."""

    __tablename__ = "lunch_signup"

    session_id: Mapped[int] = mapped_column(ForeignKey("lunch_session.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True, index=True)
    signed_up_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attended: Mapped[bool | None] = mapped_column(Boolean, default=None)
    rating: Mapped[int | None] = mapped_column(Integer, default=None)
    feedback: Mapped[str | None] = mapped_column(Text, default=None)
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
