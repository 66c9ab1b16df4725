"""Where a team or a person wants notifications posted, and the posts waiting to go."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import conv

from followthrough.db import Base, UTCDateTime

PostId = BigInteger().with_variant(Integer(), "sqlite")


class ChatRoute(Base):
    """A Slack incoming webhook or a Teams Workflows webhook of one team or one person."""

    __tablename__ = "chat_route"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Exactly one of the two: a team's channel hears of its requests' changes, a person's hears
    # of their own notifications.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), unique=True, default=None)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id"), unique=True, default=None
    )
    platform: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(String(2000))
    enabled: Mapped[bool] = mapped_column(default=True)
    # Why the desk switched it off (posts kept failing), shown until it is switched on again.
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatPost(Base):
    """One post to make: a team's for an event, a person's for a notification. At most one per
    route and change (the unique keys)."""

    __tablename__ = "chat_post"
    __table_args__ = (
        # Two unique keys starting with the same column: named here, or the naming convention
        # would give both the same name.
        UniqueConstraint("route_id", "event_id", name=conv("uq_chat_post_route_id_event_id")),
        UniqueConstraint(
            "route_id", "notification_id", name=conv("uq_chat_post_route_id_notification_id")
        ),
        Index("ix_chat_post_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(PostId, primary_key=True, autoincrement=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("chat_route.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"), default=None)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id"), default=None)
    # pending, posted, failed (retries used up) or skipped (the person's preferences: off).
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
