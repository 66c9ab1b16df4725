"""The event table: append-only; nothing updates or deletes a row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY, so the big id is INTEGER there.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_request_id_id", "request_id", "id"),
        Index("ix_event_kind_at", "kind", "at"),
        Index("ix_event_team_at", "team_id", "at"),
        # When each request opened (time to resolve), without reading its other events.
        Index(
            "ix_event_opened_request_id",
            "request_id",
            "at",
            sqlite_where=text("kind = 'opened'"),
            postgresql_where=text("kind = 'opened'"),
        ),
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"), default=None)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)
    # The team the event happened in, and (for handoffs) the other team involved.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), default=None)
    other_team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), default=None)
    # The person the event is about (new owner, promise maker, feedback receiver).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
