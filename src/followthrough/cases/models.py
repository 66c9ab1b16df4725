"""External customer cases and their links to internal requests (many to many)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from followthrough.db import Base, UTCDateTime


class Case(Base):
    __tablename__ = "customer_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    customer: Mapped[str] = mapped_column(String(200))
    external_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), default=None)


class RequestCase(Base):
    __tablename__ = "request_case"

    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("customer_case.id"), primary_key=True, index=True
    )
