"""Leaders' company-wide messages, kept for the archive page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class LeaderMessage(Base):
    """A message a leader sent to everyone, as sent, and to how many people."""

    __tablename__ = "leader_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    recipients: Mapped[int] = mapped_column(Integer)
