"""Feedback tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class Rating(Base):
    """The requester's rating of a resolved request on Understand, Own, Serve, Communicate."""

    __tablename__ = "rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), unique=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    understand: Mapped[int] = mapped_column(Integer)
    own: Mapped[int] = mapped_column(Integer)
    serve: Mapped[int] = mapped_column(Integer)
    communicate: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ColleagueFeedback(Base):
    """Praise or constructive feedback in Situation-Behaviour-Impact form."""

    __tablename__ = "colleague_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    to_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    situation: Mapped[str] = mapped_column(Text)
    behaviour: Mapped[str] = mapped_column(Text)
    impact: Mapped[str] = mapped_column(Text)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"), default=None)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)
