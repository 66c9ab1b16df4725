"""The learning-record outbox: one row per xAPI statement to send, written with its turn.

A row names the attempt (and turn) and the verb; the statement itself is built from those rows
when it is sent or exported (practice.roleplay.xapi), so it always says what the rows say and a
resend carries the same id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class XapiStatement(Base):
    __tablename__ = "xapi_statement"
    __table_args__ = (Index("ix_xapi_statement_state_next_try_at", "state", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # What it records (xapi.record_key); the statement's id is made from it and the desk.
    record_key: Mapped[str] = mapped_column(String(80), unique=True)
    verb: Mapped[str] = mapped_column(String(12))
    attempt_id: Mapped[int] = mapped_column(ForeignKey("roleplay_attempt.id"), index=True)
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("roleplay_turn.id"), default=None)
    # An observer's score of that turn in a live session (the statement is theirs about it).
    mark_id: Mapped[int | None] = mapped_column(ForeignKey("roleplay_live_mark.id"), default=None)
    # pending (to send at next_try_at), sent, or failed (every try used up).
    state: Mapped[str] = mapped_column(String(8), default="pending")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A sender's claim: nobody else sends it before then (a sender that died loses it).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
