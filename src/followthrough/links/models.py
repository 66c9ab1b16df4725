"""Used action links: a link's row is written in the same transaction as its action."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class UsedActionLink(Base):
    """A link that has been used; its nonce is the key, so a second use cannot insert again."""

    __tablename__ = "used_action_link"

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    action: Mapped[str] = mapped_column(String(24))
    target_id: Mapped[int]
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Kept until then, so a row can be forgotten once its link could no longer work anyway.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
