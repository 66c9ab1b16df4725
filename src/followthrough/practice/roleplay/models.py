"""Role-play tables: an attempt at a scenario, and its turns.

An attempt keeps the scenario text it was started with and its version, and the rubric and model
that scored it, so an old attempt reads the same after the shipped files change. Turns carry who
spoke (`speaker`) and an optional live session (`live_session_id`): a later facilitated session
with observers hangs its rounds on these same rows, an observer's scores being turns of their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followthrough.db import Base, UTCDateTime, utcnow


class RolePlayAttempt(Base):
    """One person playing one scenario, from its start to one of its endings."""

    __tablename__ = "roleplay_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    scenario_name: Mapped[str] = mapped_column(String(60))
    scenario_version: Mapped[int] = mapped_column(Integer)
    scenario_text: Mapped[str] = mapped_column(Text)
    rubric_version: Mapped[str] = mapped_column(String(32))
    model_name: Mapped[str] = mapped_column(String(60))
    # Where the conversation stands: the step the character has just spoken, and the state.
    node: Mapped[str] = mapped_column(String(60))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    turns_taken: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(8), default=None)
    # A later live session (with a facilitator and observers) that this attempt belongs to.
    live_session_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    turns: Mapped[list[RolePlayTurn]] = relationship(
        lazy="raise", order_by="RolePlayTurn.number", back_populates="attempt"
    )


class RolePlayTurn(Base):
    """One turn: a choice taken or a reply written, its scores, and where it led."""

    __tablename__ = "roleplay_turn"
    __table_args__ = (UniqueConstraint("attempt_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("roleplay_attempt.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # "participant" when playing alone; a live session adds "observer" and "character".
    speaker: Mapped[str] = mapped_column(String(16), default="participant")
    node: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(8))  # "choice" or "reply"
    choice_index: Mapped[int | None] = mapped_column(Integer, default=None)
    text: Mapped[str] = mapped_column(Text)
    # TurnScore.as_dict() for a reply: every behaviour, its points and the quoted words.
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    points: Mapped[int | None] = mapped_column(Integer, default=None)
    node_after: Mapped[str] = mapped_column(String(60))
    state_after: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attempt: Mapped[RolePlayAttempt] = relationship(lazy="raise", back_populates="turns")
