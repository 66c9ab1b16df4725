"""The buddy programme's tables: who takes part, each round, and who was grouped with whom."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class BuddyEnrolment(Base):
    """A person's choice to take part (opt in) or not (opt out), and whether a trio suits them.

    Nobody is paired without a row saying they opted in."""

    __tablename__ = "buddy_enrolment"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    opted_in: Mapped[bool] = mapped_column(Boolean)
    prefers_trio: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BuddyRound(Base):
    """One pairing round: when, with what seed, and its counts (for the leads' page)."""

    __tablename__ = "buddy_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    paired_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    seed: Mapped[int] = mapped_column(Integer)
    people: Mapped[int] = mapped_column(Integer)
    groups: Mapped[int] = mapped_column(Integer)
    left_out: Mapped[int] = mapped_column(Integer)
    # When "did you meet?" was asked of everyone grouped in this round (None: not yet).
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class BuddyAssignment(Base):
    """A person's place in a round: their group's number, or none when they were left out
    (told so, and paired first next round); and their answer to "did you meet?"."""

    __tablename__ = "buddy_assignment"

    round_id: Mapped[int] = mapped_column(ForeignKey("buddy_round.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True, index=True)
    group_number: Mapped[int | None] = mapped_column(Integer, default=None)
    met: Mapped[bool | None] = mapped_column(Boolean, default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
