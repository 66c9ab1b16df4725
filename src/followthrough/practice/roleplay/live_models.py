"""Live role-play tables: a facilitated session, who joined it in which role, and what was marked.

A group's conversation is an ordinary `RolePlayAttempt` (its `live_session_id` set, its person the
group's participant), so the turns, their automatic scores and the learning records are the same
rows as when playing alone. `version` goes up with every change a screen shows: the live pages
poll that one number, which works with any number of server processes on both databases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime, utcnow


class LiveSession(Base):
    """A facilitated role-play session that people join with a short code."""

    __tablename__ = "roleplay_live_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    scenario_name: Mapped[str] = mapped_column(String(60))
    facilitator_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class LiveMember(Base):
    """One person in one group of a session, in one role."""

    __tablename__ = "roleplay_live_member"
    __table_args__ = (
        UniqueConstraint("live_session_id", "person_id"),
        # One participant and one character per group, even when two people join at once.
        Index(
            "uq_roleplay_live_member_group_role",
            "live_session_id",
            "group_number",
            "role",
            unique=True,
            sqlite_where=text("role != 'observer'"),
            postgresql_where=text("role != 'observer'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    live_session_id: Mapped[int] = mapped_column(ForeignKey("roleplay_live_session.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    group_number: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(12))  # live_rules.Role
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LiveMark(Base):
    """What someone marked during a round, kept as written (append-only, timestamped).

    A score (`heard`: the rubric behaviours the observer, or the participant of themselves,
    heard in a turn), a note, or a line the character's player said in their own words.
    The newest score per person and turn counts.
    """

    __tablename__ = "roleplay_live_mark"

    id: Mapped[int] = mapped_column(primary_key=True)
    live_session_id: Mapped[int] = mapped_column(ForeignKey("roleplay_live_session.id"), index=True)
    group_number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    role: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(8))  # live_rules.MarkKind
    # The participant's turn it is about (for a character's line: the turn it came before).
    turn_number: Mapped[int] = mapped_column(Integer)
    heard: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    text: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
